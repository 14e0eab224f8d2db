// The options of `labs check` and the engine options of one run, shared by the command, `--watch`
// (cli/commands/watch.ts) and the TUI, so that none of them imports another.
import { roleCommands } from '../../grader/runtime/roles.ts';
import type { EarlyServer } from '../../grader/runtime/early.ts';
import type { RunOptions } from '../../grader/run.ts';
import type { Lab } from '../../grader/types.ts';

export interface CheckOptions {
  all?: boolean;
  only?: string[];
  seed?: number;
  json?: boolean;
  /** Also write a JUnit XML report to this file. */
  junit?: string;
  verbose?: boolean;
  readyTimeout?: number;
  dir?: string;
  /** Re-run on every save in the lab folder (cli/commands/watch.ts). */
  watch?: boolean;
  /** Where the server runs: a local process (default) or a container built from the project's Dockerfile. */
  runtime?: 'local' | 'docker';
  /** The server, already started before the lab was loaded (cli/early-start.ts); the run adopts or stops it. */
  early?: EarlyServer;
}

/** The engine options for one run of `labs check` (also used by --watch and the TUI). */
export function checkRunOptions(opts: CheckOptions, dir: string, start: string | Record<string, string>, lab: Lab): RunOptions {
  // One command, or one per role for a lab with several processes (labs.json: {"start": {"api": ..., "worker": ...}}).
  const { main, others } = roleCommands(start, lab.roles ?? [], `${dir}/labs.json`);
  return {
    lab,
    dir,
    startCommand: main,
    roles: others,
    seed: opts.seed,
    all: opts.all,
    only: opts.only,
    readyTimeoutMs: opts.readyTimeout !== undefined ? opts.readyTimeout * 1000 : undefined,
    runtime: opts.runtime,
  };
}
