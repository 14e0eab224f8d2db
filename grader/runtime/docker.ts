// Container runtime (`labs check --runtime docker`): the learner's Dockerfile is built, and the server runs
// from that image on the namespace's network (`backend-labs-net`), where the lab's warm services answer to
// their aliases (`postgres`, `redis`: attached when they were created, see ensureSharedNetwork). Same port on both sides (PORT=<p>, published as <p>), so every curl reproduction is the same as
// with the local runtime.
//
// Docker is reached through testcontainers' runtime client (the same engine discovery as the services). The
// image is built with that client's dockerode rather than GenericContainer.fromDockerfile(): testcontainers'
// build keeps the output to itself (a failure only says "Failed to build image") and cannot be cancelled;
// the learner needs the output, and Ctrl-C must stop a long `npm install`. The container is created through
// the same client rather than GenericContainer.start(): that waits for port bindings, so a server that exits
// at once would look like a 10 s hang.
//
// Everything created here carries the backend-labs labels and is removed by dispose(); `labs down` removes
// anything a killed run left.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import type { ContainerRuntimeClient } from 'testcontainers';
import type { ExitInfo, ImageControl, ImageFacts } from '../types.ts';
import { CheckFailure } from '../errors.ts';
import { dockerClient, dockerNamespace, dockerStatus, ensureSharedNetwork, LABEL_NAMESPACE, LABEL_ROLE, noDockerForRuntime, removeSharedNetworkIfUnused, resourceLabels, sharedNetworkName } from '../services/docker.ts';
import { DOCKER_HOST_ALIAS } from '../services/service.ts';
import type { ReadyOutcome } from './local.ts';
import { describeListenProblem, listenProblem, MISPLACED_GRACE_MS, namespaceListening, reachableFromOutside, type ListenSocket } from './listening.ts';
import { buildOutputReader } from './buildkit.ts';
import { exitFromStatus, lineSplitter, type ServerInstance, type ServerSpec } from './server.ts';
import { Forwarder, limitExit, sandboxHostConfig, type SandboxLimits } from './sandbox.ts';
import { selfConnected } from './ports.ts';

export const DEFAULT_BUILD_TIMEOUT_MS = 10 * 60_000;
/** How much of the build output a failure shows. */
const BUILD_TAIL = 30;
const STOP_GRACE_S = 2;

/** The learner's Dockerfile did not build: the checks cannot run (exit 2), and `output` says why. */
export class BuildFailure extends Error {
  readonly output: string[];
  constructor(message: string, output: string[]) {
    super(message);
    this.name = 'BuildFailure';
    this.output = output;
  }
}

export interface DockerRuntimeOptions {
  /** The learner's project (build context, holds the Dockerfile). */
  dir: string;
  labId: string;
  runId: string;
  /** Variables the lab gives the server; only these, the services' and per-start overrides enter the container. */
  labEnvKeys: string[];
  buildTimeoutMs?: number;
  namespace?: string;
  /** Remove the namespace's network at dispose() when nothing else uses it (runs that keep nothing warm). */
  removeNetwork?: boolean;
  /** Progress of the build (reported like a service: starting, then ready). */
  onBuild?: (state: 'starting' | 'ready', ms?: number) => void;
  /** Run the container with Docker's init as PID 1 (default true); false: the image's own PID 1 gets the signals. */
  init?: boolean;
  /**
   * Untrusted code (`labs grade`): run it with these limits on an internal network of its own (sandbox.ts)
   * instead of the shared network with a published port. The lab's services are connected to that network.
   */
  sandbox?: SandboxLimits;
  /** With a sandbox: the lab's services (their aliases on the shared network), connected to the run's network. */
  services?: string[];
}

export class DockerRuntime {
  readonly image: string;
  private networkId?: string;
  /** With a sandbox: the run's own internal network, its gateway (the host, as the container sees it) and the services connected to it. */
  private sandboxNetwork?: { id: string; gateway: string; connected: string[] };
  private client?: ContainerRuntimeClient;
  private readonly containers = new Set<string>();
  private readonly leftoverImages: string[] = [];
  private imageBuilt = false;
  private readonly namespace: string;
  /** Images of rebuilds (ctx.image.rebuild()), removed at dispose(). */
  private readonly extraImages: string[] = [];
  buildMs = 0;

  constructor(private readonly options: DockerRuntimeOptions) {
    this.namespace = options.namespace ?? dockerNamespace();
    this.image = `${this.namespace}/${options.labId}:${options.runId}`;
  }

  /** How to run the same thing by hand (for messages). */
  reproduce(port: number): string {
    const tag = `${this.namespace}-${this.options.labId}`;
    return `docker build -t ${tag} . && docker run --rm -e PORT=${port} -p ${port}:${port} ${tag}`;
  }

  /** Builds the image (and makes sure the shared network exists). Throws BuildFailure or GraderError. */
  async prepare(signal: AbortSignal): Promise<void> {
    const { dir } = this.options;
    if (!existsSync(join(dir, 'Dockerfile'))) {
      throw new BuildFailure(
        `There is no Dockerfile in ${dir}: \`--runtime docker\` builds your project's Dockerfile and runs your server from it. ` +
          'The TypeScript template ships one (templates/typescript/Dockerfile); add yours, or run `labs check` without `--runtime docker`.',
        [],
      );
    }
    this.client = await dockerClient(noDockerForRuntime);
    const client = this.client;
    const network = this.options.sandbox ? this.createSandboxNetwork(client) : ensureSharedNetwork(client, this.namespace);
    await Promise.all([this.build(signal), network.then((id) => (this.networkId = id))]);
  }

  /** An internal network for this run alone; the lab's running services join it under their aliases. */
  private async createSandboxNetwork(client: ContainerRuntimeClient): Promise<string> {
    const docker = client.container.dockerode;
    const name = `${this.namespace}-sandbox-${this.options.runId}`;
    const created = (await docker.createNetwork({ Name: name, Driver: 'bridge', Internal: true, CheckDuplicate: true, Labels: resourceLabels('network', this.namespace, this.options.runId) })) as Dockerode.Network;
    const info = (await created.inspect()) as { IPAM?: { Config?: { Gateway?: string }[] } };
    const gateway = info.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
    this.sandboxNetwork = { id: created.id, gateway: gateway ?? '', connected: [] };
    if (!gateway) throw new Error(`Docker created the network ${name} without a gateway address`);
    const wanted = this.options.services ?? [];
    if (wanted.length > 0) {
      const shared = sharedNetworkName(this.namespace);
      const filters = JSON.stringify({ label: [`${LABEL_NAMESPACE}=${this.namespace}`, `${LABEL_ROLE}=service`], status: ['running'] });
      for (const c of await docker.listContainers({ filters })) {
        const aliases = ((await docker.getContainer(c.Id).inspect()).NetworkSettings.Networks[shared]?.Aliases ?? []).filter((a: string) => wanted.includes(a));
        if (aliases.length === 0) continue;
        await created.connect({ Container: c.Id, EndpointConfig: { Aliases: aliases } });
        this.sandboxNetwork.connected.push(c.Id);
      }
    }
    return created.id;
  }

  private async build(signal: AbortSignal, tag = this.image): Promise<string[]> {
    const docker = this.client!.container.dockerode;
    const t0 = performance.now();
    if (tag === this.image) this.options.onBuild?.('starting');
    const files = contextFiles(this.options.dir);
    const output: string[] = [];
    const timeoutMs = this.options.buildTimeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS;
    const abort = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    const labels = resourceLabels('image', this.namespace, this.options.runId);
    const run = async (version: '1' | '2'): Promise<string | undefined> => {
      const stream = await docker.buildImage(
        { context: this.options.dir, src: files },
        // BuildKit (version 2) keeps its layer cache outside the image, so removing the image after the run
        // still leaves the next build cached. rm/forcerm: the classic builder removes its step containers.
        { t: tag, labels, version, rm: true, forcerm: true, abortSignal: abort } as Dockerode.ImageBuildOptions,
      );
      if (tag === this.image) this.imageBuilt = true; // a tag may exist from here on: dispose() removes it
      else this.extraImages.push(tag);
      let error: string | undefined;
      const reader = buildOutputReader(
        (l) => {
          output.push(l);
          const intermediate = /^ ---> ([0-9a-f]{12,})$/.exec(l);
          if (intermediate) this.leftoverImages.push(intermediate[1]);
        },
        (message) => (error = message),
      );
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          reader.end();
          resolve();
        };
        abort.addEventListener('abort', () => {
          (stream as unknown as { destroy?: () => void }).destroy?.();
          resolve();
        }, { once: true });
        stream.on('data', (chunk: Buffer) => reader.push(chunk.toString('utf8')));
        stream.on('end', done);
        stream.on('close', done);
        stream.on('error', (err: Error) => (abort.aborted ? resolve() : reject(err)));
      });
      return error;
    };
    let error: string | undefined;
    try {
      try {
        error = await run('2');
      } catch (err) {
        if (abort.aborted) throw err;
        // An engine without BuildKit through the API (older Docker, some Podman versions): the classic builder.
        output.push(`(BuildKit build failed: ${(err as Error).message}; retrying with the classic builder)`);
        error = await run('1');
      }
    } catch (err) {
      if (!abort.aborted) throw new BuildFailure(`Docker could not build your Dockerfile: ${(err as Error).message}`, output);
    }
    if (signal.aborted) return output;
    if (abort.aborted) throw new BuildFailure(`Building your Dockerfile took longer than ${Math.round(timeoutMs / 1000)} s.`, output);
    if (error) throw new BuildFailure(`Your Dockerfile did not build: ${error.trim()}`, output);
    const exists = await docker.getImage(tag).inspect().then(() => true, () => false);
    if (!exists) throw new BuildFailure('Docker finished the build but no image came out of it.', output);
    const ms = Math.round(performance.now() - t0);
    if (tag === this.image) {
      this.buildMs = ms;
      this.options.onBuild?.('ready', ms);
    }
    return output;
  }

  private async imageFacts(tag: string): Promise<ImageFacts> {
    const docker = this.client!.container.dockerode;
    const image = docker.getImage(tag);
    const [info, history] = await Promise.all([image.inspect(), image.history() as Promise<{ CreatedBy?: string; Size?: number; Id?: string }[]>]);
    const config = info.Config ?? ({} as Dockerode.ImageInspectInfo['Config']);
    return {
      user: config.User ?? '',
      workingDir: config.WorkingDir ?? '',
      exposedPorts: Object.keys(config.ExposedPorts ?? {}),
      healthcheck: (config as { Healthcheck?: { Test?: string[] } }).Healthcheck?.Test,
      entrypoint: ([] as string[]).concat(config.Entrypoint ?? []),
      cmd: ([] as string[]).concat(config.Cmd ?? []),
      sizeBytes: info.Size,
      layers: info.RootFS?.Layers ?? [],
      history: [...history].reverse().map((h) => ({ createdBy: h.CreatedBy ?? '', sizeBytes: h.Size ?? 0, emptyLayer: (h.Size ?? 0) === 0 })),
    };
  }

  /** ctx.image for this run; `current` is the server the run has now (the container to exec in). */
  imageControl(current: () => ServerInstance): ImageControl {
    const docker = () => this.client!.container.dockerode;
    const container = () => {
      const s = current();
      const id = s instanceof DockerServer ? s.containerId : undefined;
      if (!id) throw new CheckFailure({ message: 'Your container is not running (it exited or was never created), so the grader cannot look inside it.' });
      return docker().getContainer(id);
    };
    return {
      tag: this.image,
      buildMs: this.buildMs,
      facts: () => this.imageFacts(this.image),
      sizeOf: async (ref) => {
        try {
          return (await docker().getImage(ref).inspect()).Size;
        } catch {
          return undefined;
        }
      },
      exec: async (cmd) => {
        const exec = await container().exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
        const stream = await exec.start({ hijack: true, stdin: false });
        const out = new PassThrough();
        const chunks: Buffer[] = [];
        out.on('data', (c: Buffer) => chunks.push(c));
        docker().modem.demuxStream(stream, out, out);
        await new Promise<void>((resolve) => {
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', () => resolve());
        });
        const info = await exec.inspect();
        return { code: info.ExitCode ?? -1, output: Buffer.concat(chunks).toString('utf8') };
      },
      health: async () => {
        const info = await container().inspect();
        return (info.State as { Health?: { Status?: string } }).Health?.Status;
      },
      context: () => contextFiles(this.options.dir),
      rebuild: async () => {
        const tag = `${this.image}-rebuild${this.extraImages.length + 1}`;
        const t0 = performance.now();
        const output = await this.build(AbortSignal.timeout(DEFAULT_BUILD_TIMEOUT_MS), tag).catch((err: unknown) => {
          if (err instanceof BuildFailure) throw new CheckFailure({ message: `Building your project again failed: ${err.message}`, received: err.output.slice(-BUILD_TAIL).join('\n') });
          throw err;
        });
        return { facts: await this.imageFacts(tag), ms: Math.round(performance.now() - t0), output };
      },
    };
  }

  createServer(spec: ServerSpec): ServerInstance {
    if (!this.client || !this.networkId) throw new Error('DockerRuntime.createServer() before prepare()');
    const env: Record<string, string> = {};
    const labKeys = new Set(this.options.labEnvKeys);
    for (const [k, v] of Object.entries(spec.env)) {
      // The host's own environment (PATH, HOME...) stays out of the container: only what the run sets.
      if (v !== undefined && k !== 'PORT' && (labKeys.has(k) || process.env[k] !== v)) env[k] = v;
    }
    return new DockerServer(this.client, {
      image: this.image,
      network: this.networkId,
      port: spec.port,
      env,
      labels: resourceLabels('app', this.namespace, this.options.runId),
      onLine: spec.onLine,
      onCreated: (id) => this.containers.add(id),
      init: this.options.init ?? true,
      sandbox: this.options.sandbox && this.sandboxNetwork ? { limits: this.options.sandbox, gateway: this.sandboxNetwork.gateway } : undefined,
    });
  }

  /** Removes the run's containers and its image (the shared network stays, like the warm services). */
  async dispose(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const docker = client.container.dockerode;
    await Promise.all([...this.containers].map((id) => docker.getContainer(id).remove({ force: true, v: true }).catch(ignoreMissing)));
    this.containers.clear();
    for (const tag of this.extraImages.splice(0)) await docker.getImage(tag).remove({ force: true }).catch(() => {});
    if (this.imageBuilt) {
      await docker.getImage(this.image).remove({ force: true }).catch(ignoreMissing);
      // The classic builder leaves the images of the steps that succeeded when a later step fails.
      for (const id of this.leftoverImages.reverse()) await docker.getImage(id).remove({ force: false }).catch(() => {});
      this.imageBuilt = false;
    }
    if (this.sandboxNetwork) {
      const network = docker.getNetwork(this.sandboxNetwork.id);
      for (const id of this.sandboxNetwork.connected) await network.disconnect({ Container: id, Force: true }).catch(() => {});
      await network.remove().catch(ignoreMissing).catch(() => {});
      this.sandboxNetwork = undefined;
    } else if (this.options.removeNetwork && this.networkId) await removeSharedNetworkIfUnused(client, this.namespace);
  }
}

function ignoreMissing(err: unknown): void {
  const status = dockerStatus(err);
  if (status === 404 || status === 304) return;
  throw err;
}

/** The build context: every file of the project that .dockerignore does not exclude (like `docker build`). */
export function contextFiles(dir: string): string[] {
  const ignoreFile = join(dir, '.dockerignore');
  const patterns = existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '';
  const ig = createIgnore(patterns);
  const hasNegation = patterns.split('\n').some((l) => l.trim().startsWith('!'));
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(rel ? join(dir, rel) : dir, { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!hasNegation && ig.ignores(path)) continue;
        walk(path);
      } else if (!ig.ignores(path)) {
        out.push(path);
      }
    }
  };
  walk('');
  for (const always of ['Dockerfile', '.dockerignore']) if (existsSync(join(dir, always)) && !out.includes(always)) out.push(always);
  return out;
}

// @balena/dockerignore (what testcontainers uses) is CommonJS: loaded with require, on first use.
const require = createRequire(import.meta.url);
function createIgnore(patterns: string): { ignores(path: string): boolean } {
  type Factory = (o?: { ignorecase?: boolean }) => { add(p: string): { ignores(path: string): boolean } };
  const mod = require('@balena/dockerignore') as Factory | { default: Factory };
  const factory = typeof mod === 'function' ? mod : mod.default;
  return factory({ ignorecase: false }).add(patterns);
}

interface DockerServerOptions {
  image: string;
  network: string;
  port: number;
  env: Record<string, string>;
  labels: Record<string, string>;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  onCreated: (id: string) => void;
  init: boolean;
  /** Confined (sandbox.ts): limits, no published port (a forwarder instead), the host at the network's gateway. */
  sandbox?: { limits: SandboxLimits; gateway: string };
}

/** One container of the learner's image: started, watched, stopped and removed like a local process. */
class DockerServer implements ServerInstance {
  private container?: Dockerode.Container;
  private booting?: Promise<void>;
  private exitInfo?: ExitInfo;
  private resolveExit!: (exit: ExitInfo) => void;
  private readonly exitPromise: Promise<ExitInfo>;
  private logsDone: Promise<void> = Promise.resolve();
  private stopping = false;
  private startedAt = 0;
  private listening = false;
  private forwarder?: Forwarder;
  /** The container has exited (its exit is reported once its last lines are read). */
  private gone = false;

  constructor(
    private readonly client: ContainerRuntimeClient,
    private readonly options: DockerServerOptions,
  ) {
    this.exitPromise = new Promise((resolve) => (this.resolveExit = resolve));
  }

  get running(): boolean {
    return this.booting !== undefined && this.exitInfo === undefined && !this.gone;
  }

  get containerId(): string | undefined {
    return this.running ? this.container?.id : undefined;
  }

  start(): void {
    this.startedAt = performance.now();
    this.booting = this.boot().catch((err: unknown) => {
      this.options.onLine('stderr', `[labs] Docker could not start your container: ${(err as Error)?.message ?? String(err)}`);
      this.markExited({ code: null, signal: null });
    });
  }

  private async boot(): Promise<void> {
    const { image, network, port, env, labels, sandbox } = this.options;
    const containerPort = `${port}/tcp`;
    const container = await this.client.container.create({
      Image: image,
      Env: Object.entries({ ...env, PORT: String(port) }).map(([k, v]) => `${k}=${v}`),
      Labels: labels,
      ExposedPorts: { [containerPort]: {} },
      HostConfig: {
        // A sandboxed server publishes nothing: the grader reaches it through its forwarder.
        ...(sandbox ? sandboxHostConfig(sandbox.limits) : { PortBindings: { [containerPort]: [{ HostPort: String(port) }] } }),
        NetworkMode: network,
        // An init process as PID 1 forwards signals and reaps zombies, as on a real host.
        Init: this.options.init,
        // A server the user runs on this machine (LABS_DATABASE_URL=...localhost...) is reached under this name;
        // in a sandbox, the host as its own network's gateway (the one address off that network it can reach).
        ExtraHosts: [`${DOCKER_HOST_ALIAS}:${sandbox ? sandbox.gateway : 'host-gateway'}`],
      },
      NetworkingConfig: { EndpointsConfig: { [network]: {} } },
    });
    this.container = container;
    this.options.onCreated(container.id);
    if (this.stopping) return this.markExited({ code: null, signal: null });
    await this.client.container.start(container);
    this.logsDone = this.followLogs(container);
    void container.wait().then(
      async (r: { StatusCode?: number }) => {
        // Not running from now on (the run starts the next container at once), even while the last lines arrive.
        this.gone = true;
        void this.forwarder?.close();
        // The last lines first (they explain the exit), but a stuck log stream cannot hold the run.
        await Promise.race([this.logsDone, new Promise((res) => setTimeout(res, 1000))]);
        if (sandbox) {
          const state = (await container.inspect().catch(() => undefined))?.State as { OOMKilled?: boolean } | undefined;
          const why = limitExit(state, sandbox.limits);
          if (why) this.options.onLine('stderr', why);
        }
        this.markExited(exitFromStatus(r?.StatusCode));
      },
      () => this.markExited({ code: null, signal: null }),
    );
    if (sandbox) {
      const info = await container.inspect();
      const ip = info.NetworkSettings.Networks[Object.keys(info.NetworkSettings.Networks)[0]!]?.IPAddress;
      if (!ip) throw new Error('the container has no address on its network');
      if (this.exitInfo) return;
      this.forwarder = new Forwarder(port, { host: ip, port });
      await this.forwarder.listen();
      if (this.exitInfo) await this.forwarder.close();
    }
  }

  private async followLogs(container: Dockerode.Container): Promise<void> {
    const stream = (await container.logs({ follow: true, stdout: true, stderr: true })) as unknown as NodeJS.ReadableStream;
    const out = new PassThrough();
    const err = new PassThrough();
    const split = {
      stdout: lineSplitter((l) => this.options.onLine('stdout', l)),
      stderr: lineSplitter((l) => this.options.onLine('stderr', l)),
    };
    out.setEncoding('utf8').on('data', (c: string) => split.stdout.push(c));
    err.setEncoding('utf8').on('data', (c: string) => split.stderr.push(c));
    this.client.container.dockerode.modem.demuxStream(stream, out, err);
    await new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    split.stdout.end();
    split.stderr.end();
  }

  private markExited(exit: ExitInfo): void {
    if (this.exitInfo) return;
    this.exitInfo = exit;
    void this.forwarder?.close(); // the port is free again for the next container of the run
    this.resolveExit(exit);
  }

  exited(): Promise<ExitInfo> {
    return this.booting ? this.exitPromise : Promise.resolve({ code: null, signal: null });
  }

  /**
   * Polls until the server answers. A TCP connect alone proves nothing here: Docker's port proxy accepts
   * connections before the server listens (and then closes them, or holds them while the container's network
   * comes up), so a request is sent and the server counts as listening once bytes come back.
   */
  async waitReady(timeoutMs: number, signal?: AbortSignal): Promise<ReadyOutcome> {
    const deadline = performance.now() + timeoutMs;
    let misplacedSince: number | undefined;
    for (;;) {
      const ms = Math.round(performance.now() - this.startedAt);
      if (signal?.aborted) return { kind: 'aborted' };
      if (this.exitInfo) return { kind: 'exited', exit: this.exitInfo, ms };
      if (this.container && !this.listening) this.listening = await answers(this.options.port);
      if (this.exitInfo) return { kind: 'exited', exit: this.exitInfo, ms };
      if (this.listening) return { kind: 'ready', ms: Math.round(performance.now() - this.startedAt) };
      // Where it listens inside its container (127.0.0.1 only, another port): say so instead of waiting.
      const problem = listenProblem(await this.listeningInside(), this.options.port, reachableFromOutside);
      const now = performance.now();
      if (!problem) misplacedSince = undefined;
      else {
        misplacedSince ??= now;
        if (now - misplacedSince >= MISPLACED_GRACE_MS[problem.kind]) {
          return { kind: 'unreachable', problem, message: describeListenProblem(problem, 'docker'), ms: Math.round(now - this.startedAt) };
        }
      }
      if (now > deadline) return { kind: 'timeout', ms };
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private initPid?: number | null;
  /**
   * The sockets listening in the container's network namespace, read on the host from
   * /proc/<pid of its init>/net/tcp{,6} (Linux, Docker engine on this machine). Empty where that cannot
   * be seen (Docker Desktop's VM, no permission): then only the ready budget remains.
   */
  private async listeningInside(): Promise<ListenSocket[]> {
    if (!this.container || process.platform !== 'linux') return [];
    if (this.initPid === undefined) {
      try {
        const info = (await this.container.inspect()) as { State?: { Pid?: number } };
        const pid = info.State?.Pid;
        if (!pid) return []; // not started yet: ask again next time
        this.initPid = existsSync(`/proc/${pid}/net/tcp`) ? pid : null;
      } catch {
        this.initPid = null;
      }
    }
    // 127.0.0.11 is Docker's embedded DNS server on a user-defined network, not the learner's.
    return this.initPid ? namespaceListening(this.initPid).filter((s) => s.address !== '127.0.0.11') : [];
  }

  async stop(): Promise<ExitInfo> {
    this.stopping = true;
    if (!this.booting) return { code: null, signal: null };
    await this.booting;
    const container = this.container;
    if (container && !this.exitInfo) {
      await container.stop({ t: STOP_GRACE_S }).catch(ignoreMissing).catch(() => {});
      await Promise.race([this.exitPromise, new Promise((r) => setTimeout(r, 10_000))]);
    }
    if (container) await container.remove({ force: true, v: true }).catch(() => {});
    this.markExited({ code: null, signal: 'SIGTERM' });
    return this.exitInfo!;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    if (!this.booting) return { code: null, signal: null };
    await this.booting;
    if (this.container && !this.exitInfo) await this.container.kill({ signal }).catch(() => {});
    this.listening = false;
    return this.exited();
  }
}

/** True once something behind `port` answers a request (any bytes: any HTTP status will do). */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), 2000);
    socket.once('connect', () => (selfConnected(socket) ? finish(false) : socket.write(`HEAD / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)));
    socket.once('data', () => finish(true));
    socket.once('end', () => finish(false));
    socket.once('close', () => finish(false));
    socket.once('error', () => finish(false));
  });
}
