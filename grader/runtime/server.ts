// What the runner needs from a running learner server, whatever runs it: a local process group
// (runtime/local.ts) or a container (runtime/docker.ts).
import type { ExitInfo } from '../types.ts';
import type { ReadyOutcome } from './local.ts';

export const RUNTIMES = ['local', 'docker'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

export interface ServerInstance {
  readonly running: boolean;
  /** Starts the server; problems surface through waitReady()/exited(), never as a throw. */
  start(): void;
  /** Resolves when the server has exited (on its own, killed or stopped). */
  exited(): Promise<ExitInfo>;
  /** Until the server answers on its port, exits, or time runs out. */
  waitReady(timeoutMs: number, signal?: AbortSignal): Promise<ReadyOutcome>;
  /** SIGTERM, SIGKILL after 2 s; resolves when nothing is left. */
  stop(): Promise<ExitInfo>;
  /** Sends `signal` and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
}

export interface ServerSpec {
  command: string;
  cwd: string;
  port: number;
  env: Record<string, string | undefined>;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
}

const SIGNALS: Record<number, NodeJS.Signals> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

/** A container's exit status: 128+n (from the init process) means "killed by signal n". */
export function exitFromStatus(status: number | null | undefined): ExitInfo {
  if (typeof status !== 'number') return { code: null, signal: null };
  const signal = status > 128 ? SIGNALS[status - 128] : undefined;
  return signal ? { code: null, signal } : { code: status, signal: null };
}

/** Splits a byte stream into lines and hands each one on (a final unterminated line included). */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; end(): void } {
  let pending = '';
  return {
    push(chunk) {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, nl).replace(/\r$/, ''));
        pending = pending.slice(nl + 1);
      }
      if (pending.length > 64 * 1024) {
        onLine(pending);
        pending = '';
      }
    },
    end() {
      if (pending) onLine(pending);
      pending = '';
    },
  };
}
