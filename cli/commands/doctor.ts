// `labs doctor`: is this machine ready for the labs? Node version, the Docker engine (labs with services and
// `--runtime docker` need it), the service images, free disk, and what is kept running between runs.
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { GraderError } from '../../grader/errors.ts';
import { palette, shouldColour } from '../../grader/report/colour.ts';
import { dockerClient, dockerNamespace, listResources, redactUrl } from '../../grader/services/docker.ts';
import { IMAGES } from '../../grader/services/images.ts';
import { EXTERNAL_URL_ENV } from '../../grader/services/service.ts';
import { EXIT } from '../exit.ts';

const LOW_DISK_BYTES = 2 * 1024 ** 3;

function gb(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${Math.round(bytes / 1024 ** 2)} MB`;
}

/** The `engines.node` floor of this package, e.g. ">=20.11" -> [20, 11]. */
function nodeFloor(): [number, number] {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines?: { node?: string } };
    const m = /(\d+)(?:\.(\d+))?/.exec(pkg.engines?.node ?? '');
    if (m) return [Number(m[1]), Number(m[2] ?? 0)];
  } catch {
    // fall through
  }
  return [20, 0];
}

function freeBytes(path: string): number | undefined {
  try {
    const s = statfsSync(path);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

export async function runDoctor(): Promise<number> {
  const c = palette(shouldColour(process.stdout));
  const ok = (s: string) => `${c.green('✓')} ${s}`;
  const bad = (s: string) => `${c.red('✗')} ${s}`;
  const warn = (s: string) => `${c.yellow('!')} ${s}`;
  const info = (s: string) => `${c.dim('·')} ${s}`;
  const lines: string[] = [c.bold('labs doctor')];
  let failed = false;

  // Node
  const [major, minor] = process.versions.node.split('.').map(Number);
  const [needMajor, needMinor] = nodeFloor();
  if (major > needMajor || (major === needMajor && minor >= needMinor)) lines.push(ok(`Node ${process.versions.node} (needs ${needMajor}.${needMinor} or newer)`));
  else {
    failed = true;
    lines.push(bad(`Node ${process.versions.node} is too old: backend-labs needs Node ${needMajor}.${needMinor} or newer (https://nodejs.org).`));
  }

  // Docker
  const byo = Object.entries(EXTERNAL_URL_ENV).filter(([, v]) => process.env[v]);
  let dockerRoot: string | undefined;
  try {
    const client = await dockerClient(() => 'no Docker engine answered');
    const rt = client.info.containerRuntime;
    lines.push(ok(`Docker engine ${rt.serverVersion} answers (${rt.operatingSystem}, ${rt.cpus} CPUs, ${gb(rt.memory)} memory)`));
    const docker = client.container.dockerode;
    const dockerInfo = (await docker.info().catch(() => ({}))) as { DockerRootDir?: string };
    dockerRoot = dockerInfo.DockerRootDir;
    for (const [key, image] of Object.entries(IMAGES)) {
      const use = key === 'node' ? '`labs check --runtime docker` with the TypeScript template' : key === 'python' ? '`labs check --runtime docker` with the Python template' : `labs with ${key}`;
      const found = (await docker.getImage(image).inspect().catch(() => undefined)) as { Size?: number } | undefined;
      if (found) lines.push(ok(`${image} is present locally (${gb(found.Size ?? 0)}), for ${use}`));
      else lines.push(warn(`${image} is not present locally: the first run of ${use} pulls it (needs the network; or \`docker pull ${image}\` now)`));
    }
    const namespace = dockerNamespace();
    const res = await listResources(client, namespace);
    const warm = res.containers.filter((k) => k.role === 'service');
    const leftovers = res.containers.filter((k) => k.role !== 'service').length + res.images.length;
    if (warm.length) lines.push(info(`Kept warm between runs: ${warm.map((k) => `${k.name} (${k.state})`).join(', ')}; \`labs down\` stops them`));
    if (leftovers) lines.push(warn(`${leftovers} container(s)/image(s) left by an interrupted run: \`labs down\` removes them`));
  } catch (err) {
    if (!(err instanceof GraderError)) throw err;
    failed = true;
    lines.push(
      bad(
        'No Docker engine answers (looked at DOCKER_HOST, /var/run/docker.sock and the rootless Docker sockets).\n' +
          '  Labs without services run without it. For PostgreSQL/Redis labs, start Docker (Docker Desktop, or `sudo systemctl start docker`),\n' +
          `  or use servers you run: ${EXTERNAL_URL_ENV.postgres}=postgres://user:password@localhost:5432/postgres, ${EXTERNAL_URL_ENV.redis}=redis://localhost:6379.`,
      ),
    );
  }
  for (const [service, variable] of byo) lines.push(info(`${variable} is set: ${service} runs on ${redactUrl(process.env[variable]!)} instead of a container`));

  // Disk
  const places: [string, string][] = [['your home folder', homedir()], ['the temp folder', tmpdir()]];
  if (dockerRoot && existsSync(dockerRoot)) places.push(['Docker', dockerRoot]);
  for (const [what, path] of places) {
    const free = freeBytes(path);
    if (free === undefined) continue;
    if (free < LOW_DISK_BYTES) lines.push(warn(`Only ${gb(free)} free for ${what} (${path}): images and npm installs need a few GB`));
    else lines.push(ok(`${gb(free)} free for ${what} (${path})`));
  }

  process.stdout.write(lines.join('\n') + '\n');
  return failed ? EXIT.usage : EXIT.pass;
}
