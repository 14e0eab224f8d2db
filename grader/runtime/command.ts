// Lab commands: besides the server, a lab may declare commands the learner names in labs.json
// (`"commands": {"migrate": "npm run migrate"}`), which checks run to completion with arguments
// (`ctx.command('migrate', ['up'])`). Each run is a process group of its own (a shell, like the start command),
// with the run's env (DATABASE_URL...), a budget, and its output kept line by line. At the budget the group gets
// SIGTERM, then SIGKILL after KILL_AFTER_MS: a command that hangs cannot hang the run.
import { execa } from 'execa';
import type { CommandResult } from '../types.ts';
import { groupAlive, signalGroup, trackGroup, untrackGroup, waitGroupGone } from './process-group.ts';
import { directNpmScript, npmShortcutDisabled } from './npm-script.ts';
import { KILL_AFTER_MS } from './local.ts';

export const DEFAULT_COMMAND_TIMEOUT_MS = 20_000;
/** Lines of a command's output kept (the last ones). */
const KEEP_LINES = 400;

export interface RunCommandOptions {
  /** The command line from labs.json, e.g. `npm run migrate`. */
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  timeoutMs: number;
  /** Each line as it is printed (the run's log shows it prefixed). */
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
  signal?: AbortSignal;
}

/** POSIX shell quoting of one argument (left bare when it is plain). */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line with its arguments: `npm run migrate` + ['up'] -> `npm run migrate -- up` (npm needs `--` to
 * pass options on), any other command gets the arguments appended, shell-quoted.
 */
export function commandLine(command: string, args: string[]): string {
  if (args.length === 0) return command;
  const quoted = args.map(shellQuote).join(' ');
  const npmScript = /^npm\s+(start|test|run|run-script)\b/.test(command.trim()) && !/\s--(\s|$)/.test(command);
  return `${command}${npmScript ? ' --' : ''} ${quoted}`;
}

export async function runCommand(options: RunCommandOptions): Promise<CommandResult> {
  const { command, args, cwd, env, timeoutMs } = options;
  const shown = commandLine(command, args);
  // An npm script without hooks runs directly (npm-script.ts), its arguments appended like npm appends them.
  const direct = !npmShortcutDisabled(env) && !npmShortcutDisabled() ? directNpmScript(command, cwd, env) : undefined;
  const line = direct ? `${direct.command}${args.length ? ' ' + args.map(shellQuote).join(' ') : ''}` : shown;
  const output: string[] = [];
  const started = performance.now();
  const child = execa(line, {
    shell: true,
    detached: true,
    cwd,
    env: { ...env, ...direct?.env } as Record<string, string>,
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    stripFinalNewline: false,
    buffer: false,
    encoding: 'utf8',
  });
  const pgid = child.pid;
  if (pgid !== undefined) trackGroup(pgid);
  for (const stream of ['stdout', 'stderr'] as const) {
    let pending = '';
    const s = child[stream];
    s?.setEncoding('utf8');
    s?.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        push(stream, pending.slice(0, nl).replace(/\r$/, ''));
        pending = pending.slice(nl + 1);
      }
    });
    s?.on('end', () => {
      if (pending) push(stream, pending);
      pending = '';
    });
  }
  function push(stream: 'stdout' | 'stderr', l: string) {
    output.push(l);
    if (output.length > KEEP_LINES) output.shift();
    options.onLine?.(stream, l);
  }

  let timedOut = false;
  let killed = false;
  const stopGroup = async () => {
    if (pgid === undefined) return;
    killed = true;
    signalGroup(pgid, 'SIGCONT');
    signalGroup(pgid, 'SIGTERM');
    if (!(await waitGroupGone(pgid, KILL_AFTER_MS))) {
      signalGroup(pgid, 'SIGKILL');
      await waitGroupGone(pgid, 5000);
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    void stopGroup();
  }, timeoutMs);
  const onAbort = () => void stopGroup();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const result = await child;
  clearTimeout(timer);
  options.signal?.removeEventListener('abort', onAbort);
  // The shell exited: anything it left running in its group (a child that daemonized) goes too.
  if (pgid !== undefined) {
    if (groupAlive(pgid)) {
      signalGroup(pgid, 'SIGKILL');
      await waitGroupGone(pgid, 5000);
    }
    untrackGroup(pgid);
  }
  const exitCode = typeof result.exitCode === 'number' ? result.exitCode : null;
  return {
    command: shown,
    exitCode: timedOut || killed ? null : exitCode,
    signal: (result.signal as string | undefined) ?? null,
    timedOut,
    ms: Math.round(performance.now() - started),
    output,
  };
}

/** The transcript of one command run, for a failure's details: the command, how it ended, its output. */
export function describeCommand(r: CommandResult, maxLines = 40): string {
  const ending = r.timedOut
    ? `did not finish within its budget: killed (process group, SIGTERM then SIGKILL) after ${(r.ms / 1000).toFixed(1)} s`
    : r.exitCode === null
      ? `ended by signal ${r.signal ?? '?'} after ${r.ms} ms`
      : `exit code ${r.exitCode} after ${r.ms} ms`;
  const lines = r.output.length > maxLines ? ['...', ...r.output.slice(-maxLines)] : r.output;
  return [`$ ${r.command}`, ...lines.map((l) => `  ${l}`), `(${ending})`].join('\n');
}
