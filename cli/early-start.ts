// `labs check` starts the learner's server before it loads the lab's checks and most of the engine, so
// its own start-up overlaps the server's (runtime/early.ts). The server's env must be known without the
// lab: each compiled build remembers, per lab, whether its env is static (no services, every knob a
// plain string) and what it is. A lab with random or hosted knobs, services, --watch, --runtime docker,
// the TypeScript sources (LABS_NO_COMPILE) or LABS_NO_EARLY_START=1 starts the server the usual way.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadManifest } from '../grader/manifest.ts';
import type { EarlyServer } from '../grader/runtime/early.ts';
import type { Lab } from '../grader/types.ts';

interface LabStartInfo {
  /** The server can be started from this alone. */
  early: boolean;
  env: Record<string, string>;
}

function infoPath(labId: string): string | undefined {
  const compiled = (globalThis as { __BACKEND_LABS_COMPILED__?: string }).__BACKEND_LABS_COMPILED__;
  return compiled ? join(compiled, 'lab-start', `${labId}.json`) : undefined;
}

/** Remembers how `lab`'s server starts, for the next run of this build (once; failures are ignored). */
export function rememberLabStart(lab: Lab): void {
  const path = infoPath(lab.id);
  if (!path || existsSync(path)) return;
  const env: Record<string, string> = {};
  let early = lab.services.length === 0;
  for (const [name, knob] of Object.entries(lab.env)) {
    if (typeof knob.value === 'string') env[name] = knob.value;
    else early = false;
  }
  try {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, JSON.stringify({ early, env } satisfies LabStartInfo));
  } catch {
    // a read-only install: no early start
  }
}

export interface EarlyStartOptions {
  dir?: string;
  watch?: boolean;
  runtime?: string;
  env?: Record<string, string>;
}

/** Starts the server of the lab folder at `cwd` if its lab's start is known; undefined otherwise. */
export async function startServerEarly(opts: EarlyStartOptions, cwd: string): Promise<EarlyServer | undefined> {
  if (opts.watch || (opts.runtime && opts.runtime !== 'local') || (process.env.LABS_NO_EARLY_START && process.env.LABS_NO_EARLY_START !== '0')) return undefined;
  try {
    const { dir, manifest } = loadManifest(resolve(cwd, opts.dir ?? '.'));
    const path = infoPath(manifest.lab);
    if (!path || !existsSync(path)) return undefined;
    const info = JSON.parse(readFileSync(path, 'utf8')) as LabStartInfo;
    if (!info.early || typeof manifest.start !== 'string') return undefined; // several processes: the run starts them
    const { startEarly } = await import('../grader/runtime/early.ts');
    const early = await startEarly({ command: manifest.start, dir, labEnv: { ...info.env, ...opts.env } });
    if (process.env.LABS_PROFILE) process.stderr.write(`[profile] ${Math.round(performance.now())} ms server spawned early (pid ${early.server.pid})\n`);
    return early;
  } catch {
    return undefined; // no lab folder, a bad labs.json...: the normal path says what is wrong
  }
}
