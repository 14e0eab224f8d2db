// More than one learner process: a lab that declares `roles: ['api', 'worker']` runs the first role as "the
// server" (it listens on PORT and the run waits for it), and each other role as a process of its own, in its
// own process group, with the same environment plus its own PORT (where it may listen) and LABS_ROLE. Their
// output goes to the same log, each line prefixed `[worker]`. Checks drive them through ctx.process(role).
//
// labs.json names a command per role:  {"start": {"api": "npm run api", "worker": "npm run worker"}}
import { GraderError } from '../errors.ts';
import type { ExitInfo, ProcessControl } from '../types.ts';
import { LocalServer, type ReadyOutcome } from './local.ts';
import { signalGroup } from './process-group.ts';
import { freePort } from './ports.ts';

export interface RoleSpec {
  role: string;
  command: string;
  /** Variables this process gets on top of the run's env (a replica's INSTANCE_ID). */
  env?: Record<string, string>;
}

/** The commands of a lab with roles, from labs.json's `start` (a string is only enough for one role). */
export function roleCommands(start: string | Record<string, string>, roles: readonly string[], where = 'labs.json'): { main: string; others: RoleSpec[] } {
  if (roles.length <= 1) {
    if (typeof start !== 'string') {
      const only = roles[0] ?? 'api';
      if (typeof start[only] !== 'string') throw new GraderError('USAGE', `${where}: this lab runs one process; set "start" to its command (a string), e.g. "npm start".`);
      return { main: start[only], others: [] };
    }
    return { main: start, others: [] };
  }
  const example = `{"start": {${roles.map((r) => `"${r}": "npm run ${r}"`).join(', ')}}}`;
  if (typeof start === 'string') {
    throw new GraderError('USAGE', `${where}: this lab runs ${roles.length} processes (${roles.join(', ')}): "start" must name a command for each, e.g. ${example}.`);
  }
  const missing = roles.filter((r) => typeof start[r] !== 'string' || !start[r].trim());
  if (missing.length) throw new GraderError('USAGE', `${where}: "start" has no command for ${missing.map((r) => `"${r}"`).join(', ')}; this lab runs ${roles.join(', ')}, e.g. ${example}.`);
  return { main: start[roles[0]!]!, others: roles.slice(1).map((role) => ({ role, command: start[role]! })) };
}

interface Running {
  spec: RoleSpec;
  port: number;
  process: LocalServer;
  output: string[];
  waiters: Set<(line: string) => void>;
  /** An exit the grader caused (kill, restart); any other exit is reported in the log. */
  expected: boolean;
}

export class RoleProcesses {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly specs: RoleSpec[],
    private readonly cwd: string,
    private readonly env: () => Record<string, string | undefined>,
    private readonly onLine: (stream: 'stdout' | 'stderr', line: string) => void,
  ) {}

  get roles(): string[] {
    return this.specs.map((s) => s.role);
  }

  /** Starts every role (the run calls this once the main server listens; replicas start with it). */
  async startAll(): Promise<void> {
    const ports = await Promise.all(this.specs.map(() => freePort()));
    for (const [i, spec] of this.specs.entries()) await this.launch(spec, ports[i]!);
  }

  private started(role: string): Running {
    const r = this.running.get(role);
    if (!r) throw new GraderError('LAB_INVALID', `no process "${role}" (have ${this.roles.join(', ')})`);
    return r;
  }

  /** The port a role was given (its PORT). */
  portOf(role: string): number {
    return this.started(role).port;
  }

  /** Until the role's process listens on its PORT (see LocalServer.waitReady). */
  waitReady(role: string, timeoutMs: number, signal?: AbortSignal): Promise<ReadyOutcome> {
    return this.started(role).process.waitReady(timeoutMs, signal);
  }

  private async launch(spec: RoleSpec, port: number): Promise<void> {
    const r: Running = {
      spec,
      port,
      output: [],
      waiters: new Set(),
      expected: false,
      process: new LocalServer({
        command: spec.command,
        cwd: this.cwd,
        port,
        env: { ...this.env(), LABS_ROLE: spec.role, ...spec.env },
        onLine: (stream, line) => {
          r.output.push(line);
          if (r.output.length > 2000) r.output.shift();
          for (const w of r.waiters) w(line);
          this.onLine(stream, `[${spec.role}] ${line}`);
        },
      }),
    };
    this.running.set(spec.role, r);
    r.process.start();
    void r.process.exited().then((exit) => {
      if (this.running.get(spec.role) !== r || r.expected) return;
      this.onLine('stderr', `[${spec.role}] (exited on its own: ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`})`);
    });
  }

  control(role: string): ProcessControl {
    const get = () => {
      const r = this.running.get(role);
      if (!r) throw new GraderError('LAB_INVALID', `ctx.process('${role}'): the lab declares no role "${role}" (roles: ${this.roles.join(', ') || 'none'}).`);
      return r;
    };
    return {
      role,
      get running() {
        return get().process.running;
      },
      get pid() {
        return get().process.pid;
      },
      output: () => [...get().output],
      waitForOutput: (match, timeoutMs) => {
        const r = get();
        const test = typeof match === 'function' ? match : (l: string) => match.test(l);
        return new Promise((resolve) => {
          const timer = setTimeout(() => {
            r.waiters.delete(w);
            resolve(undefined);
          }, timeoutMs);
          const w = (line: string) => {
            if (!test(line)) return;
            clearTimeout(timer);
            r.waiters.delete(w);
            resolve(line);
          };
          r.waiters.add(w);
        });
      },
      kill: async (signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> => {
        const r = get();
        r.expected = true;
        if (!r.process.running) return r.process.exited();
        if (r.process.pid !== undefined) signalGroup(r.process.pid, 'SIGCONT'); // a paused group takes signals only when running
        if (signal === 'SIGTERM') return r.process.stop(10_000);
        return r.process.kill(signal);
      },
      restart: async () => {
        const r = get();
        r.expected = true;
        if (r.process.pid !== undefined) signalGroup(r.process.pid, 'SIGCONT');
        await r.process.stop();
        await this.launch(r.spec, r.port);
      },
      pause: () => {
        const pgid = get().process.pid;
        if (pgid !== undefined) signalGroup(pgid, 'SIGSTOP');
      },
      resume: () => {
        const pgid = get().process.pid;
        if (pgid !== undefined) signalGroup(pgid, 'SIGCONT');
      },
    };
  }

  /** Teardown: every role stopped (SIGCONT first, so a paused group can take its SIGTERM). */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.running.values()].map(async (r) => {
        r.expected = true;
        if (r.process.pid !== undefined) signalGroup(r.process.pid, 'SIGCONT');
        await r.process.stop();
      }),
    );
  }
}
