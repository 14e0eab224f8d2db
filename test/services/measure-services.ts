// Not a test: measures what PostgreSQL in a container adds to `labs check` (cold and warm), through the real
// binary with LABS_PROFILE phase timestamps. Run: `npx tsx test/services/measure-services.ts` (Docker needed).
//   warm overhead = (run-start -> server start) of sql-crud minus that of http-basics (no services),
//                   plus the services' share of the teardown
//   cold          = the same after `labs down` (container created, initdb)
import { join } from 'node:path';
import { execa } from 'execa';
import { cleanupProjects, loadLab, makeProject } from '../helpers/project.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'labs.js');
const RUNS = Number(process.env.MEASURE_RUNS ?? 5);
const NAMESPACE = 'labs-measure';

interface Profile {
  wall: number;
  beforeStart: number;
  services: number;
  teardown: number;
}

async function profiled(dir: string, firstCheck: string): Promise<Profile> {
  const t0 = performance.now();
  const r = await execa('node', [BIN, 'check', '--only', firstCheck], {
    cwd: dir,
    reject: false,
    env: { NO_COLOR: '1', LABS_PROFILE: '1', LABS_DOCKER_NAMESPACE: NAMESPACE },
  });
  const wall = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`labs check exited ${r.exitCode}:\n${r.stdout}\n${r.stderr}`);
  const at = (what: RegExp) => {
    const line = r.stderr.split('\n').find((l) => what.test(l));
    if (!line) throw new Error(`no profile line ${what} in:\n${r.stderr}`);
    return Number(/\[profile\] (\d+) ms/.exec(line)![1]);
  };
  const has = (what: RegExp) => r.stderr.split('\n').some((l) => what.test(l));
  const runStart = at(/ run-start/);
  const start = at(/ phase start/);
  const services = has(/ phase services/) ? start - at(/ phase services/) : 0;
  return { wall, beforeStart: start - runStart, services, teardown: at(/ run-end/) - at(/ phase teardown/) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const show = (label: string, ps: Profile[]) =>
  console.log(
    `${label.padEnd(44)} wall ${median(ps.map((p) => p.wall)).toFixed(0).padStart(5)} ms | before server start ${median(ps.map((p) => p.beforeStart)).toFixed(0).padStart(5)} ms (services phase ${median(ps.map((p) => p.services)).toFixed(0).padStart(5)}) | teardown ${median(ps.map((p) => p.teardown)).toFixed(0).padStart(4)} ms`,
  );

const sql = await loadLab('sql-crud');
const http = await loadLab('http-basics');
const sqlDir = makeProject(sql, 'solution');
const httpDir = makeProject(http, 'solution');
try {
  await execa('node', [BIN, 'down'], { env: { LABS_DOCKER_NAMESPACE: NAMESPACE } });
  const cold = await profiled(sqlDir, 'create');
  show('sql-crud, cold (after labs down)', [cold]);
  await profiled(httpDir, 'health'); // warm-up of tsx's cache for http-basics
  const warm: Profile[] = [];
  const none: Profile[] = [];
  for (let i = 0; i < RUNS; i++) {
    warm.push(await profiled(sqlDir, 'create'));
    none.push(await profiled(httpDir, 'health'));
  }
  show(`sql-crud, warm (median of ${RUNS})`, warm);
  show(`http-basics, no services (median of ${RUNS})`, none);
  const added = median(warm.map((p) => p.beforeStart)) - median(none.map((p) => p.beforeStart)) + (median(warm.map((p) => p.teardown)) - median(none.map((p) => p.teardown)));
  console.log(`warm overhead of the services: ${added.toFixed(0)} ms (before the server starts + teardown, vs. a lab without services)`);
  console.log(`cold start of the services phase: ${cold.services.toFixed(0)} ms`);
} finally {
  await execa('node', [BIN, 'down'], { env: { LABS_DOCKER_NAMESPACE: NAMESPACE }, reject: false });
  cleanupProjects();
}
