// `labs grade` with hostile submissions in one class: a fork bomb, a memory bomb, a disk filler, one that
// copies another submission's answers by proxying to its server, and one that never answers and ignores
// SIGTERM. Each is bounded by the sandbox, recorded as that student's failure with its error class, and
// the honest student next to them is graded normally. The gradebook.html of the run is rendered in headless
// Chromium (Debian's chromium) and read as an instructor would. Needs Docker (fails loudly without it); no
// traffic leaves this machine (the only target is a container on this machine).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runGrade } from '../../cli/commands/grade.ts';
import type { Gradebook, StudentRecord } from '../../cli/grade/gradebook.ts';
import { DockerRuntime } from '../../grader/runtime/docker.ts';
import { DEFAULT_SANDBOX } from '../../grader/runtime/sandbox.ts';
import { freePort } from '../../grader/runtime/ports.ts';
import { dockerClient, listResources, removeResources } from '../../grader/services/docker.ts';
import type { ServerInstance } from '../../grader/runtime/server.ts';
import { cleanupProjects, loadLab, makeProject } from '../helpers/project.ts';

const NAMESPACE = 'labs-test-grade-sandbox';
process.env.LABS_DOCKER_NAMESPACE = NAMESPACE;
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
// A smaller memory limit than the default: the bomb reaches it sooner on a loaded machine.
const MEMORY_MIB = 320;
const TIME_LIMIT_S = 40;
const root = mkdtempSync(join(tmpdir(), 'labs-grade-sandbox-'));

afterAll(async () => {
  cleanupProjects();
  rmSync(root, { recursive: true, force: true });
  const client = await dockerClient(() => 'Docker is required for this test');
  await removeResources(client, await listResources(client, NAMESPACE));
}, 120_000);

function chromium(): string {
  for (const bin of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      execFileSync('which', [bin], { stdio: 'ignore' });
      return bin;
    } catch {
      // next
    }
  }
  throw new Error('Chromium is required for this test (Debian: apt-get install chromium; .ci/run installs it)');
}

/** A submission of one file: a Node server (or a shell command) in node:20-slim, nothing to install. */
function submission(name: string, server: string, cmd = '["node", "server.mjs"]'): void {
  const dir = join(root, 'class', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), `FROM node:20-slim\nWORKDIR /app\nCOPY server.mjs .\nUSER node\nCMD ${cmd}\n`);
  writeFileSync(join(dir, 'server.mjs'), server);
}

const LISTEN_404 = `
import { createServer } from 'node:http';
createServer((req, res) => { res.writeHead(404, { 'content-type': 'application/json' }); res.end('{}'); })
  .listen(Number(process.env.PORT), '0.0.0.0', () => console.log('listening'));
`;

it('bombs, a hang and a copier are each bounded and recorded as their own failure; the honest student passes', { timeout: 300_000 }, async () => {
  const lab = await loadLab('http-basics');

  // "Another submission": a server in the same sandbox (DockerRuntime, the path labs grade uses), up for the whole test.
  const victimDir = makeProject(lab, 'solution');
  const victim = new DockerRuntime({ dir: victimDir, labId: 'victim', runId: 'victim1', labEnvKeys: [], namespace: NAMESPACE, sandbox: DEFAULT_SANDBOX });
  let server: ServerInstance | undefined;
  try {
    await victim.prepare(AbortSignal.timeout(240_000));
    const port = await freePort();
    server = victim.createServer({ command: 'npm start', cwd: victimDir, port, env: {}, onLine: () => {} });
    server.start();
    expect((await server.waitReady(60_000)).kind).toBe('ready');
    const client = await dockerClient(() => 'no Docker');
    const info = await client.container.dockerode.getContainer((server as unknown as { containerId: string }).containerId).inspect();
    const victimIp = Object.values(info.NetworkSettings.Networks)[0]!.IPAddress;
    // The target is real: from the host (the grader's side) the victim answers at that address.
    const fromHost = await fetch(`http://${victimIp}:${port}/health`, { signal: AbortSignal.timeout(5000) });
    expect(fromHost.status).toBe(200);

    const honest = makeProject(lab, 'solution');
    mkdirSync(join(root, 'class'), { recursive: true });
    execFileSync('cp', ['-r', honest, join(root, 'class', 'honest')]);
    submission('fork-bomb', LISTEN_404, `["sh", "-c", "b() { b | b & }; b; sleep 600"]`);
    submission(
      'memory-bomb',
      `const hog = []; console.log('allocating');
setInterval(() => { hog.push(Buffer.alloc(64 * 1024 * 1024, 1)); console.log('held ' + hog.length * 64 + ' MiB'); }, 20);`,
    );
    submission(
      'disk-filler',
      `import { writeFileSync, appendFileSync, readFileSync } from 'node:fs';
const status = readFileSync('/proc/self/status', 'utf8');
console.log('CapEff ' + /CapEff:\\s*(\\w+)/.exec(status)[1] + ' NoNewPrivs ' + /NoNewPrivs:\\s*(\\d)/.exec(status)[1]);
try { writeFileSync('/app/fill', 'x'); console.log('root writable'); } catch (e) { console.log('root: ' + e.code); }
let written = 0; const chunk = Buffer.alloc(1024 * 1024, 120);
try { for (;;) { appendFileSync('/tmp/fill', chunk); written += 1; } } catch (e) { console.log('tmp: ' + e.code + ' after ' + written + ' MiB'); }
${LISTEN_404}`,
    );
    submission(
      'copier',
      `import { createServer, request } from 'node:http';
// Answers every request with what another student's server answers.
createServer((req, res) => {
  const up = request({ host: ${JSON.stringify(victimIp)}, port: ${port}, path: req.url, method: req.method, headers: req.headers, timeout: 1500 }, (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
  up.on('timeout', () => up.destroy(new Error('timeout')));
  up.on('error', (e) => { console.log('copy blocked: ' + e.message); res.writeHead(502); res.end(); });
  req.pipe(up);
}).listen(Number(process.env.PORT), '0.0.0.0', () => console.log('listening'));`,
    );
    submission(
      'never-exits',
      `import { createServer } from 'node:http';
process.on('SIGTERM', () => console.log('SIGTERM ignored'));
// Ready (answers the grader's HEAD probe), then never answers a request.
createServer((req, res) => { if (req.method === 'HEAD') res.end(); })
  .listen(Number(process.env.PORT), '0.0.0.0', () => console.log('listening'));`,
    );

    const out = join(root, 'out');
    const lines: string[] = [];
    const t0 = performance.now();
    const code = await runGrade([join(root, 'class')], { lab: 'http-basics', out, jobs: 3, timeLimit: TIME_LIMIT_S, readyTimeout: 30, memory: MEMORY_MIB }, root, { write: (s) => lines.push(s), tty: false });
    const seconds = (performance.now() - t0) / 1000;
    const log = lines.join('');
    expect(code, log).toBe(0);
    expect(seconds, log).toBeLessThan(240);
    const gb = JSON.parse(readFileSync(join(out, 'gradebook.json'), 'utf8')) as Gradebook;
    const who = (name: string): StudentRecord => gb.students.find((s) => s.student === name)!;
    const say = (name: string) => JSON.stringify(who(name), null, 1);
    expect(gb.students.map((s) => s.student)).toEqual(['copier', 'disk-filler', 'fork-bomb', 'honest', 'memory-bomb', 'never-exits']);
    // a line per finished student (non-TTY), and the summary at the end
    for (const s of gb.students) expect(log).toMatch(new RegExp(`\\[\\d/6\\] ${s.student}  \\d+/10`));
    expect(log).toContain('passed   rate');

    expect(who('honest').status, say('honest')).toBe('pass');
    expect(who('honest').score).toBe(10);

    // fork bomb: stopped at the pids limit (the shell says it cannot fork); its server never starts, so the
    // ready budget or the time limit ends it, whichever comes first on a loaded machine
    expect(who('fork-bomb').status, say('fork-bomb')).not.toBe('pass');
    expect(who('fork-bomb').output.join('\n'), say('fork-bomb')).toContain('Cannot fork');
    expect(['ready-timeout', 'time-limit']).toContain(who('fork-bomb').errorClass);

    // memory bomb: killed by the memory limit, and said so
    expect(who('memory-bomb').errorClass, say('memory-bomb')).toBe('out-of-memory');
    expect(who('memory-bomb').output.join('\n')).toContain(`more than the ${MEMORY_MIB} MiB`);
    const held = Math.max(...who('memory-bomb').output.map((l) => Number(/held (\d+) MiB/.exec(l)?.[1] ?? 0)));
    expect(held).toBeLessThanOrEqual(MEMORY_MIB);

    // disk filler: the root is read-only, /tmp stops at its size; no capability, no new privileges
    const filler = who('disk-filler').output.join('\n');
    expect(filler, say('disk-filler')).toContain('root: EROFS');
    const mib = Number(/tmp: ENOSPC after (\d+) MiB/.exec(filler)?.[1]);
    expect(mib, filler).toBeLessThanOrEqual(DEFAULT_SANDBOX.tmpfsMiB);
    expect(filler).toContain('CapEff 0000000000000000 NoNewPrivs 1');
    expect(who('disk-filler').errorClass).toBe('check-failed');

    // copier: the other submission's network is out of reach, so it passes nothing it copied
    expect(who('copier').score, say('copier')).toBe(0);
    expect(who('copier').output.join('\n')).toMatch(/copy blocked: (timeout|connect )/);

    // never answers, ignores SIGTERM: stopped at the time limit, torn down
    expect(who('never-exits').errorClass, say('never-exits')).toBe('time-limit');
    expect(who('never-exits').durationMs).toBeLessThan((TIME_LIMIT_S + 20) * 1000);

    // nothing of the class is left running
    const left = await listResources(client, NAMESPACE);
    expect(left.containers.filter((c) => c.role === 'app').length, JSON.stringify(left.containers)).toBe(1); // the victim only
    expect(left.networks.length, JSON.stringify(left.networks)).toBe(1); // the victim's

    // gradebook.html in a browser: the chart, the table, each student's failures
    const page = join(out, 'gradebook.html');
    const dom = execFileSync(chromium(), ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `file://${page}`], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
    expect(dom).toContain('<h1>http-basics: 6 students, 1 passed every check</h1>');
    expect(dom).toMatch(/<svg[^>]*aria-label="pass rate per check"/);
    expect(dom.match(/<g class="bar" data-check="[^"]+" data-rate="\d+">/g)?.length).toBe(10);
    expect(dom).toMatch(/<tr class="student" data-student="honest"><td>honest<\/td><td class="score">10\/10<\/td>/);
    expect(dom).toMatch(/<section class="failures" id="s-[0-9a-f]+"><h3>memory-bomb: 0\/10<\/h3>/);
    expect(dom).toContain('out-of-memory');
    expect(dom).not.toMatch(/<section class="failures"[^>]*><h3>honest/);
    const csv = readFileSync(join(out, 'gradebook.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('student,check,status,score,duration_ms,seed,error_class,message');
    expect(csv.length).toBe(1 + 6 * 10);
  } finally {
    await server?.stop();
    await victim.dispose();
  }
});
