// `labs check` with services and `--runtime docker` through the real binary: no Docker (exit 3, two ways
// out, no stack trace), a Dockerfile that does not build (exit 2 with its output), `labs down`, `labs doctor`,
// and Ctrl-C / SIGTERM in every phase leaving no container, network, image, database or process behind.
// Needs Docker (and root for `unshare -m`, which hides the Docker socket): it fails loudly without them.
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerClient, listResources, removeResources } from '../../grader/services/docker.ts';
import { cleanupProjects, loadLab, makeProject } from '../helpers/project.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'labs.js');
const NAMESPACES = ['labs-test-cli', 'labs-test-int-a', 'labs-test-int-b', 'labs-test-int-c', 'labs-test-int-d', 'labs-test-int-e', 'labs-test-build'];
const STACK_LINE = /^\s+at .+[:(]\d+:\d+\)?$/m;
const homes: string[] = [];

function env(namespace: string, extra: Record<string, string> = {}): Record<string, string> {
  return { NO_COLOR: '1', LABS_DOCKER_NAMESPACE: namespace, XDG_STATE_HOME: join(tmpdir(), 'labs-test-state'), ...extra };
}

function labs(args: string[], cwd: string, vars: Record<string, string>) {
  return execa('node', [BIN, ...args], { cwd, env: vars, reject: false, all: true, timeout: 240_000 });
}

/** Runs `labs` with the Docker socket hidden (a mount namespace binds /dev/null over it), DOCKER_HOST unset. */
function labsWithoutDocker(args: string[], cwd: string) {
  const home = mkdtempSync(join(tmpdir(), 'labs-nodocker-home-'));
  homes.push(home);
  const script = 'if [ -e /var/run/docker.sock ]; then mount --bind /dev/null /var/run/docker.sock || exit 97; fi; exec "$@"';
  const vars: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', HOME: home, DOCKER_HOST: undefined, XDG_RUNTIME_DIR: undefined, XDG_STATE_HOME: join(home, 'state') };
  return execa('unshare', ['-m', 'sh', '-c', script, 'sh', 'node', BIN, ...args], { cwd, env: vars, extendEnv: false, reject: false, all: true, timeout: 120_000 });
}

async function resources(namespace: string) {
  return listResources(await dockerClient(() => 'Docker is required for this test'), namespace);
}

afterAll(async () => {
  cleanupProjects();
  for (const h of homes) rmSync(h, { recursive: true, force: true });
  const client = await dockerClient(() => 'Docker is required for this test');
  for (const ns of NAMESPACES) await removeResources(client, await listResources(client, ns));
}, 120_000);

/** Processes whose working directory is inside `dir` (a learner's server left running would be one). */
function processesIn(dir: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readlinkSync(`/proc/${pid}/cwd`).startsWith(dir)) out.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/** Starts `labs check`, sends `signal` when a line matching `when` appears, and resolves with the outcome. */
async function interrupt(cwd: string, args: string[], vars: Record<string, string>, when: RegExp, signal: NodeJS.Signals) {
  const child: ResultPromise = execa('node', [BIN, 'check', ...args], { cwd, env: vars, reject: false, all: true, timeout: 240_000 });
  let seen = '';
  let sentAt = 0;
  child.all?.setEncoding('utf8');
  child.all?.on('data', (chunk: string) => {
    seen += chunk;
    if (!sentAt && when.test(seen)) {
      sentAt = performance.now();
      child.kill(signal);
    }
  });
  const result = await child;
  return { result, output: seen, sent: sentAt > 0, exitMs: sentAt ? performance.now() - sentAt : undefined };
}

describe('labs check with services, labs down, labs doctor', () => {
  it('grades sql-crud with PostgreSQL in a warm container; labs down removes it; a second labs down has nothing to do', { timeout: 240_000 }, async () => {
    const lab = await loadLab('sql-crud');
    const dir = makeProject(lab, 'solution');
    const check = await labs(['check'], dir, env('labs-test-cli'));
    expect(check.exitCode, check.all).toBe(0);
    expect(check.all).toMatch(/postgres ready in \d+ ms/);
    expect(check.all).toMatch(/PASSED (\d+) of \1 checks passed/);
    const warm = await resources('labs-test-cli');
    expect(warm.containers.map((c) => `${c.name} ${c.state}`)).toEqual(['labs-test-cli-postgres running']);

    const down = await labs(['down'], dir, env('labs-test-cli'));
    expect(down.exitCode, down.all).toBe(0);
    expect(down.all).toContain('removed container labs-test-cli-postgres');
    expect(down.all).toContain('removed network labs-test-cli-net');
    expect(await resources('labs-test-cli')).toEqual({ containers: [], networks: [], images: [] });
    const again = await labs(['down'], dir, env('labs-test-cli'));
    expect(again.exitCode, again.all).toBe(0);
    expect(again.all).toContain('Nothing to stop');
  });

  it('labs doctor reports Node, the Docker engine, the images and free disk', { timeout: 60_000 }, async () => {
    const r = await labs(['doctor'], ROOT, env('labs-test-cli'));
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/✓ Node \d+\.\d+\.\d+ \(needs 20\.11 or newer\)/);
    expect(r.all).toMatch(/✓ Docker engine \S+ answers/);
    expect(r.all).toMatch(/postgres:16-alpine is present locally/);
    expect(r.all).toMatch(/redis:7-alpine is present locally/);
    expect(r.all).toMatch(/✓ [\d.]+ [GM]B free for your home folder/);
  });

  it('a Dockerfile that does not build: exit 2 with the build\'s own output, and no image left', { timeout: 240_000 }, async () => {
    const lab = await loadLab('http-basics');
    const dir = makeProject(lab, 'solution');
    const token = `broken-${Date.now()}`;
    // The step prints `step output <token>`, a text that is not in the command itself: only the build's output shows it.
    const dockerfile = readFileSync(join(dir, 'Dockerfile'), 'utf8').replace('WORKDIR /app\n', `WORKDIR /app\nRUN printf 'step output %s\\n' ${token} && exit 7\n`);
    writeFileSync(join(dir, 'Dockerfile'), dockerfile);
    const r = await labs(['check', '--runtime', 'docker'], dir, env('labs-test-build'));
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toContain('Your Dockerfile did not build');
    expect(r.all).toContain(`step output ${token}`);
    expect(r.all).toMatch(/exit code: 7/);
    expect(r.all).not.toMatch(STACK_LINE);
    const left = await resources('labs-test-build');
    expect(left.images).toEqual([]);
    expect(left.containers).toEqual([]);
  });
});

describe('no Docker', () => {
  it('a lab with services: exit 3, what is missing and the two ways out, never a stack trace', { timeout: 120_000 }, async () => {
    const lab = await loadLab('sql-crud');
    const dir = makeProject(lab, 'solution');
    const r = await labsWithoutDocker(['check'], dir);
    expect(r.exitCode, r.all).toBe(3);
    expect(r.all).toContain('This lab needs PostgreSQL, which `labs check` runs in Docker containers, but no Docker engine answered');
    expect(r.all).toContain('Start Docker');
    expect(r.all).toContain('LABS_DATABASE_URL=postgres://user:password@localhost:5432/postgres labs check');
    expect(r.all).not.toContain('Could not find a working container runtime strategy');
    expect(r.all).not.toMatch(STACK_LINE);

    const json = await labsWithoutDocker(['check', '--json'], dir);
    expect(json.exitCode, json.all).toBe(3);
    const body = JSON.parse(json.stdout) as { status: string; exit_code: number; message: string };
    expect(body).toMatchObject({ status: 'error', exit_code: 3 });
    expect(body.message).toContain('LABS_DATABASE_URL=');
  });

  it('--runtime docker: exit 3 with its own two ways out; the local runtime needs no Docker at all', { timeout: 120_000 }, async () => {
    const lab = await loadLab('http-basics');
    const dir = makeProject(lab, 'solution');
    const r = await labsWithoutDocker(['check', '--runtime', 'docker'], dir);
    expect(r.exitCode, r.all).toBe(3);
    expect(r.all).toContain('`labs check --runtime docker` builds your Dockerfile and runs your server in a container, but no Docker engine answered');
    expect(r.all).toContain('Run `labs check` without `--runtime docker`');
    expect(r.all).not.toMatch(STACK_LINE);
    const local = await labsWithoutDocker(['check'], dir);
    expect(local.exitCode, local.all).toBe(0);
  });

  it('labs doctor says Docker is missing (exit 3); labs down says it cannot see any container (exit 3)', { timeout: 60_000 }, async () => {
    const doctor = await labsWithoutDocker(['doctor'], ROOT);
    expect(doctor.exitCode, doctor.all).toBe(3);
    expect(doctor.all).toContain('✓ Node');
    expect(doctor.all).toContain('✗ No Docker engine answers');
    const down = await labsWithoutDocker(['down'], ROOT);
    expect(down.exitCode, down.all).toBe(3);
    expect(down.all).toContain('No Docker engine answered');
    expect(down.all).not.toMatch(STACK_LINE);
  });
});

describe('Ctrl-C and SIGTERM leave nothing behind', () => {
  const nothing = { containers: [], networks: [], images: [] };

  it('Ctrl-C while PostgreSQL starts (nothing kept warm): exit 130, no container or network left', { timeout: 240_000 }, async () => {
    const lab = await loadLab('sql-crud');
    const dir = makeProject(lab, 'solution');
    const { result, output, sent } = await interrupt(dir, [], env('labs-test-int-a', { LABS_KEEP_SERVICES: '0' }), /Starting postgres/, 'SIGINT');
    expect(sent, output).toBe(true);
    expect(result.exitCode, output).toBe(130);
    expect(output).not.toMatch(/Starting your server/);
    expect(await resources('labs-test-int-a')).toEqual(nothing);
    expect(processesIn(dir)).toEqual([]);
  });

  it('SIGTERM during docker build: exit 130 at once, the build is cancelled, no image, container or network left', { timeout: 240_000 }, async () => {
    const lab = await loadLab('http-basics');
    const dir = makeProject(lab, 'solution');
    const token = `slow-step-${Date.now()}`;
    writeFileSync(join(dir, 'Dockerfile'), readFileSync(join(dir, 'Dockerfile'), 'utf8').replace('WORKDIR /app\n', `WORKDIR /app\nRUN echo ${token} && sleep 60\n`));
    const { result, output, sent, exitMs } = await interrupt(dir, ['--runtime', 'docker'], env('labs-test-int-b', { LABS_KEEP_SERVICES: '0' }), /Starting docker build/, 'SIGTERM');
    expect(sent, output).toBe(true);
    expect(result.exitCode, output).toBe(130);
    expect(exitMs, output).toBeLessThan(15_000);
    // The engine stops the build when the grader hangs up: its `sleep 60` is gone and no image ever appears.
    const deadline = performance.now() + 10_000;
    let running = true;
    while (running && performance.now() < deadline) {
      const ps = await execa('ps', ['-eo', 'args'], { reject: false });
      running = ps.stdout.includes(token);
      if (running) await new Promise((r) => setTimeout(r, 250));
    }
    expect(running, `a build step of the interrupted run is still running (${token})`).toBe(false);
    expect(await resources('labs-test-int-b')).toEqual(nothing);
  });

  it('Ctrl-C while the container starts (--runtime docker): exit 130, no container, image or network left', { timeout: 240_000 }, async () => {
    const lab = await loadLab('http-basics');
    const dir = makeProject(lab, 'solution');
    const { result, output, sent } = await interrupt(dir, ['--runtime', 'docker'], env('labs-test-int-e', { LABS_KEEP_SERVICES: '0' }), /Starting your server/, 'SIGINT');
    expect(sent, output).toBe(true);
    expect(result.exitCode, output).toBe(130);
    expect(output).not.toMatch(/✓ \[1\//);
    expect(await resources('labs-test-int-e')).toEqual(nothing);
  });

  it('Ctrl-C during the checks with --runtime docker (nothing kept warm): exit 130, no container, image or network left', { timeout: 240_000 }, async () => {
    const lab = await loadLab('sql-crud');
    const dir = makeProject(lab, 'solution');
    const { result, output, sent } = await interrupt(dir, ['--runtime', 'docker'], env('labs-test-int-c', { LABS_KEEP_SERVICES: '0' }), /✓ \[1\/\d+\]/, 'SIGINT');
    expect(sent, output).toBe(true);
    expect(result.exitCode, output).toBe(130);
    expect(await resources('labs-test-int-c')).toEqual(nothing);
  });

  it('Ctrl-C during the checks (local runtime, services kept warm): no process left, the run\'s database dropped, only the warm container stays', { timeout: 240_000 }, async () => {
    const lab = await loadLab('sql-crud');
    const dir = makeProject(lab, 'solution');
    const { result, output, sent } = await interrupt(dir, [], env('labs-test-int-d'), /✓ \[1\/\d+\]/, 'SIGINT');
    expect(sent, output).toBe(true);
    expect(result.exitCode, output).toBe(130);
    expect(processesIn(dir)).toEqual([]);
    const left = await resources('labs-test-int-d');
    expect(left.containers.map((c) => `${c.name} ${c.role} ${c.state}`)).toEqual(['labs-test-int-d-postgres service running']);
    expect(left.images).toEqual([]);
    // The warm server holds no database of the interrupted run.
    const client = await dockerClient(() => 'Docker is required for this test');
    const info = await client.container.dockerode.getContainer('labs-test-int-d-postgres').inspect();
    const port = info.NetworkSettings.Ports['5432/tcp']?.[0]?.HostPort;
    const admin = new pg.Client({ connectionString: `postgres://labs:labs@localhost:${port}/postgres` });
    await admin.connect();
    try {
      // (labs__spare is the next run's database, made ahead and empty: no run's data)
      const { rows } = await admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'labs\\_%' AND datname <> 'labs__spare'");
      expect(rows).toEqual([]);
    } finally {
      await admin.end();
    }
  });
});

it('the static import graph of `labs check` does not reach testcontainers, pg or ioredis (labs without services never load them)', () => {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
      const spec = m[1];
      if (spec.startsWith('.')) visit(join(file, '..', spec));
      else if (!spec.startsWith('node:')) packages.add(spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/'));
    }
  };
  visit(join(ROOT, 'cli', 'commands', 'check.ts'));
  expect(seen.has(join(ROOT, 'grader', 'run.ts'))).toBe(true);
  expect([...packages].filter((p) => /^(testcontainers|@testcontainers\/.*|pg|ioredis|dockerode)$/.test(p))).toEqual([]);
});
