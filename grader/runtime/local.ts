// Local runtime: the learner's start command as a process group of its own (execa), with output captured
// line by line and a stop that always ends in SIGKILL.
import { connect } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import type { ExitInfo } from '../types.ts';
import { groupAlive, signalGroup, trackGroup, untrackGroup, waitGroupGone } from './process-group.ts';
import { directNpmScript, npmShortcutDisabled } from './npm-script.ts';
import { describeListenProblem, groupListening, MISPLACED_GRACE_MS, listenProblem, reachableOnLoopbackV4, type ListenProblem, type ListenSocket } from './listening.ts';
import { selfConnected } from './ports.ts';

export const KILL_AFTER_MS = 2000;

export interface LocalServerOptions {
  command: string;
  cwd: string;
  port: number;
  env: Record<string, string | undefined>;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Run an npm script's command directly when npm adds nothing (see npm-script.ts); default true. */
  npmShortcut?: boolean;
}

export type ReadyOutcome =
  | { kind: 'ready'; ms: number }
  | { kind: 'exited'; exit: ExitInfo; ms: number }
  | { kind: 'timeout'; ms: number }
  /** It listens, but where the grader cannot reach it (another port, ::1 only...): `message` says so in one line. */
  | { kind: 'unreachable'; problem: ListenProblem; message: string; ms: number }
  | { kind: 'aborted' };

/** How often, while waiting, to look where the process group listens (/proc scan). */
const DIAGNOSE_EVERY_MS = 150;

export class LocalServer {
  private child?: ChildProcess;
  private pgid?: number;
  private exitInfo?: ExitInfo;
  private exitPromise?: Promise<ExitInfo>;
  startedAt = 0;
  /** The command actually run: the start command, or the npm script's own command (npm-script.ts). */
  runCommand = '';

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
    const useShortcut = this.options.npmShortcut !== false && !npmShortcutDisabled(env) && !npmShortcutDisabled();
    const direct = useShortcut ? directNpmScript(command, cwd, env) : undefined;
    this.runCommand = direct ? direct.command : command;
    // node:child_process, not execa: `labs check` spawns this before loading most of the CLI, and
    // execa alone takes ~50 ms to load. A shell like npm uses, in a process group of its own.
    const child = spawn(this.runCommand, {
      shell: true,
      detached: true,
      cwd,
      env: { ...env, ...direct?.env, PORT: String(port) } as Record<string, string>,
      stdio: ['ignore', 'pipe', 'pipe'],
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
    // Like execa: the exit counts once the shell has exited and its output streams are closed (so the
    // last lines are in before anyone reports the exit).
    this.exitPromise = new Promise<ExitInfo>((resolve) => {
      let settled = false;
      const done = (exit: ExitInfo) => {
        if (settled) return;
        settled = true;
        if (this.child === child) this.exitInfo = exit;
        resolve(exit);
      };
      child.once('close', (code, signal) => done({ code: code ?? null, signal: signal ?? null }));
      child.once('error', (err) => {
        this.options.onLine('stderr', `[labs] could not start \`${this.runCommand}\` in ${cwd}: ${err.message}`);
        done({ code: null, signal: null });
      });
    });
  }

  /** Resolves when the direct child exits. */
  exited(): Promise<ExitInfo> {
    return this.exitPromise ?? Promise.resolve({ code: null, signal: null });
  }

  /**
   * Polls a TCP connect to 127.0.0.1:port until it is accepted, the process exits, or time runs out.
   * Meanwhile it looks where the process group listens: a server that listens only somewhere the
   * grader cannot reach (another port, [::1] only) for MISPLACED_GRACE_MS is reported at once.
   */
  async waitReady(timeoutMs: number, signal?: AbortSignal): Promise<ReadyOutcome> {
    const deadline = performance.now() + timeoutMs;
    let exited = false;
    void this.exited().then(() => (exited = true));
    let nextDiagnosis = performance.now() + DIAGNOSE_EVERY_MS;
    let misplacedSince: number | undefined;
    while (true) {
      const ms = Math.round(performance.now() - this.startedAt);
      if (signal?.aborted) return { kind: 'aborted' };
      if (exited || this.exitInfo) return { kind: 'exited', exit: await this.exited(), ms };
      if (await canConnect(this.options.port)) return { kind: 'ready', ms: Math.round(performance.now() - this.startedAt) };
      const now = performance.now();
      if (now >= nextDiagnosis) {
        nextDiagnosis = now + DIAGNOSE_EVERY_MS;
        const problem = listenProblem(await this.listening(), this.options.port, reachableOnLoopbackV4);
        if (!problem) misplacedSince = undefined;
        else {
          misplacedSince ??= now;
          if (now - misplacedSince >= MISPLACED_GRACE_MS[problem.kind]) {
            return { kind: 'unreachable', problem, message: describeListenProblem(problem, 'local'), ms: Math.round(now - this.startedAt) };
          }
        }
      }
      if (now > deadline) return { kind: 'timeout', ms };
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Where the process group listens (Linux: /proc; elsewhere only "[::1]:PORT", found by connecting). */
  async listening(): Promise<ListenSocket[]> {
    if (this.pgid === undefined) return [];
    if (process.platform === 'linux') return groupListening(this.pgid);
    return (await canConnect(this.options.port, '::1')) ? [{ address: '::1', port: this.options.port, family: 6 }] : [];
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
    socket.once('connect', () => done(!selfConnected(socket)));
    socket.once('error', () => done(false));
  });
}
