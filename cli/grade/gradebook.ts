// The gradebook of `labs grade`: one record per student (their checks inside), written as JSON (the
// source of truth, what `labs grade merge` reads) and CSV (one row per student and check), and summed up
// as a pass rate per check. Rows are in a fixed order (students by name, checks in the lab's order), so a
// gradebook joined from shards is the same as one run's, durations aside.
import { createHash } from 'node:crypto';
import type { RunResult } from '../../grader/events.ts';
import type { Lab } from '../../grader/types.ts';

/** Why a student lost a check (or the whole run), in a fixed vocabulary instructors can filter on. */
export type ErrorClass =
  | ''
  | 'check-failed'
  | 'check-timeout'
  | 'server-crashed'
  | 'out-of-memory'
  | 'not-run'
  | 'no-start'
  | 'ready-timeout'
  | 'build-failed'
  | 'clone-failed'
  | 'time-limit'
  | 'environment'
  | 'grader-error';

export const ERROR_CLASSES: Record<Exclude<ErrorClass, ''>, string> = {
  'check-failed': 'the server answered, but not as the check requires',
  'check-timeout': 'the check did not finish within its time (no answer, or too slow)',
  'server-crashed': 'the server exited during the check',
  'out-of-memory': 'the server was killed for using more memory than a submission may use',
  'not-run': 'not run: the server could not be brought back after an earlier check',
  'no-start': 'the server exited before it listened, or listened where it cannot be reached',
  'ready-timeout': 'the server did not listen on PORT within the ready budget',
  'build-failed': 'the Dockerfile is missing or did not build',
  'clone-failed': 'the git URL could not be cloned',
  'time-limit': "the submission used up its time budget (--time-limit) and was stopped",
  'environment': 'the grading machine had a problem (Docker), not the submission',
  'grader-error': 'a bug in the grader (please report it), not the submission',
};

/** The marker docker.ts prints when the sandbox's memory limit killed the server (sandbox.ts limitExit). */
const OOM_MARK = 'more than the';
const oomIn = (lines: string[] | undefined) => (lines ?? []).some((l) => l.startsWith('[labs] your server was killed') && l.includes(OOM_MARK));

export type RowStatus = 'pass' | 'fail' | 'skip' | 'error';

export interface CheckRecord {
  check: string;
  status: RowStatus;
  score: number;
  durationMs: number;
  errorClass: ErrorClass;
  /** Why it failed (first line), for the instructor. */
  message?: string;
}

export interface StudentRecord {
  student: string;
  /** The folder or git URL it came from. */
  source: string;
  seed: number;
  status: 'pass' | 'fail' | 'error';
  score: number;
  maxScore: number;
  errorClass: ErrorClass;
  /** Why the checks could not run, when they could not. */
  message?: string;
  durationMs: number;
  /** The server's last lines (what an instructor reads first when it would not start). */
  output: string[];
  checks: CheckRecord[];
}

export interface Gradebook {
  format: 'backend-labs-gradebook';
  version: 1;
  lab: { id: string; title: string };
  checks: { id: string; title: string }[];
  /** "i/N" for a shard's gradebook; absent for a whole class (or a merged one). */
  shard?: string;
  students: StudentRecord[];
}

/** The seed a student is graded with unless --seed is given: fixed per lab and student, so any run replays it. */
export function studentSeed(labId: string, student: string): number {
  return createHash('sha256').update(`${labId}\0${student}`).digest().readUInt32BE(0) & 0x7fffffff;
}

const firstLine = (s: string | undefined) => (s ?? '').split('\n')[0]!.trim();

function runErrorClass(result: RunResult): ErrorClass {
  const m = result.message ?? '';
  if (result.exitCode === 3) return 'environment';
  if (result.exitCode === 4) return 'grader-error';
  if (oomIn(result.serverOutput)) return 'out-of-memory';
  // runtime/docker.ts BuildFailure messages
  if (/^(There is no Dockerfile|Docker could not build|Your Dockerfile did not build|Building your Dockerfile took|Docker finished the build)/.test(m)) return 'build-failed';
  if (/did not listen on port .* within/.test(m)) return 'ready-timeout';
  return 'no-start';
}

function checkErrorClass(c: RunResult['checks'][number]): ErrorClass {
  if (c.status === 'pass') return '';
  if (c.status === 'error') return 'grader-error';
  if (c.status === 'skip') return 'not-run';
  const m = c.failure?.message ?? '';
  if (oomIn(c.serverOutput)) return 'out-of-memory';
  if (m.startsWith('The check did not finish within')) return 'check-timeout';
  if (/^Your server (exited during this check|crashed while handling)/.test(m)) return 'server-crashed';
  return 'check-failed';
}

/** A student's record from a finished run; `stopped`: the run was stopped at the time limit. */
export function studentFromRun(lab: Lab, student: string, source: string, result: RunResult, durationMs: number, stopped?: string): StudentRecord {
  const runClass = result.status === 'error' && !stopped ? runErrorClass(result) : undefined;
  const byId = new Map(result.checks.map((c) => [c.id, c]));
  const checks: CheckRecord[] = lab.checks.map((def) => {
    const c = byId.get(def.id);
    if (stopped && (!c || c.status === 'skip')) return { check: def.id, status: 'fail', score: 0, durationMs: c?.durationMs ?? 0, errorClass: 'time-limit', message: stopped };
    if (runClass) return { check: def.id, status: 'error', score: 0, durationMs: 0, errorClass: runClass, message: firstLine(result.message) };
    if (!c) return { check: def.id, status: 'skip', score: 0, durationMs: 0, errorClass: 'not-run' };
    const errorClass = checkErrorClass(c);
    return { check: def.id, status: c.status, score: c.status === 'pass' ? 1 : 0, durationMs: c.durationMs, errorClass, ...(errorClass ? { message: firstLine(c.failure?.message) } : {}) };
  });
  const score = checks.reduce((s, c) => s + c.score, 0);
  const firstProblem = checks.find((c) => c.errorClass);
  return {
    student,
    source,
    seed: result.seed,
    status: runClass ? 'error' : score === checks.length ? 'pass' : 'fail',
    score,
    maxScore: checks.length,
    errorClass: stopped ? 'time-limit' : runClass ?? firstProblem?.errorClass ?? '',
    ...(runClass || stopped ? { message: stopped ?? result.message } : {}),
    durationMs,
    output: result.serverOutput.slice(-15),
    checks,
  };
}

/** A student whose checks never ran (the clone failed): every check lost with that class. */
export function studentFromError(lab: Lab, student: string, source: string, seed: number, errorClass: ErrorClass, message: string, durationMs: number): StudentRecord {
  return {
    student,
    source,
    seed,
    status: 'error',
    score: 0,
    maxScore: lab.checks.length,
    errorClass,
    message,
    durationMs,
    output: [],
    checks: lab.checks.map((c) => ({ check: c.id, status: 'error', score: 0, durationMs: 0, errorClass, message: firstLine(message) })),
  };
}

export function byStudent(a: StudentRecord, b: StudentRecord): number {
  return a.student < b.student ? -1 : a.student > b.student ? 1 : 0;
}

export function makeGradebook(lab: Pick<Lab, 'id' | 'title' | 'checks'>, students: StudentRecord[], shard?: string): Gradebook {
  return {
    format: 'backend-labs-gradebook',
    version: 1,
    lab: { id: lab.id, title: lab.title },
    checks: lab.checks.map((c) => ({ id: c.id, title: c.title })),
    ...(shard ? { shard } : {}),
    students: [...students].sort(byStudent),
  };
}

export const CSV_COLUMNS = ['student', 'check', 'status', 'score', 'duration_ms', 'seed', 'error_class', 'message'] as const;

function csvField(value: string | number): string {
  const s = String(value);
  // Quoted when needed; a leading =, +, -, @ is defused so a spreadsheet does not run it as a formula.
  const safe = /^[=+\-@\t\r]/.test(s) && typeof value === 'string' ? `'${s}` : s;
  return /[",\n\r]/.test(safe) || safe !== s ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(gb: Gradebook): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const s of gb.students) {
    for (const c of s.checks) lines.push([s.student, c.check, c.status, c.score, c.durationMs, s.seed, c.errorClass, c.message ?? ''].map(csvField).join(','));
  }
  return lines.join('\n') + '\n';
}

export interface CheckSummary {
  id: string;
  title: string;
  passed: number;
  graded: number;
  /** 0..1 (0 when nobody was graded). */
  rate: number;
}

/** Pass rate per check: which checks the class struggles with. */
export function summarize(gb: Gradebook): CheckSummary[] {
  return gb.checks.map((c) => {
    const rows = gb.students.map((s) => s.checks.find((r) => r.check === c.id)).filter((r) => r !== undefined);
    const passed = rows.filter((r) => r.status === 'pass').length;
    return { id: c.id, title: c.title, passed, graded: rows.length, rate: rows.length ? passed / rows.length : 0 };
  });
}

/** The summary table printed at the end of `labs grade` (and `labs grade merge`). */
export function summaryTable(gb: Gradebook): string {
  const rows = summarize(gb);
  const width = Math.max(5, ...rows.map((r) => r.id.length));
  const bar = (rate: number) => '#'.repeat(Math.round(rate * 20)).padEnd(20, '.');
  const lines = [`${'check'.padEnd(width)}  passed   rate  `];
  for (const r of rows) lines.push(`${r.id.padEnd(width)}  ${`${r.passed}/${r.graded}`.padStart(6)}  ${`${Math.round(r.rate * 100)}%`.padStart(4)}  ${bar(r.rate)}`);
  const all = gb.students.filter((s) => s.status === 'pass').length;
  const mean = gb.students.length ? gb.students.reduce((s, x) => s + x.score, 0) / gb.students.length : 0;
  lines.push('', `${gb.students.length} students: ${all} passed every check; mean score ${mean.toFixed(1)}/${gb.checks.length}.`);
  const classes = new Map<string, number>();
  for (const s of gb.students) if (s.errorClass) classes.set(s.errorClass, (classes.get(s.errorClass) ?? 0) + 1);
  if (classes.size) lines.push(`First problem per student: ${[...classes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}.`);
  return lines.join('\n') + '\n';
}

/** Joins shard gradebooks of one lab into one; a student graded in two of them is an error. */
export function mergeGradebooks(books: { name: string; book: Gradebook }[]): Gradebook {
  if (books.length === 0) throw new Error('nothing to merge');
  const first = books[0]!.book;
  const seen = new Map<string, string>();
  const students: StudentRecord[] = [];
  for (const { name, book } of books) {
    if (book.format !== 'backend-labs-gradebook' || book.version !== 1) throw new Error(`${name} is not a gradebook of labs grade (format ${String(book.format)} v${String(book.version)})`);
    if (book.lab.id !== first.lab.id) throw new Error(`${name} grades lab ${book.lab.id}, ${books[0]!.name} grades ${first.lab.id}: merge the gradebooks of one lab`);
    if (book.checks.map((c) => c.id).join() !== first.checks.map((c) => c.id).join()) throw new Error(`${name} has other checks than ${books[0]!.name} (graded by another version of the lab)`);
    for (const s of book.students) {
      const other = seen.get(s.student);
      if (other) throw new Error(`${s.student} is graded in both ${other} and ${name}: were the shards cut from different lists?`);
      seen.set(s.student, name);
      students.push(s);
    }
  }
  return makeGradebook({ id: first.lab.id, title: first.lab.title, checks: first.checks.map((c) => ({ ...c })) as unknown as Lab['checks'] }, students);
}
