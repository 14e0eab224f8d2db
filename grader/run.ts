// runLab: the one entry the front ends use. Phases: services -> start -> ready -> checks -> teardown,
// each with its own budget. Emits RunEvents; resolves with a RunResult; never prints.
import { EventEmitter } from 'node:events';
import { CheckFailure, GraderError, type FailureDetails } from './errors.ts';
import { cutLine, describeExit, type CheckResult, type RunEvent, type RunResult } from './events.ts';
import { HttpProbe, loadUndici } from './probe/http.ts';
import { hostHttp, type Hosted } from './probe/hosted.ts';
import { WsProbe as WsProbeClass, type WsProbe } from './probe/ws.ts';
import { SseProbe as SseProbeClass, type SseProbe } from './probe/sse.ts';
import { RoleProcesses, roleCommands, type RoleSpec } from './runtime/roles.ts';
import { MANIFEST, readManifest } from './manifest.ts';
import { DEFAULT_COMMAND_TIMEOUT_MS, runCommand } from './runtime/command.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { newSeed, Random } from './random.ts';
import { groupRssBytes, signalGroup } from './runtime/process-group.ts';
import { GraderBalancer } from './runtime/balancer.ts';
import { FaultNetwork } from './net/fault-network.ts';
import { describeDirectConnection, DirectPeerWatch, type WatchedNode } from './net/direct-peers.ts';
import { LocalServer } from './runtime/local.ts';
import { freePort } from './runtime/ports.ts';
import { cleanEnv, sameEnv, type EarlyServer } from './runtime/early.ts';
import { RunTempDirs } from './runtime/temp-dirs.ts';
import type { DockerRuntime } from './runtime/docker.ts';
import type { SandboxLimits } from './runtime/sandbox.ts';
import type { RuntimeName, ServerInstance } from './runtime/server.ts';
import type { ServiceSet } from './services/index.ts';
import type { CheckContext, CheckDefinition, CommandResult, EnvContext, ExitInfo, InstanceControl, Lab, NetControl, RestartOptions, ServerControl } from './types.ts';
import { suggest } from './suggest.ts';
import { DOCKER_HOST_ALIAS } from './services/service.ts';
import { reproduceStart, writeServerEnv } from './report/reproduce.ts';

export interface RunOptions {
  lab: Lab;
  /** The learner's project folder. */
  dir: string;
  /** Shell command that starts the server (from the project's labs.json). */
  startCommand: string;
  /**
   * The lab's declared commands by name (labs.json `commands`); default: the project's labs.json, then the lab's
   * own `start` for each.
   */
  commands?: Record<string, string>;
  /** The lab's other processes (roles after the first), each with its command: started once the server listens. */
  roles?: RoleSpec[];
  seed?: number;
  /** Run every check instead of stopping at the first failure. */
  all?: boolean;
  /** Run only these checks (ids). */
  only?: string[];
  /** Extra variables for the server, on top of the lab's env. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Default per-request timeout for ctx.http. */
  requestTimeoutMs?: number;
  signal?: AbortSignal;
  /** Where the learner's server runs: a local process (default) or a container built from their Dockerfile. */
  runtime?: RuntimeName;
  /** Servers to use instead of service containers (default: LABS_DATABASE_URL / LABS_REDIS_URL). */
  serviceUrls?: Partial<Record<'postgres' | 'redis', string>>;
  /** Keep service containers warm for the next run (default true; LABS_KEEP_SERVICES=0 turns it off). */
  keepServices?: boolean;
  /**
   * The learner's server, already started by the caller before the lab was loaded (runtime/early.ts).
   * Adopted when it was started as this run would start it; otherwise stopped and started again. The run
   * owns it either way (it is stopped at teardown).
   */
  early?: EarlyServer;
  /** Untrusted code (`labs grade`): the container runs confined (runtime/sandbox.ts); implies runtime docker. */
  sandbox?: SandboxLimits;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;
export const DEFAULT_READY_TIMEOUT_MS = 20_000;
const KEEP_LINES = 40;
const KEEP_OUTPUT = 5000;
/** How often a `server-waiting` event says that the server is not listening yet. */
export const WAITING_EVERY_MS = 1000;

export interface LabRun {
  on(listener: (event: RunEvent) => void): () => void;
  /** Resolves when teardown is complete. */
  readonly result: Promise<RunResult>;
  /** Stops the run (e.g. Ctrl-C); teardown still happens. */
  abort(reason?: string): void;
}

export function selectChecks(lab: Lab, only?: string[]): CheckDefinition[] {
  if (!only || only.length === 0) return lab.checks;
  const ids = lab.checks.map((c) => c.id);
  for (const id of only) {
    if (!ids.includes(id)) {
      const close = suggest(id, ids);
      throw new GraderError(
        'USAGE',
        `Lab "${lab.id}" has no check "${id}".${close ? ` Did you mean "${close}"?` : ''} Its checks: ${ids.join(', ')}.`,
      );
    }
  }
  return lab.checks.filter((c) => only.includes(c.id));
}

export function runLab(options: RunOptions): LabRun {
  // A lab about the image itself (containerize) always runs in Docker.
  if (options.lab.runtime === 'docker' || options.sandbox) options = { ...options, runtime: 'docker' };
  const checks = selectChecks(options.lab, options.only);
  const emitter = new EventEmitter();
  const controller = new AbortController();
  let abortReason = 'interrupted';
  if (options.signal) {
    if (options.signal.aborted) controller.abort();
    else options.signal.addEventListener('abort', () => controller.abort(), { once: true });
  }
  const emit = (event: RunEvent) => emitter.emit('event', event);
  const result = new Promise<RunResult>((resolve) => {
    // Start on the next tick so callers can subscribe first.
    setImmediate(() => execute(options, checks, emit, controller.signal, () => abortReason).then(resolve));
  });
  return {
    on(listener) {
      emitter.on('event', listener);
      return () => emitter.off('event', listener);
    },
    result,
    abort(reason = 'interrupted') {
      abortReason = reason;
      controller.abort();
    },
  };
}

async function execute(
  options: RunOptions,
  checks: CheckDefinition[],
  emit: (e: RunEvent) => void,
  signal: AbortSignal,
  abortReason: () => string,
): Promise<RunResult> {
  const { lab } = options;
  const t0 = performance.now();
  const seed = options.seed ?? newSeed();
  const random = new Random(seed);
  const recentLines: string[] = [];
  let sinceStart: string[] = [];
  const outputWaiters = new Set<(line: string) => void>();
  const hosted: Hosted[] = [];
  const results: CheckResult[] = [];
  const timings: RunResult['timings'] = { totalMs: 0 };
  const readyTimeoutMs = options.readyTimeoutMs ?? lab.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;

  emit({ type: 'run-start', lab: { id: lab.id, title: lab.title }, seed, checks: checks.map((c) => ({ id: c.id, title: c.title })), dir: options.dir, startCommand: options.startCommand });

  // Lab env, drawn from the seed so values vary between runs but replay with --seed.
  const envRandom = random.fork('env');
  const labEnv: Record<string, string> = {};
  const tempDirs = new RunTempDirs(lab.id);
  const envContext: EnvContext = {
    tempDir: (sub) => tempDirs.tempDir(sub),
    async hostHttp(handler) {
      // A server in a container reaches the grader through the host gateway, not through 127.0.0.1.
      const inDocker = options.runtime === 'docker';
      const h = await hostHttp(handler, inDocker ? '0.0.0.0' : '127.0.0.1');
      hosted.push(h);
      return inDocker ? { ...h, url: `http://${DOCKER_HOST_ALIAS}:${h.port}` } : h;
    },
    hostAddress: options.runtime === 'docker' ? { bind: '0.0.0.0', urlHost: DOCKER_HOST_ALIAS } : { bind: '127.0.0.1', urlHost: '127.0.0.1' },
    onTeardown(close) {
      hosted.push({ url: '', port: 0, requests: [], close });
    },
  };
  for (const [name, knob] of Object.entries(lab.env)) labEnv[name] = typeof knob.value === 'function' ? await knob.value(envRandom, envContext) : knob.value;
  Object.assign(labEnv, options.env ?? {});
  const replicaCount = lab.replicas ?? 1;
  if (replicaCount > 1) labEnv.INSTANCE_ID = '1';

  const early = options.early;
  let earlyAdopted = false;
  const port = early?.port ?? (await freePort());
  const baseEnv = { ...cleanEnv(), ...labEnv };
  let currentEnv: Record<string, string | undefined> = baseEnv;
  let exitExpected = false;
  let onUnexpectedExit: ((exit: ExitInfo) => void) | undefined;

  const onLine = (stream: 'stdout' | 'stderr', line: string, shown = line) => {
    // Reports show at most MAX_LINE_CHARS of a line; checks (output(), waitForOutput) see it whole.
    recentLines.push(cutLine(shown));
    if (recentLines.length > KEEP_LINES) recentLines.shift();
    sinceStart.push(line);
    if (sinceStart.length > KEEP_OUTPUT) sinceStart.shift();
    emit({ type: 'server-output', stream, line: shown });
    for (const w of outputWaiters) w(line);
  };
  // With replicas, instance 1's lines are shown as [instance 1] like the others' (checks see them as printed).
  const mainOnLine = replicaCount > 1 ? (stream: 'stdout' | 'stderr', line: string) => onLine(stream, line, `[instance 1] ${line}`) : onLine;
  let balancer: GraderBalancer | undefined;
  let network: FaultNetwork | undefined;
  let watchedNodes: WatchedNode[] | undefined;
  let nodeLabel: (id: string) => string = (id) => id;
  /** The faults of networkAtStart, as a sentence for a failure to start ('' without). */
  let startupFaults = '';
  const pausedInstances = new Set<number>();

  let services: ServiceSet | undefined;
  let runtime: DockerRuntime | undefined;
  let roleProcs: RoleProcesses | undefined;
  let server: ServerInstance = new LocalServer({ command: options.startCommand, cwd: options.dir, port, env: currentEnv, onLine: mainOnLine });
  const launch = (env: Record<string, string | undefined>, adopt?: EarlyServer) => {
    currentEnv = env;
    const spec = { command: options.startCommand, cwd: options.dir, port, env, onLine: mainOnLine };
    server = adopt ? adopt.server : runtime ? runtime.createServer(spec) : new LocalServer(spec);
    sinceStart = [];
    exitExpected = false;
    const mine = server;
    if (!adopt) mine.start();
    const command = runtime ? `docker run ${runtime.image}` : mine instanceof LocalServer && mine.runCommand !== options.startCommand ? `${options.startCommand} (run directly: ${mine.runCommand})` : options.startCommand;
    emit({ type: 'server-start', command, port, pid: mine instanceof LocalServer ? mine.pid : undefined });
    adopt?.attach(onLine); // the lines it printed before this run adopted it, then the rest
    void mine.exited().then((exit) => {
      if (mine !== server) return;
      emit({ type: 'server-exit', exit, expected: exitExpected });
      if (!exitExpected) onUnexpectedExit?.(exit);
    });
  };

  const finish = async (status: RunResult['status'], exitCode: number, message?: string): Promise<RunResult> => {
    emit({ type: 'phase', phase: 'teardown' });
    const td = performance.now();
    exitExpected = true;
    await Promise.all([server.stop(), roleProcs?.stopAll()]);
    if (early && !earlyAdopted) await early.server.stop();
    await balancer?.close().catch(() => {});
    await network?.close().catch(() => {});
    await runtime?.dispose().catch(() => {});
    await services?.stop().catch(() => {});
    await Promise.all(hosted.map((h) => h.close().catch(() => {})));
    await http.close();
    tempDirs.remove();
    timings.teardownMs = Math.round(performance.now() - td);
    timings.totalMs = Math.round(performance.now() - t0);
    const ran = new Set(results.map((r) => r.id));
    for (const c of checks) {
      if (!ran.has(c.id)) results.push({ id: c.id, title: c.title, status: 'skip', durationMs: 0, failure: { message: message ? 'Not run: the checks could not start.' : 'Not run.' } });
    }
    const result: RunResult = {
      lab: { id: lab.id, title: lab.title },
      seed,
      status,
      exitCode,
      message,
      checks: results,
      timings,
      serverOutput: [...recentLines],
      port,
      startCommand: options.startCommand,
    };
    emit({ type: 'run-end', result });
    return result;
  };

  const http = new HttpProbe({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: options.requestTimeoutMs ?? 5000 });

  // services, then (--runtime docker) the image: loaded only for runs that need Docker
  if (lab.services.length > 0 || options.runtime === 'docker') {
    const { prepareRun } = await import('./runtime/prepare.ts');
    const prepared = await prepareRun({ lab, dir: options.dir, runtime: options.runtime ?? 'local', serviceUrls: options.serviceUrls, keepServices: options.keepServices, sandbox: options.sandbox, labEnv, signal, emit, timings });
    services = prepared.services;
    runtime = prepared.runtime;
    if (prepared.error) return finish('error', prepared.error.exitCode, prepared.error.message);
    if (signal.aborted) return finish('error', 130, `Stopped (${abortReason()}) before the server started.`);
    Object.assign(baseEnv, labEnv);
  }

  // start + ready
  if (replicaCount > 1 && runtime) return finish('error', 3, `This lab runs ${replicaCount} replicas of your server; --runtime docker runs one container. Use the local runtime for it.`);
  if (lab.network) {
    // Every link between the learner's processes goes through a proxy of ours; each learns its peers from PEERS.
    const nodes = replicaCount > 1 ? Array.from({ length: replicaCount }, (_, i) => String(i + 1)) : [...(lab.roles ?? [])];
    const main = nodes[0]!;
    // A node not started yet (the first one calling a peer at its own startup) looks down: reset.
    const nodeRole = (id: string) => (replicaCount > 1 ? `instance ${id}` : id);
    const nodePort = (id: string) => (id === main ? port : roleProcs?.roles.includes(nodeRole(id)) ? roleProcs.portOf(nodeRole(id)) : undefined);
    network = new FaultNetwork(nodes, nodePort);
    // Connections from one node to another's own port (not its PEERS address) escape every fault: watched.
    watchedNodes = nodes.map((id) => ({
      id,
      port: () => nodePort(id),
      pgid: () => {
        if (id === main) return server instanceof LocalServer && server.running ? server.pid : undefined;
        const c = roleProcs?.roles.includes(nodeRole(id)) ? roleProcs.control(nodeRole(id)) : undefined;
        return c?.running ? c.pid : undefined;
      },
    }));
    nodeLabel = (id) => (replicaCount > 1 ? `node ${id}` : `\`${id}\``);
    await network.listen();
    labEnv.PEERS = network.peersEnv(main);
    baseEnv.PEERS = labEnv.PEERS;
    if (lab.networkAtStart) {
      lab.networkAtStart(netControl(network));
      const faults = network.transcript().split('\n').map((l) => l.replace(/^\s*\d+ ms\s+/, '')).join('; ');
      // Said with any failure to start: a node that waits for its peers before it listens never starts here.
      startupFaults = ` While your processes started, the grader's network had: ${faults}. A node must start and listen without its peers (they may be unreachable for a long time); reach them later, with timeouts.`;
    }
  }
  if (!runtime) writeServerEnv(options.dir, port, labEnv);
  emit({ type: 'phase', phase: 'start' });
  if (early && !runtime && early.command === options.startCommand && early.dir === options.dir && sameEnv(early.env, baseEnv)) {
    earlyAdopted = true;
    launch(baseEnv, early);
  } else {
    if (early) await early.server.stop();
    earlyAdopted = true; // stopped: nothing left to stop at teardown
    launch(baseEnv);
  }
  if (replicaCount > 1) {
    // The other replicas start now, alongside instance 1: a 3-replica run costs about one start, not three.
    const specs = Array.from({ length: replicaCount - 1 }, (_, i) => ({ role: `instance ${i + 2}`, command: options.startCommand, env: { INSTANCE_ID: String(i + 2), ...(network ? { PEERS: network.peersEnv(String(i + 2)) } : {}) } }));
    roleProcs = new RoleProcesses(specs, options.dir, () => currentEnv, onLine);
    await roleProcs.startAll();
  }
  void loadUndici(); // load the HTTP client while the server boots
  emit({ type: 'phase', phase: 'ready' });
  const ready = await waitWithProgress();
  timings.readyMs = 'ms' in ready ? ready.ms : undefined;
  if (ready.kind === 'unreachable') return finish('error', 2, ready.message);
  if (ready.kind === 'aborted') return finish('error', 130, `Stopped (${abortReason()}) before the server was ready.`);
  if (ready.kind === 'exited') {
    return finish('error', 2, `Your server exited before it listened on port ${port} (${describeExit(ready.exit)}).${startupFaults} Its last lines are below. Start it yourself with \`${runtime ? runtime.reproduce(port) : `PORT=${port} ${options.startCommand}`}\` to see the problem.`);
  }
  if (ready.kind === 'timeout') {
    return finish('error', 2, startupFaults ? `Your server${replicaCount > 1 ? " (instance 1)" : ""} did not listen on port ${port} within ${(readyTimeoutMs / 1000).toFixed(0)} s.${startupFaults}` : `Your server did not listen on port ${port} within ${(readyTimeoutMs / 1000).toFixed(0)} s. It must listen on the port given in the PORT environment variable, on all interfaces (0.0.0.0).`);
  }
  if (replicaCount > 1) {
    const waitedFrom = performance.now();
    const problem = await waitReplicas(readyTimeoutMs - ready.ms);
    if (problem) return finish('error', 2, problem);
    balancer = new GraderBalancer(
      Array.from({ length: replicaCount }, (_, i) => ({
        id: i + 1,
        port: i === 0 ? port : roleProcs!.portOf(`instance ${i + 1}`),
        available: () => !pausedInstances.has(i + 1) && (i === 0 ? server.running : roleProcs!.control(`instance ${i + 1}`).running),
      })),
    );
    await balancer.listen();
    timings.readyMs = Math.round(ready.ms + performance.now() - waitedFrom); // until every replica listens
  }
  emit({ type: 'server-ready', ms: timings.readyMs ?? ready.ms });

  // the lab's other processes (a worker...), once the server listens
  const roleSpecs = (replicaCount > 1 ? [] : options.roles ?? ((lab.roles?.length ?? 0) > 1 ? roleCommands(readManifest(`${options.dir}/labs.json`).start, lab.roles!).others : [])).map((spec) =>
    network ? { ...spec, env: { ...spec.env, PEERS: network.peersEnv(spec.role) } } : spec,
  );
  if (roleSpecs.length > 0) {
    if (runtime) return finish('error', 3, `This lab runs several processes (${lab.roles!.join(', ')}); --runtime docker runs one container. Use the local runtime for it.`);
    roleProcs = new RoleProcesses(roleSpecs, options.dir, () => currentEnv, onLine);
    await roleProcs.startAll();
  }

  /** Instances 2..N listening, or why not (the first one that did not, in the learner's terms). */
  async function waitReplicas(budgetMs: number): Promise<string | undefined> {
    const outcomes = await Promise.all(Array.from({ length: replicaCount - 1 }, (_, i) => roleProcs!.waitReady(`instance ${i + 2}`, Math.max(1000, budgetMs), signal)));
    for (const [i, o] of outcomes.entries()) {
      const id = i + 2;
      const p = roleProcs!.portOf(`instance ${id}`);
      if (o.kind === 'ready') continue;
      if (o.kind === 'aborted') return `Stopped (${abortReason()}) before every replica was ready.`;
      if (o.kind === 'exited') return `Instance ${id} of your server (INSTANCE_ID=${id}, PORT=${p}) exited before it listened (${describeExit(o.exit)}).${startupFaults || ' Instance 1 started: what differs between them is PORT and INSTANCE_ID.'} Its lines are below, prefixed [instance ${id}].`;
      if (o.kind === 'unreachable') return `Instance ${id} of your server (PORT=${p}): ${o.message}`;
      return `Instance ${id} of your server (INSTANCE_ID=${id}) did not listen on its PORT ${p} within ${(readyTimeoutMs / 1000).toFixed(0)} s.${startupFaults || ' Each replica gets its own PORT: listen on the one in the environment, never on a fixed port.'}`;
    }
    return undefined;
  }

  /** waitReady, telling subscribers about once a second that we are still waiting (and the server's last line). */
  async function waitWithProgress() {
    const startedWaiting = performance.now();
    const tick = setInterval(() => {
      const last = recentLines.at(-1);
      emit({ type: 'server-waiting', ms: Math.round(performance.now() - startedWaiting), port, lastLine: last });
    }, WAITING_EVERY_MS);
    try {
      return await server.waitReady(readyTimeoutMs, signal);
    } finally {
      clearInterval(tick);
    }
  }

  const waitReadyOrFail = async (what: string) => {
    const again = await server.waitReady(readyTimeoutMs, signal);
    if (again.kind === 'exited') throw new CheckFailure({ message: `${what}, your server exited before listening (${describeExit(again.exit)}).` });
    if (again.kind === 'timeout') throw new CheckFailure({ message: `${what}, your server did not listen on port ${port} within ${readyTimeoutMs / 1000} s.` });
    if (again.kind === 'unreachable') throw new CheckFailure({ message: `${what}: ${again.message}` });
  };

  const control: ServerControl = {
    port,
    url: `http://127.0.0.1:${port}`,
    get running() {
      return server.running;
    },
    rssBytes() {
      const pid = server instanceof LocalServer && server.running ? server.pid : undefined;
      return pid === undefined ? undefined : groupRssBytes(pid);
    },
    output: () => [...sinceStart],
    waitForOutput(match, timeoutMs, includePast = false) {
      const test = typeof match === 'function' ? match : (l: string) => match.test(l);
      if (includePast) {
        const found = sinceStart.find(test);
        if (found !== undefined) return Promise.resolve(found);
      }
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          outputWaiters.delete(waiter);
          resolve(undefined);
        }, timeoutMs);
        const waiter = (line: string) => {
          if (!test(line)) return;
          clearTimeout(timer);
          outputWaiters.delete(waiter);
          resolve(line);
        };
        outputWaiters.add(waiter);
      });
    },
    async kill(sig = 'SIGKILL') {
      exitExpected = true;
      return server.kill(sig);
    },
    async restart(opts: RestartOptions = {}) {
      exitExpected = true;
      await server.stop();
      const env = { ...baseEnv };
      for (const [k, v] of Object.entries(opts.env ?? {})) {
        if (v === undefined) delete env[k];
        else env[k] = v;
      }
      launch(env);
      if (opts.waitReady !== false) await waitReadyOrFail('After a restart');
    },
    async waitForExit(timeoutMs) {
      exitExpected = true;
      const exit = await Promise.race([server.exited(), new Promise<undefined>((r) => setTimeout(r, timeoutMs))]);
      if (exit === undefined) exitExpected = false;
      return exit;
    },
  };

  /** ctx.instances: instance 1 is the server above; 2..N are replicas run like roles. */
  const instanceControls: InstanceControl[] = Array.from({ length: replicaCount > 1 ? replicaCount : 0 }, (_, i): InstanceControl => {
    const id = i + 1;
    if (id === 1) {
      /** SIGSTOP/SIGCONT to instance 1's group (a paused group takes signals only once continued). */
      const signalMain = (sig: NodeJS.Signals) => {
        if (server instanceof LocalServer && server.pid !== undefined) signalGroup(server.pid, sig);
      };
      return {
        id,
        port,
        url: `http://127.0.0.1:${port}`,
        get running() {
          return server.running;
        },
        get pid() {
          return server instanceof LocalServer ? server.pid : undefined;
        },
        output: () => control.output(),
        waitForOutput: (match, timeoutMs) => control.waitForOutput(match, timeoutMs),
        kill: (sig = 'SIGKILL') => {
          pausedInstances.delete(id);
          signalMain('SIGCONT');
          return control.kill(sig);
        },
        restart: () => {
          pausedInstances.delete(id);
          signalMain('SIGCONT');
          return control.restart();
        },
        pause: () => {
          pausedInstances.add(id);
          signalMain('SIGSTOP');
        },
        resume: () => {
          pausedInstances.delete(id);
          signalMain('SIGCONT');
        },
      };
    }
    const role = `instance ${id}`;
    const proc = () => roleProcs!.control(role);
    return {
      id,
      get port() {
        return roleProcs!.portOf(role);
      },
      get url() {
        return `http://127.0.0.1:${roleProcs!.portOf(role)}`;
      },
      get running() {
        return proc().running;
      },
      get pid() {
        return proc().pid;
      },
      output: () => proc().output(),
      waitForOutput: (match, timeoutMs) => proc().waitForOutput(match, timeoutMs),
      kill: (sig = 'SIGKILL') => {
        pausedInstances.delete(id);
        return proc().kill(sig);
      },
      restart: async () => {
        pausedInstances.delete(id);
        await proc().restart();
        const again = await roleProcs!.waitReady(role, readyTimeoutMs, signal);
        if (again.kind === 'exited') throw new CheckFailure({ message: `After a restart, instance ${id} of your server exited before listening (${describeExit(again.exit)}).` });
        if (again.kind === 'timeout') throw new CheckFailure({ message: `After a restart, instance ${id} of your server did not listen on its port within ${readyTimeoutMs / 1000} s.` });
        if (again.kind === 'unreachable') throw new CheckFailure({ message: `After a restart, instance ${id}: ${again.message}` });
      },
      pause: () => {
        pausedInstances.add(id);
        proc().pause();
      },
      resume: () => {
        pausedInstances.delete(id);
        proc().resume();
      },
    };
  });

  // the lab's commands (ctx.command): labs.json's, else the lab's defaults
  const commandLines = labCommands(options);
  let commandRuns = 0;
  const runLabCommand = async (name: string, args: string[] = [], opts: { timeoutMs?: number; env?: Record<string, string> } = {}, checkSignal?: AbortSignal): Promise<CommandResult> => {
    const command = commandLines[name];
    if (!command) throw new GraderError('LAB_INVALID', `ctx.command('${name}'): lab "${lab.id}" declares no command "${name}" (commands: ${Object.keys(commandLines).join(', ') || 'none'}).`);
    const appName = `labs-command-${name}-${++commandRuns}`;
    // Commands run on this machine even under --runtime docker: they get the services' host URLs.
    const env = { ...currentEnv, ...(runtime && services ? services.env('host') : {}), PGAPPNAME: appName, ...opts.env };
    const result = await runCommand({
      command,
      args,
      cwd: options.dir,
      env,
      timeoutMs: opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      signal: checkSignal,
      // Shown live with the server's output, but not kept as the server's last lines (the check's transcript has them).
      onLine: (stream, line) => emit({ type: 'server-output', stream, line: cutLine(`[${name}] ${line}`) }),
    });
    // Whatever it left in the database (a backend still running its statement after the process was killed)
    // is ended, so its transaction rolls back and its locks go.
    if (services?.postgres) result.terminatedBackends = await terminateBackends(services.db(), appName);
    return result;
  };

  // checks
  emit({ type: 'phase', phase: 'checks' });
  const tc = performance.now();
  let anyFail = false;
  let graderBug: string | undefined;
  for (let index = 0; index < checks.length; index++) {
    const check = checks[index];
    if (signal.aborted) break;
    // An instance that failed a request through the balancer may be on its way down (a crash): its exit is
    // awaited briefly, so that it is seen as stopped and restarted below rather than left half-dead.
    const failing = balancer?.takeFailed() ?? [];
    for (const until = performance.now() + 1000; failing.some((id) => instanceControls[id - 1]!.running) && performance.now() < until; ) await new Promise((r) => setTimeout(r, 20));
    if (!server.running) {
      // The server died in an earlier check (or a check left it stopped): bring it back for this one,
      // started normally (lab env), not with the env of a check that removed a variable to see it exit.
      try {
        launch(baseEnv);
        await waitReadyOrFail('Restarting it for the next check');
      } catch (err) {
        results.push({ id: check.id, title: check.title, status: 'skip', durationMs: 0, failure: { message: `Not run: ${(err as Error).message}` } });
        continue;
      }
    }
    if (replicaCount > 1) {
      // A replica a check left stopped (or paused) is brought back too.
      if (pausedInstances.has(1)) instanceControls[0]!.resume();
      const down = Array.from({ length: replicaCount - 1 }, (_, i) => i + 2).filter((id) => pausedInstances.has(id) || !roleProcs!.control(`instance ${id}`).running);
      pausedInstances.clear();
      try {
        await Promise.all(down.map((id) => instanceControls[id - 1]!.restart()));
      } catch (err) {
        results.push({ id: check.id, title: check.title, status: 'skip', durationMs: 0, failure: { message: `Not run: ${(err as Error).message}` } });
        continue;
      }
    }
    if (network?.faulty) network.heal(); // a check's faults end with it
    emit({ type: 'check-start', id: check.id, title: check.title, index, total: checks.length });
    const outcome = await runOne(check, index);
    results.push(outcome);
    emit({ type: 'check-end', result: outcome, index, total: checks.length });
    if (outcome.status === 'error') graderBug = outcome.failure?.message;
    if (outcome.status !== 'pass') {
      anyFail = true;
      if (!options.all) break;
    }
  }
  timings.checksMs = Math.round(performance.now() - tc);

  if (signal.aborted) return finish('error', 130, `Stopped (${abortReason()}).`);
  if (graderBug) return finish('error', 4, `Grader bug (please report it): ${graderBug}`);
  return finish(anyFail ? 'fail' : 'pass', anyFail ? 1 : 0);

  async function runOne(check: CheckDefinition, index: number): Promise<CheckResult> {
    const started = performance.now();
    /** What the check said while it ran (timing of a burst, retries): kept in the result for the report. */
    const notes: string[] = [];
    let wsProbe: WsProbe | undefined;
    let sseProbe: SseProbe | undefined;
    const checkController = new AbortController();
    const checkSignal = AbortSignal.any([checkController.signal, signal]);
    http.setSignal(checkSignal);
    const ctx: CheckContext = {
      http,
      random: random.fork(check.id),
      env: { ...labEnv },
      server: control,
      host: {
        async http(handler) {
          const h = await hostHttp(handler);
          hosted.push(h);
          return h;
        },
      },
      signal: checkSignal,
      sleep: (ms) =>
        new Promise((resolve, reject) => {
          const onAbort = () => {
            clearTimeout(t);
            reject(new Error('aborted'));
          };
          // Remove the listener when the timer fires: a check may sleep many times (polling).
          const t = setTimeout(() => {
            checkSignal.removeEventListener('abort', onAbort);
            resolve();
          }, ms);
          checkSignal.addEventListener('abort', onAbort, { once: true });
        }),
      burst: (n, fn) => Promise.allSettled(Array.from({ length: n }, (_, i) => fn(i))),
      note: (message) => {
        notes.push(message);
        emit({ type: 'check-note', id: check.id, message });
      },
      fail: (details: FailureDetails | string) => {
        throw new CheckFailure(details);
      },
      get db() {
        if (!services) throw new GraderError('LAB_INVALID', `ctx.db: lab "${lab.id}" must declare \`services: ['postgres']\` to use it.`);
        return services.db();
      },
      process(role: string) {
        if (!roleProcs) throw new GraderError('LAB_INVALID', `ctx.process('${role}'): lab "${lab.id}" declares no roles besides the server (roles: ['api', '${role}']).`);
        return roleProcs.control(role);
      },
      get instances() {
        if (replicaCount < 2) throw new GraderError('LAB_INVALID', `ctx.instances: lab "${lab.id}" must declare \`replicas\` to use it.`);
        return instanceControls;
      },
      get balancer() {
        if (!balancer) throw new GraderError('LAB_INVALID', `ctx.balancer: lab "${lab.id}" must declare \`replicas\` to use it.`);
        const b = balancer;
        return { url: b.url, counts: () => [...b.counts], resetCounts: () => b.resetCounts() };
      },
      projectDir: options.dir,
      get net() {
        if (!network) throw new GraderError('LAB_INVALID', `ctx.net: lab "${lab.id}" must declare \`network: true\` to use it.`);
        return netControl(network);
      },
      get image() {
        if (!runtime) throw new GraderError('LAB_INVALID', `ctx.image: lab "${lab.id}" must declare \`runtime: 'docker'\` to use it.`);
        return runtime.imageControl(() => server);
      },
      get sse() {
        sseProbe ??= new SseProbeClass(`http://127.0.0.1:${port}`, checkSignal);
        return sseProbe;
      },
      get ws() {
        wsProbe ??= new WsProbeClass(`ws://127.0.0.1:${port}`, checkSignal);
        return wsProbe;
      },
      command: (name, args, opts) => runLabCommand(name, args, opts, checkSignal),
      get amqp() {
        if (!services) throw new GraderError('LAB_INVALID', `ctx.amqp: lab "${lab.id}" must declare \`services: ['rabbitmq']\` to use it.`);
        return services.amqp();
      },
      get redis() {
        if (!services) throw new GraderError('LAB_INVALID', `ctx.redis: lab "${lab.id}" must declare \`services: ['redis']\` to use it.`);
        return services.redisClient();
      },
    };
    http.lastExchange = undefined;
    const timeoutMs = check.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    let onRunAbort: (() => void) | undefined;
    type Outcome = { kind: 'done' } | { kind: 'failed'; error: unknown } | { kind: 'timeout' } | { kind: 'exit'; exit: ExitInfo } | { kind: 'aborted' };
    const directWatch = watchedNodes ? new DirectPeerWatch(watchedNodes).start() : undefined;
    const work = check.run(ctx).then(
      (): Outcome => ({ kind: 'done' }),
      (error): Outcome => ({ kind: 'failed', error }),
    );
    const outcome: Outcome = await Promise.race([
      work,
      new Promise<Outcome>((r) => (timer = setTimeout(() => r({ kind: 'timeout' }), timeoutMs))),
      new Promise<Outcome>((r) => (onUnexpectedExit = (exit) => r({ kind: 'exit', exit }))),
      new Promise<Outcome>((r) => {
        onRunAbort = () => r({ kind: 'aborted' });
        if (signal.aborted) onRunAbort();
        else signal.addEventListener('abort', onRunAbort, { once: true });
      }),
    ]);
    clearTimeout(timer);
    const direct = await directWatch?.stop();
    if (onRunAbort) signal.removeEventListener('abort', onRunAbort); // one listener per check would pile up
    onUnexpectedExit = undefined;
    checkController.abort();
    wsProbe?.closeAll();
    sseProbe?.closeAll();
    const lastExchange = http.lastExchange;
    http.setSignal(undefined);
    const durationMs = Math.round(performance.now() - started);
    const base = { id: check.id, title: check.title, durationMs, ...(notes.length ? { notes } : {}) };
    const withOutput = (r: CheckResult): CheckResult => ({
      ...r,
      hint: r.failure?.hint ?? check.hint,
      serverOutput: recentLines.slice(-15),
      reproduceStart: runtime ? runtime.reproduce(port) : reproduceStart(options.startCommand, port, labEnv),
    });
    const result = await classify();
    if (!direct || result.status === 'skip' || result.status === 'error') return result;
    // Whatever else happened, a node that bypassed the network is the first thing to fix.
    const why = describeDirectConnection(direct, network!.peersEnv(direct.from), nodeLabel);
    return withOutput({ ...result, status: 'fail', failure: { ...result.failure, message: result.failure ? `${why}\n${result.failure.message}` : why } });

    async function classify(): Promise<CheckResult> {
      switch (outcome.kind) {
        case 'done':
          return { ...base, status: 'pass' };
        case 'aborted':
          return { ...base, status: 'skip', failure: { message: `Stopped (${abortReason()}).` } };
        case 'timeout':
          return withOutput({
            ...base,
            status: 'fail',
            failure: {
              message: `The check did not finish within ${timeoutMs / 1000} s: your server is too slow to answer or never answered.`,
              exchange: lastExchange,
            },
          });
        case 'exit':
          return withOutput({
            ...base,
            status: 'fail',
            failure: { message: `Your server exited during this check (${describeExit(outcome.exit)}). Its last lines are below.`, exchange: lastExchange },
          });
        case 'failed': {
          const error = outcome.error;
          if (error instanceof CheckFailure) {
            // A reset or refused connection often means the process is dying: wait a moment to say so.
            if (error.details.transport === 'reset' || error.details.transport === 'refused') {
              const mine = server;
              // A container's exit reaches us later than a process's (Docker's wait, then its last log lines).
              const exit = await Promise.race([mine.exited(), new Promise<undefined>((r) => setTimeout(r, runtime ? 3000 : 750))]);
              if (exit && !exitExpected) {
                return withOutput({
                  ...base,
                  status: 'fail',
                  failure: { ...error.details, message: `Your server crashed while handling this request (${describeExit(exit)}). Its last lines are below.` },
                });
              }
            }
            return withOutput({ ...base, status: 'fail', failure: error.details });
          }
          if (checkSignal.aborted && signal.aborted) return { ...base, status: 'skip', failure: { message: `Stopped (${abortReason()}).` } };
          const e = error as Error;
          return { ...base, status: 'error', failure: { message: `check "${check.id}" threw ${e?.stack ?? String(e)}` } };
        }
      }
    }
  }
}

/** What checks (and networkAtStart) drive: the fault network, nodes named by instance id or role. */
function netControl(n: FaultNetwork): NetControl {
  const id = (x: string | number) => String(x);
  return {
    partition: (...groups: (string | number)[][]) => n.partition(...groups.map((g) => g.map(id))),
    heal: () => n.heal(),
    delay: (from: string | number, to: string | number, ms: number) => n.delay(id(from), id(to), ms),
    drop: (from: string | number, to: string | number) => n.drop(id(from), id(to)),
    reset: (from: string | number, to: string | number) => n.reset(id(from), id(to)),
    delayReplies: (from: string | number, to: string | number, ms: number) => n.delayReplies(id(from), id(to), ms),
    dropReplies: (from: string | number, to: string | number) => n.dropReplies(id(from), id(to)),
    clientUrl: (node: string | number) => n.clientUrl(id(node)),
    peerBytes: () => n.peerBytes(),
    transcript: (sinceMs?: number) => n.transcript(sinceMs),
    now: () => n.now(),
    events: n.events,
  };
}

/** The lab's commands for this run: RunOptions.commands, else the project's labs.json, else the lab's defaults. */
function labCommands(options: RunOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, c] of Object.entries(options.lab.commands ?? {})) out[name] = c.start;
  let fromManifest: Record<string, string> | undefined;
  if (!options.commands) {
    const path = join(options.dir, MANIFEST);
    try {
      if (existsSync(path)) fromManifest = readManifest(path).commands;
    } catch {
      // an invalid labs.json was reported by whoever read it first; the defaults stand
    }
  }
  return { ...out, ...fromManifest, ...options.commands };
}

/** Ends the connections a command left on the run's database (by application_name); how many there were. */
async function terminateBackends(db: import('pg').Pool, appName: string): Promise<number> {
  let terminated = 0;
  const deadline = performance.now() + 5000;
  try {
    while (performance.now() < deadline) {
      const { rows } = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1', [appName]);
      if (rows.length === 0) break;
      await db.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1', [appName]);
      terminated = Math.max(terminated, rows.length);
      await new Promise((r) => setTimeout(r, 25));
    }
  } catch {
    // The database did not answer (a machine under heavy load): the command's verdict stands; a connection it
    // left ends when the run's database is dropped.
  }
  return terminated;
}
