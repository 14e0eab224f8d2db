// Local runtime: the learner's start command as a process group of its own (execa), with output captured
// line by line and a stop that always ends in SIGKILL.
import { connect } from 'node:net';
import { execa, type ResultPromise } from 'execa';
import type { ExitInfo } from '../types.ts';
import { groupAlive, signalGroup, trackGroup, untrackGroup, waitGroupGone } from './process-group.ts';

export const KILL_AFTER_MS = 2000;

export interface LocalServerOptions {
  command: string;
  cwd: string;
  port: number;
  env: Record<string, string | undefined>;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
}

export type ReadyOutcome = { kind: 'ready'; ms: number } | { kind: 'exited'; exit: ExitInfo; ms: number } | { kind: 'timeout'; ms: number } | { kind: 'aborted' };

export class LocalServer {
  private child?: ResultPromise;
  private pgid?: number;
  private exitInfo?: ExitInfo;
  private exitPromise?: Promise<ExitInfo>;
  startedAt = 0;

  constructor(private readonly options: LocalServerOptions) {}

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  get pid(): number | undefined {
    return this.pgid;
  }

  start(): void {
    const { command, cwd, env, port } = this.options;
    this.exitInfo = undefined;
    this.startedAt = performance.now();
    const child = execa(command, {
      shell: true,
      detached: true,
      cwd,
      env: { ...env, PORT: String(port) } as Record<string, string>,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      buffer: false,
      cleanup: false,
      stripFinalNewline: false,
    });
    this.child = child;
    this.pgid = child.pid;
    if (this.pgid !== undefined) trackGroup(this.pgid);
    for (const stream of ['stdout', 'stderr'] as const) {
      let pending = '';
      child[stream]?.setEncoding('utf8');
      child[stream]?.on('data', (chunk: string) => {
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          this.options.onLine(stream, pending.slice(0, nl).replace(/\r$/, ''));
          pending = pending.slice(nl + 1);
        }
        if (pending.length > 64 * 1024) {
          this.options.onLine(stream, pending);
          pending = '';
        }
      });
      child[stream]?.on('end', () => {
        if (pending) this.options.onLine(stream, pending);
        pending = '';
      });
    }
    this.exitPromise = child.then(
      (r) => {
        this.exitInfo = { code: r.exitCode ?? null, signal: r.signal ?? null };
        return this.exitInfo;
      },
      (err) => {
        this.exitInfo = { code: (err as { exitCode?: number }).exitCode ?? null, signal: (err as { signal?: string }).signal ?? null };
        return this.exitInfo;
      },
    );
  }

  /** Resolves when the direct child exits. */
  exited(): Promise<ExitInfo> {
    return this.exitPromise ?? Promise.resolve({ code: null, signal: null });
  }

  /** Polls a TCP connect to 127.0.0.1:port until it is accepted, the process exits, or time runs out. */
  async waitReady(timeoutMs: number, signal?: AbortSignal): Promise<ReadyOutcome> {
    const deadline = performance.now() + timeoutMs;
    let exited = false;
    void this.exited().then(() => (exited = true));
    while (true) {
      const ms = Math.round(performance.now() - this.startedAt);
      if (signal?.aborted) return { kind: 'aborted' };
      if (exited || this.exitInfo) return { kind: 'exited', exit: await this.exited(), ms };
      if (await canConnect(this.options.port)) return { kind: 'ready', ms: Math.round(performance.now() - this.startedAt) };
      if (performance.now() > deadline) return { kind: 'timeout', ms };
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** SIGTERM to the group, SIGKILL after 2 s if anything is left; resolves when nothing is left. */
  async stop(killAfterMs = KILL_AFTER_MS): Promise<ExitInfo> {
    if (this.pgid === undefined) return { code: null, signal: null };
    const pgid = this.pgid;
    if (groupAlive(pgid)) {
      signalGroup(pgid, 'SIGTERM');
      if (!(await waitGroupGone(pgid, killAfterMs))) {
        signalGroup(pgid, 'SIGKILL');
        await waitGroupGone(pgid, 5000);
      }
    }
    const exit = await this.exited();
    untrackGroup(pgid);
    return exit;
  }

  /** Sends `signal` to the whole group (e.g. SIGKILL for a crash) and waits for the leader to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    if (this.pgid === undefined) return { code: null, signal: null };
    signalGroup(this.pgid, signal);
    const exit = await this.exited();
    if (signal === 'SIGKILL') await waitGroupGone(this.pgid, 5000);
    return exit;
  }
}

export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
