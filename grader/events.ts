// What the engine tells its subscribers. The engine never prints; reporters turn these into output.
import type { FailureDetails } from './errors.ts';
import type { ExitInfo } from './types.ts';

export type CheckStatus = 'pass' | 'fail' | 'skip' | 'error';
export type RunStatus = 'pass' | 'fail' | 'error';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  durationMs: number;
  /** Why it failed or was skipped. */
  failure?: FailureDetails;
  hint?: string;
  /** The last lines the server printed, when they help explain the failure. */
  serverOutput?: string[];
  /** How to start the server by hand as the grader did, for the curl reproduction. */
  reproduceStart?: string;
  /** The check's own notes while it ran (e.g. how a concurrent burst was released and how long it took). */
  notes?: string[];
}

export interface RunResult {
  lab: { id: string; title: string };
  seed: number;
  status: RunStatus;
  /** 0 pass, 1 a check failed, 2 the learner's server could not run, 3 environment, 4 grader bug, 130 interrupted. */
  exitCode: number;
  /** Set when status is error: why the checks could not run. */
  message?: string;
  checks: CheckResult[];
  timings: { totalMs: number; servicesMs?: number; /** --runtime docker: building the image. */ buildMs?: number; readyMs?: number; checksMs?: number; teardownMs?: number };
  serverOutput: string[];
  port?: number;
  startCommand: string;
}

export type RunEvent =
  | { type: 'run-start'; lab: { id: string; title: string }; seed: number; checks: { id: string; title: string }[]; dir: string; startCommand: string }
  | { type: 'phase'; phase: 'services' | 'start' | 'ready' | 'checks' | 'teardown' }
  | { type: 'service'; name: string; state: 'starting' | 'ready'; url?: string; ms?: number }
  | { type: 'server-start'; command: string; port: number; /** process group id of the local runtime */ pid?: number }
  | { type: 'server-ready'; ms: number }
  /** Still waiting for the server to listen (about once a second from 1 s on), with the last line it printed. */
  | { type: 'server-waiting'; ms: number; port: number; lastLine?: string }
  | { type: 'server-output'; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'server-exit'; exit: ExitInfo; expected: boolean }
  | { type: 'check-start'; id: string; title: string; index: number; total: number }
  | { type: 'check-note'; id: string; message: string }
  | { type: 'check-end'; result: CheckResult; index: number; total: number }
  | { type: 'run-end'; result: RunResult };

export function describeExit(exit: ExitInfo): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code}`;
}

/** Longest server output line shown in reports; longer ones are cut (checks still see them whole). */
export const MAX_LINE_CHARS = 300;

/** `line` cut to `max` characters, saying how much was left out. */
export function cutLine(line: string, max = MAX_LINE_CHARS): string {
  if (line.length <= max) return line;
  return `${line.slice(0, max)}… (${line.length - max} more characters)`;
}
