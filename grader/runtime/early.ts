// Early start: the CLI spawns the learner's server before it has loaded the lab's checks (and most of
// the engine), so the CLI's own start-up overlaps the server's. runLab then adopts that server when it
// was started exactly as the engine would have started it (same command, folder and env), and replays
// the lines it printed meanwhile; otherwise it stops it and starts its own.
import { LocalServer } from './local.ts';
import { freePort } from './ports.ts';

type OnLine = (stream: 'stdout' | 'stderr', line: string) => void;

export interface EarlyServer {
  readonly server: LocalServer;
  readonly port: number;
  readonly command: string;
  readonly dir: string;
  /** The server's env without PORT (the engine's cleanEnv() plus the lab's env). */
  readonly env: Record<string, string>;
  /** Routes the server's lines to `onLine`, first the ones printed so far. */
  attach(onLine: OnLine): void;
}

/** The environment the learner's server inherits from ours: without npm's, vitest's and NODE_OPTIONS. */
export function cleanEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('npm_') || k.startsWith('VITEST') || k === 'NODE_OPTIONS' || k === 'PORT') continue;
    out[k] = v;
  }
  return out;
}

export async function startEarly(options: { command: string; dir: string; labEnv: Record<string, string> }): Promise<EarlyServer> {
  const port = await freePort();
  const env = { ...cleanEnv(), ...options.labEnv };
  const buffered: [stream: 'stdout' | 'stderr', line: string][] = [];
  let target: OnLine | undefined;
  const server = new LocalServer({
    command: options.command,
    cwd: options.dir,
    port,
    env,
    onLine: (stream, line) => (target ? target(stream, line) : buffered.push([stream, line])),
  });
  server.start();
  return {
    server,
    port,
    command: options.command,
    dir: options.dir,
    env,
    attach(onLine) {
      for (const [stream, line] of buffered.splice(0)) onLine(stream, line);
      target = onLine;
    },
  };
}

/** Same keys, same values. */
export function sameEnv(a: Record<string, string | undefined>, b: Record<string, string | undefined>): boolean {
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  const kb = Object.keys(b).filter((k) => b[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => a[k] === b[k]);
}
