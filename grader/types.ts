// The shapes a lab is made of, and what a check sees. Labs are typed data; the engine runs them.
import type { HttpProbe } from './probe/http.ts';
import type { Hosted, HostedHandler } from './probe/hosted.ts';
import type { Random } from './random.ts';
import type { FailureDetails } from './errors.ts';
import type { Pool } from 'pg';
import type { Redis } from 'ioredis';
import type { WsProbe } from './probe/ws.ts';
import type { SseProbe } from './probe/sse.ts';
import type { AmqpAccess } from './services/index.ts';
import type { PgTemplate } from './services/postgres.ts';

export const TRACKS = ['foundations', 'api-design', 'security', 'data', 'async', 'scaling'] as const;
export type Track = (typeof TRACKS)[number];
export const SERVICES = ['postgres', 'redis', 'rabbitmq'] as const;
export type ServiceName = (typeof SERVICES)[number];
export const DIFFICULTIES = ['beginner', 'intermediate', 'advanced'] as const;
export type Difficulty = (typeof DIFFICULTIES)[number];

export interface EnvKnob {
  description: string;
  /** The value the grader gives the server; a function draws it from the run's seed (and may ask for a per-run folder or hosted server). */
  value: string | ((random: Random, run: EnvContext) => string | Promise<string>);
}

/** What an env knob's value function may use besides the seed. */
export interface EnvContext {
  /** A folder made for this run (or `sub`, a sub-folder inside it), empty at start, removed at teardown. */
  tempDir(sub?: string): string;
  /** A grader-side HTTP server on 127.0.0.1, up before the learner's server starts (its URL can be the knob's value); closed at teardown. */
  hostHttp(handler: HostedHandler): Promise<Hosted>;
  /**
   * Where a grader-side server of this run must listen (`bind`) and the host name the learner's server
   * reaches it by (`urlHost`): 127.0.0.1 both, or every interface and the Docker host alias under
   * `--runtime docker`.
   */
  readonly hostAddress: { bind: string; urlHost: string };
  /** Runs `close` at the run's teardown (grader-side servers a lab hosts itself). */
  onTeardown(close: () => Promise<void>): void;
}

export interface CheckDefinition {
  /** kebab-case, unique in the lab; used by --only and in results. */
  id: string;
  title: string;
  /** Budget for this check alone (default 10 s). */
  timeoutMs?: number;
  /** One actionable sentence shown when the check fails. */
  hint: string;
  run(ctx: CheckContext): Promise<void>;
}

export interface LabDefinition {
  id: string;
  title: string;
  track: Track;
  summary: string;
  difficulty: Difficulty;
  estimatedMinutes: number;
  /** Numbers from shared/interview-questions.md. */
  questions: number[];
  services?: ServiceName[];
  /**
   * PostgreSQL options (labs with `services: ['postgres']`). `template`: the run's database starts as a copy of
   * a seeded template (built once per container from its SQL, copied per run; grader/services/postgres.ts).
   */
  postgres?: { template?: PgTemplate };
  /**
   * The learner's processes, when there is more than one (e.g. ['api', 'worker']): the first listens on PORT
   * and is the server the run waits for; labs.json's "start" names a command per role. Default: one process.
   */
  roles?: string[];
  /**
   * Run this many instances of the learner's start command (replicas), each with its own PORT and
   * INSTANCE_ID (1..N), started together; the run is ready when all listen. Instance 1 is ctx.server (and
   * ctx.http's base); ctx.instances drives each; ctx.balancer is the grader's load balancer in front of them.
   */
  replicas?: number;
  /**
   * Put the grader's fault network between the learner's processes (replicas or roles): each process gets
   * PEERS ("2=127.0.0.1:40001,3=127.0.0.1:40002", by instance id or role name), the addresses of proxies the
   * grader controls through ctx.net (partition, heal, delay, drop, reset). Links start up; every check starts
   * with the network healed.
   */
  network?: boolean;
  /**
   * Faults in place while the learner's processes start (a partition during start-up, a slow link...), set on
   * the fault network before the first process is spawned: a node must start and listen without its peers.
   * The network is healed before the first check. A process that does not become ready is reported with these
   * faults named.
   */
  networkAtStart?: (net: NetControl) => void;
  /**
   * The templates a learner may start from (default: every template). A lab whose subject is a given app
   * (containerize) names the one it ships.
   */
  templates?: string[];
  /**
   * 'docker': a lab about the image itself (containerize). Every run builds the learner's Dockerfile and runs
   * the server from it, with no init process of the grader's (the image's own PID 1 gets the signals), and
   * checks can inspect the image (ctx.image).
   */
  runtime?: 'docker';
  env?: Record<string, EnvKnob>;
  /**
   * Commands the learner names in labs.json besides the server (`"commands": {"migrate": "npm run migrate"}`), which
   * checks run to completion with arguments: ctx.command('migrate', ['up']). `start` is what `labs start` writes.
   */
  commands?: Record<string, LabCommand>;
  /** Budget for the server to start listening (default 20 s). */
  readyTimeoutMs?: number;
  /**
   * The engine's `malformed-requests` check (grader/builtin-checks.ts) runs after the lab's own unless this is
   * false (a lab whose server the learner does not write). `paths`: route prefixes where a path parameter starts
   * (e.g. `/items/`), sent with bad percent-escapes after them, besides the usual malformed targets. `before`: the
   * id of a check to run it before (a last check that stops the server, so that it is not started again for this one).
   */
  malformedRequests?: false | { paths?: string[]; before?: string };
  checks: CheckDefinition[];
}

/** A command a lab declares (see LabDefinition.commands). */
export interface LabCommand {
  /** What it does and the arguments checks give it, for the README and `labs info`, e.g. "applies migrations: up [N], down [N]". */
  description: string;
  /** The command `labs start` writes into labs.json (the starter's), e.g. `npm run migrate`. */
  start: string;
}

/** How one run of a lab command ended (ctx.command). */
export interface CommandResult {
  /** The command line as run (labs.json's command and the arguments), e.g. `npm run migrate -- up`. */
  command: string;
  /** null when it was killed (budget) or ended by a signal. */
  exitCode: number | null;
  signal: string | null;
  /** It did not finish within its budget: its process group was killed (SIGTERM, then SIGKILL after 2 s). */
  timedOut: boolean;
  ms: number;
  /** Its output, stdout and stderr lines in the order they came (the last 400). */
  output: string[];
  /**
   * Database connections it left that the grader ended (pg_terminate_backend) after a kill, found by their
   * application_name (the command's PGAPPNAME). Labs with postgres only; 0 otherwise.
   */
  terminatedBackends?: number;
}

export interface CommandOptions {
  /** Budget (default 20 s): then the process group is killed and `timedOut` is true. */
  timeoutMs?: number;
  /** Variables on top of the run's env (DATABASE_URL, the lab's knobs...). */
  env?: Record<string, string>;
}

export interface Lab extends LabDefinition {
  services: ServiceName[];
  env: Record<string, EnvKnob>;
  /** Folder holding lab.ts, README.md, starter/, solution/, mutants/. */
  dir: string;
}

/** One of the learner's processes besides the server (a worker...): ctx.process(role). */
export interface ProcessControl {
  readonly role: string;
  readonly running: boolean;
  readonly pid: number | undefined;
  /** Lines it printed (stdout and stderr), in order. */
  output(): string[];
  /** Resolves with the next line it prints that matches, or undefined after `timeoutMs`. */
  waitForOutput(match: RegExp | ((line: string) => boolean), timeoutMs: number): Promise<string | undefined>;
  /** SIGKILL (a crash; default) or another signal to its process group, and waits for the exit (SIGTERM: up to 10 s, then SIGKILL). */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** Stops it (SIGTERM, then SIGKILL after 2 s) if it runs, and starts it again. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT to its process group: a process that hangs, then goes on. */
  pause(): void;
  resume(): void;
}

/**
 * One replica of the learner's server (labs with `replicas`): ctx.instances[i], i = INSTANCE_ID - 1. Driven like
 * a role's process, except that restart() waits until it listens again, and the grader's balancer skips it
 * while it is paused or stopped.
 */
export interface InstanceControl extends Omit<ProcessControl, 'role'> {
  /** INSTANCE_ID, 1-based. */
  readonly id: number;
  readonly port: number;
  /** http://127.0.0.1:PORT of this instance (give it to ctx.http to talk to it directly). */
  readonly url: string;
}

/** The grader's load balancer in front of the replicas: each request to the next running instance in turn. */
export interface BalancerControl {
  /** http://127.0.0.1:<balancer port> */
  readonly url: string;
  /** Requests sent to each instance since the last resetCounts() (index = INSTANCE_ID - 1). */
  counts(): number[];
  resetCounts(): void;
}

/** ctx.net: the links between the learner's processes. Nodes are instance ids (1, 2, 3) or role names. */
export interface NetControl {
  /** Blackholes every link between the groups (both ways); the grader's own client still reaches every node. */
  partition(...groups: (string | number)[][]): void;
  heal(): void;
  delay(from: string | number, to: string | number, ms: number): void;
  drop(from: string | number, to: string | number): void;
  reset(from: string | number, to: string | number): void;
  /** Requests from `from` still reach `to` (and are acted on); `to`'s answers arrive ms late. */
  delayReplies(from: string | number, to: string | number, ms: number): void;
  /** Requests from `from` still reach `to` (and are acted on); `to`'s answers are swallowed. */
  dropReplies(from: string | number, to: string | number): void;
  /** http://127.0.0.1:port through which the grader's client reaches `node` (a link the grader can also break). */
  clientUrl(node: string | number): string;
  /** Bytes the nodes sent each other through the network so far. */
  peerBytes(): number;
  /** The faults (since `sinceMs`) with their times (ms since the run's network started), one per line. */
  transcript(sinceMs?: number): string;
  /** ms since the run's network started: the clock of `events` (give it to a History so both share a time scale). */
  now(): number;
  readonly events: readonly { at: number; what: string }[];
}

/** What the image is made of, from `docker image inspect` and `docker history`. */
export interface ImageFacts {
  /** Config.User ('' = root). */
  user: string;
  workingDir: string;
  exposedPorts: string[];
  /** Config.Healthcheck.Test, e.g. ['CMD', 'node', 'healthcheck.js'] (undefined: none). */
  healthcheck?: string[];
  entrypoint: string[];
  cmd: string[];
  sizeBytes: number;
  /** Layer digests (RootFS.Layers), base image first. */
  layers: string[];
  /** The build steps, oldest first: the instruction that made each and the bytes it added. */
  history: { createdBy: string; sizeBytes: number; emptyLayer: boolean }[];
}

export interface ImageControl {
  readonly tag: string;
  /** How long the run's build took, in ms. */
  readonly buildMs: number;
  facts(): Promise<ImageFacts>;
  /** Size of another local image (e.g. the base) in bytes, undefined if it is not there. */
  sizeOf(image: string): Promise<number | undefined>;
  /** Runs a command in the running container (as the image's user); its exit code and output. */
  exec(cmd: string[]): Promise<{ code: number; output: string }>;
  /** The running container's health: 'starting' | 'healthy' | 'unhealthy', undefined without a HEALTHCHECK. */
  health(): Promise<string | undefined>;
  /** The files `docker build` sends as context (after .dockerignore), relative to the project. */
  context(): string[];
  /** Builds the project again (after a check changed a file) under another tag; its facts and how long it took. Removed at teardown. */
  rebuild(): Promise<{ facts: ImageFacts; ms: number; output: string[] }>;
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export interface RestartOptions {
  /** Variables to set (string) or remove (undefined) for this start, on top of the lab's env. */
  env?: Record<string, string | undefined>;
  /** Wait until the port answers (default true). */
  waitReady?: boolean;
}

export interface ServerControl {
  readonly port: number;
  readonly url: string;
  /** Lines the server printed since it last started (stdout and stderr, in order). */
  output(): string[];
  /** Resolves with the first line (printed from now on, or already if `includePast`) that matches. */
  waitForOutput(match: RegExp | ((line: string) => boolean), timeoutMs: number, includePast?: boolean): Promise<string | undefined>;
  /** Sends a signal to the whole process group and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** Stops (SIGTERM, then SIGKILL after 2 s) and starts again on the same port. */
  restart(options?: RestartOptions): Promise<void>;
  /** Waits for the running server to exit on its own; undefined if it is still running after `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<ExitInfo | undefined>;
  readonly running: boolean;
  /**
   * Resident memory of the server's whole process group (npm, the shell and what they run), in bytes; undefined
   * where it cannot be read (under --runtime docker, or once it exited).
   */
  rssBytes(): number | undefined;
}

export interface HostControl {
  /** Starts an HTTP server on 127.0.0.1 for this run; closed at teardown. */
  http(handler: HostedHandler): Promise<Hosted>;
}

export interface CheckContext {
  http: HttpProbe;
  random: Random;
  /** The lab env the server was given (after seeding). */
  env: Record<string, string>;
  server: ServerControl;
  host: HostControl;
  signal: AbortSignal;
  sleep(ms: number): Promise<void>;
  /** Runs `n` calls at once and waits for all of them. */
  burst<T>(n: number, fn: (i: number) => Promise<T>): Promise<PromiseSettledResult<T>[]>;
  /** A progress note shown while the check runs. */
  note(message: string): void;
  fail(details: FailureDetails | string): never;
  /**
   * A pg Pool on this run's own PostgreSQL database (the one in the server's DATABASE_URL), for direct reads
   * and for setting up a scenario. Labs that declare `services: ['postgres']` only. Its connections carry
   * `application_name = 'backend-labs-grader'` so a check can leave them out of pg_stat_activity.
   */
  readonly db: Pool;
  /** An ioredis client on this run's own Redis database (the one in REDIS_URL). Labs with `services: ['redis']` only. */
  readonly redis: Redis;
  /** The run's RabbitMQ vhost (labs with `services: ['rabbitmq']`): a channel, and queue counters from the management API. */
  readonly amqp: AmqpAccess;
  /** One of the learner's other processes (labs that declare `roles`), e.g. ctx.process('worker').kill('SIGKILL'). */
  process(role: string): ProcessControl;
  /** The replicas (labs that declare `replicas`), instances[0] being the one ctx.server drives. */
  readonly instances: InstanceControl[];
  /** The grader's load balancer in front of the replicas (labs that declare `replicas`). */
  readonly balancer: BalancerControl;
  /** The fault network between the learner's processes (labs that declare `network: true`). */
  readonly net: NetControl;
  /** The learner's project folder (a check that edits a file must restore it). */
  readonly projectDir: string;
  /** The image the run built from the learner's Dockerfile (labs that declare `runtime: 'docker'`). */
  readonly image: ImageControl;
  /** WebSocket clients on the learner's server (ws://127.0.0.1:PORT); every one still open is closed when the check ends. */
  readonly ws: WsProbe;
  /** Server-Sent Events streams from the learner's server; every one still open is closed when the check ends. */
  readonly sse: SseProbe;
  /**
   * Runs one of the lab's declared commands (labs.json `commands`, else the lab's default) to completion, in the
   * project folder, with the run's env plus PGAPPNAME=`labs-command-<name>-<n>` (so its database connections can
   * be found). Never throws for the command's own failure: read exitCode / timedOut. A command still running at
   * its budget is killed (process group), and under postgres its connections are terminated, so the database is
   * left with nothing of it running. Output lines go to the run's log prefixed `[migrate]`.
   */
  command(name: string, args?: string[], options?: CommandOptions): Promise<CommandResult>;
}
