// The sandbox of `labs grade`: untrusted code in the `--runtime docker` container, with limits. What it adds
// to a DockerRuntime run (docker.ts applies it; nothing here starts containers of its own):
// - memory (no swap), CPU and pids limits, a read-only root with a small tmpfs at /tmp, every capability
//   dropped, no-new-privileges, a capped log (a server that prints forever cannot fill the disk);
// - its own internal Docker network per run: no published port, no route off it (Docker drops what an
//   internal network forwards), so it reaches its own services (connected to that network under their
//   aliases) and the grader (the host, at the network's gateway), never another submission's network;
// - the grader reaches the server through a forwarder on 127.0.0.1:<port> to <container ip>:<port>, so
//   the run, its probes and its reproductions keep the same address as with `--runtime docker`.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface SandboxLimits {
  /** Memory limit in MiB (swap is not allowed on top of it). */
  memoryMiB: number;
  /** CPUs the container may use (fractions allowed). */
  cpus: number;
  /** Most processes/threads at once (a fork bomb stops there). */
  pids: number;
  /** Size of the writable tmpfs at /tmp in MiB; the rest of the file system is read-only. */
  tmpfsMiB: number;
}

export const DEFAULT_SANDBOX: SandboxLimits = { memoryMiB: 512, cpus: 1, pids: 128, tmpfsMiB: 64 };

const MiB = 1024 * 1024;

/** The container's HostConfig fields that confine it (merged into what docker.ts sets). */
export function sandboxHostConfig(limits: SandboxLimits): Record<string, unknown> {
  return {
    Memory: limits.memoryMiB * MiB,
    MemorySwap: limits.memoryMiB * MiB, // = Memory: no swap on top
    NanoCpus: Math.round(limits.cpus * 1e9),
    PidsLimit: limits.pids,
    ReadonlyRootfs: true,
    Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${limits.tmpfsMiB}m` },
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    Ulimits: [{ Name: 'nofile', Soft: 4096, Hard: 4096 }],
    LogConfig: { Type: 'json-file', Config: { 'max-size': '5m', 'max-file': '1' } },
  };
}

/** Why a sandboxed container ended, when the limits explain it (from `docker inspect`'s State). */
export function limitExit(state: { OOMKilled?: boolean } | undefined, limits: SandboxLimits): string | undefined {
  if (state?.OOMKilled) return `[labs] your server was killed: it used more than the ${limits.memoryMiB} MiB of memory a submission may use`;
  return undefined;
}

/** Listens on 127.0.0.1:<port> and relays each connection to <host>:<port> (the container on its internal network). */
export class Forwarder {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  listen(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target);
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    return server ? new Promise((resolve) => server.close(() => resolve())) : Promise.resolve();
  }
}
