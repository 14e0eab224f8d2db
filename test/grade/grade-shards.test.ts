// `labs grade` beyond one machine and across a Ctrl-C, as processes of the real CLI: a class given as a CSV
// of name + git URL (local repositories: nothing leaves this machine) is graded once in full (interrupted
// after the first student with SIGINT, then resumed: the finished student is not graded again) and, at the
// same time, as four `--shard i/4` processes; `labs grade merge` of the shards equals the single run,
// durations aside. A few http-basics submissions made from the lab's solution, starter and mutants.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Gradebook } from '../../cli/grade/gradebook.ts';
import { dockerClient, listResources, removeResources } from '../../grader/services/docker.ts';
import { cleanupProjects, listMutants, loadLab, makeProject } from '../helpers/project.ts';

const NAMESPACE = 'labs-test-grade-shards';
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'labs.js');
const root = mkdtempSync(join(tmpdir(), 'labs-grade-shards-'));
const env = { ...process.env, LABS_DOCKER_NAMESPACE: NAMESPACE, TESTCONTAINERS_RYUK_DISABLED: 'true', NO_COLOR: '1' };

afterAll(async () => {
  cleanupProjects();
  rmSync(root, { recursive: true, force: true });
  const client = await dockerClient(() => 'Docker is required for this test');
  await removeResources(client, await listResources(client, NAMESPACE));
}, 120_000);

interface Proc {
  code: Promise<number | null>;
  output: () => string;
  kill: (sig: NodeJS.Signals) => void;
  waitFor: (re: RegExp) => Promise<void>;
}

function labs(args: string[]): Proc {
  const child = spawn('node', [BIN, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const onData = (c: Buffer) => {
    text += c.toString('utf8');
    for (const w of waiters.splice(0)) (w.re.test(text) ? w.resolve() : waiters.push(w));
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const code = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return {
    code,
    output: () => text,
    kill: (sig) => child.kill(sig),
    waitFor: (re) =>
      re.test(text)
        ? Promise.resolve()
        : Promise.race([new Promise<void>((resolve) => waiters.push({ re, resolve })), code.then(() => Promise.reject(new Error(`exited before ${re}:\n${text}`)))]),
  };
}

/** The gradebook without what differs between any two runs: how long things took, and the server output (it names its port). */
function comparable(file: string): unknown {
  const gb = JSON.parse(readFileSync(file, 'utf8')) as Gradebook;
  return { ...gb, students: gb.students.map(({ durationMs: _d, output: _o, checks, ...s }) => ({ ...s, checks: checks.map(({ durationMs: _c, ...c }) => c) })) };
}
const csvWithoutDurations = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(',').filter((_, i) => i !== 4).join(','));

it('four shards as parallel processes, merged, equal one run that was interrupted and resumed', { timeout: 400_000 }, async () => {
  const lab = await loadLab('http-basics');
  const [m1, m2] = listMutants(lab);
  const variants = { ada: 'solution', bob: 'starter', cyd: { mutant: m1! }, dee: { mutant: m2! } } as const;
  const rows = ['name,url'];
  for (const [name, variant] of Object.entries(variants)) {
    const dir = makeProject(lab, variant);
    rmSync(join(dir, 'node_modules'));
    execFileSync('git', ['init', '-q', dir]);
    execFileSync('git', ['-C', dir, 'add', '-A']);
    execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qm', 'submission']);
    rows.push(`${name},${dir}`);
  }
  rows.push(`eve,${join(root, 'no-such-repo')}`); // a URL that cannot be cloned: eve's failure, not the run's
  writeFileSync(join(root, 'class.csv'), rows.join('\n') + '\n');

  // The single run, one at a time, interrupted once its first student is done...
  const single = labs(['grade', '--lab', 'http-basics', 'class.csv', '--out', 'single', '--jobs', '1']);
  // ...while the four shards run side by side.
  const shards = [1, 2, 3, 4].map((i) => labs(['grade', '--lab', 'http-basics', 'class.csv', '--out', `shard-${i}`, '--shard', `${i}/4`, '--jobs', '1']));
  await single.waitFor(/\[1\/5\] \S+/);
  single.kill('SIGINT');
  expect(await single.code, single.output()).toBe(130);
  expect(single.output()).toContain('Run the same command again to grade the rest.');
  const state = readFileSync(join(root, 'single', 'grade-state.jsonl'), 'utf8').trim().split('\n');
  const first = state.slice(1).map((l) => (JSON.parse(l) as { student: string }).student);
  expect(first.length).toBeGreaterThanOrEqual(1);
  expect(existsSync(join(root, 'single', 'gradebook.json'))).toBe(true); // what was finished, already readable

  const again = labs(['grade', '--lab', 'http-basics', 'class.csv', '--out', 'single', '--jobs', '2']);
  expect(await again.code, again.output()).toBe(0);
  expect(again.output()).toContain(`${first.length} already graded`);
  for (const s of first) expect(again.output()).not.toMatch(new RegExp(`\\] ${s}  `)); // not graded twice
  const codes = await Promise.all(shards.map((p) => p.code));
  expect(codes, shards.map((p) => p.output()).join('\n---\n')).toEqual([0, 0, 0, 0]);
  // the slices: every student in exactly one shard (students sorted by name, every 4th)
  const inShard = (i: number) => (JSON.parse(readFileSync(join(root, `shard-${i}`, 'gradebook.json'), 'utf8')) as Gradebook).students.map((s) => s.student);
  expect([1, 2, 3, 4].map(inShard)).toEqual([['ada', 'eve'], ['bob'], ['cyd'], ['dee']]);

  const merge = labs(['grade', 'merge', 'shard-1', 'shard-2/gradebook.json', 'shard-3', 'shard-4', '--out', 'merged']);
  expect(await merge.code, merge.output()).toBe(0);
  expect(merge.output()).toContain('5 students: 1 passed every check');
  expect(comparable(join(root, 'merged', 'gradebook.json'))).toEqual(comparable(join(root, 'single', 'gradebook.json')));
  expect(csvWithoutDurations(join(root, 'merged', 'gradebook.csv'))).toEqual(csvWithoutDurations(join(root, 'single', 'gradebook.csv')));

  const gb = JSON.parse(readFileSync(join(root, 'merged', 'gradebook.json'), 'utf8')) as Gradebook;
  const by = Object.fromEntries(gb.students.map((s) => [s.student, s]));
  expect(by.ada!.score).toBe(10);
  expect(by.bob!.score).toBeLessThan(10);
  expect(by.cyd!.checks.filter((c) => c.status !== 'pass').map((c) => c.check).sort()).toEqual([...m1!.fails].sort());
  expect(by.dee!.checks.filter((c) => c.status !== 'pass').map((c) => c.check).sort()).toEqual([...m2!.fails].sort());
  expect(by.eve!.errorClass).toBe('clone-failed');

  // merging a shard twice is refused
  const twice = labs(['grade', 'merge', 'shard-1', 'shard-1', '--out', 'bad']);
  expect(await twice.code).toBe(3);
  expect(twice.output()).toContain('ada is graded in both');
});
