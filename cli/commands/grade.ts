// `labs grade --lab <id> <submissions...>`: a whole class at once. Every submission is untrusted code and
// runs through the `--runtime docker` path with the sandbox (grader/runtime/sandbox.ts): limits, read-only
// root, no capabilities, its own internal network. Results go to a gradebook (JSON, CSV, HTML) in the output
// folder, next to a state file that makes the run resumable: a student recorded there is not graded again.
// `labs grade merge <gradebooks...>` joins the gradebooks of `--shard i/N` runs.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GraderError } from '../../grader/errors.ts';
import { loadLab } from '../../labs/index.ts';
import { runLab, type LabRun } from '../../grader/run.ts';
import { DEFAULT_SANDBOX, type SandboxLimits } from '../../grader/runtime/sandbox.ts';
import type { Lab } from '../../grader/types.ts';
import { EXIT } from '../exit.ts';
import { capacity } from '../grade/capacity.ts';
import { makeGradebook, mergeGradebooks, studentFromError, studentFromRun, studentSeed, summaryTable, toCsv, type Gradebook, type StudentRecord } from '../grade/gradebook.ts';
import { toHtml } from '../grade/html.ts';
import { cloneSubmission, parseShard, resolveSubmissions, safeName, shardOf, type Submission } from '../grade/submissions.ts';

export interface GradeOptions {
  lab: string;
  out?: string;
  jobs?: number;
  shard?: string;
  seed?: number;
  /** Seconds one submission may take, build to teardown. */
  timeLimit?: number;
  readyTimeout?: number;
  memory?: number;
  cpus?: number;
  pids?: number;
  /** Forget the state file and grade everyone again. */
  fresh?: boolean;
  /** Where CSV submissions are cloned (default <out>/work). */
  work?: string;
}

export const DEFAULT_TIME_LIMIT_S = 300;
/** Grading is not interactive and runs many servers at once: a server gets longer to start than with `labs check` (20 s). */
export const DEFAULT_GRADE_READY_S = 60;
const STATE_FILE = 'grade-state.jsonl';

interface StateHeader {
  state: 'labs-grade';
  lab: string;
  shard: string | null;
  seed: number | null;
}

/** Writes to a temporary file and renames it over the target: a reader never sees half a gradebook. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export function writeGradebook(out: string, gb: Gradebook): void {
  mkdirSync(out, { recursive: true });
  writeAtomically(join(out, 'gradebook.json'), JSON.stringify(gb, null, 2) + '\n');
  writeAtomically(join(out, 'gradebook.csv'), toCsv(gb));
  writeAtomically(join(out, 'gradebook.html'), toHtml(gb));
}

/** The students a previous run of the same grading (lab, shard, seed) finished; a state file of another grading is refused. */
function loadState(file: string, header: StateHeader): Map<string, StudentRecord> {
  const done = new Map<string, StudentRecord>();
  if (!existsSync(file)) return done;
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  const parse = (l: string) => {
    try {
      return JSON.parse(l) as unknown;
    } catch {
      return undefined; // the last line of a run killed mid-write
    }
  };
  const first = parse(lines[0] ?? '') as Partial<StateHeader> | undefined;
  if (!first || first.state !== 'labs-grade' || first.lab !== header.lab || first.shard !== header.shard || first.seed !== header.seed) {
    throw new GraderError(
      'USAGE',
      `${file} belongs to another grading (${first ? `lab ${first.lab}, shard ${first.shard ?? 'all'}, seed ${first.seed ?? 'per student'}` : 'unreadable'}). ` +
        'Use another --out folder, or --fresh to grade everyone again.',
    );
  }
  for (const l of lines.slice(1)) {
    const rec = parse(l) as StudentRecord | undefined;
    if (rec && typeof rec.student === 'string' && Array.isArray(rec.checks)) done.set(rec.student, rec);
  }
  return done;
}

interface Progress {
  started(student: string): void;
  finished(rec: StudentRecord, index: number): void;
  end(): void;
}

/** A line per finished student; in a terminal also a bar with the count and who is running, redrawn below them. */
function progress(total: number, already: number, tty: boolean, write: (s: string) => void): Progress {
  const running = new Set<string>();
  let done = already;
  const width = String(total).length;
  const bar = () => {
    if (!tty) return;
    const filled = total ? Math.round((done / total) * 30) : 30;
    const names = [...running].slice(0, 4).join(', ') + (running.size > 4 ? ', ...' : '');
    write(`\r\x1b[K[${'#'.repeat(filled)}${'-'.repeat(30 - filled)}] ${done}/${total}${running.size ? `  grading: ${names}` : ''}`);
  };
  return {
    started(student) {
      running.add(student);
      bar();
    },
    finished(rec) {
      running.delete(rec.student);
      done++;
      const lost = rec.checks.filter((c) => c.status !== 'pass').map((c) => c.check);
      const what = rec.status === 'pass' ? 'pass' : `${rec.errorClass}${lost.length && lost.length < rec.maxScore ? `: ${lost.join(', ')}` : ''}`;
      write(`${tty ? '\r\x1b[K' : ''}[${String(done).padStart(width)}/${total}] ${rec.student}  ${rec.score}/${rec.maxScore}  ${(rec.durationMs / 1000).toFixed(1)} s  ${what}\n`);
      bar();
    },
    end() {
      if (tty) write('\r\x1b[K');
    },
  };
}

export async function runGrade(submissionArgs: string[], opts: GradeOptions, cwd: string, io: { write: (s: string) => void; tty: boolean } = { write: (s) => process.stdout.write(s), tty: Boolean(process.stdout.isTTY) }): Promise<number> {
  if (submissionArgs.length === 0) throw new GraderError('USAGE', 'labs grade: name the submissions (folders, a folder of folders, or a CSV of name,url).');
  const lab = await loadLab(opts.lab);
  if ((lab.replicas ?? 1) > 1 || (lab.roles?.length ?? 0) > 1) {
    throw new GraderError('USAGE', `labs grade runs each submission as one container (the --runtime docker path); lab ${lab.id} runs several processes (${lab.replicas ? `${lab.replicas} replicas` : lab.roles!.join(', ')}), which that path does not support yet.`);
  }
  const shard = opts.shard ? parseShard(opts.shard) : undefined;
  const shardText = shard ? `${shard.index}/${shard.count}` : undefined;
  const all = resolveSubmissions(submissionArgs, cwd);
  const mine = shardOf(all, shard);
  const out = resolve(cwd, opts.out ?? `grades-${lab.id}`);
  const work = resolve(cwd, opts.work ?? join(out, 'work'));
  const limits: SandboxLimits = {
    ...DEFAULT_SANDBOX,
    ...(opts.memory !== undefined ? { memoryMiB: opts.memory } : {}),
    ...(opts.cpus !== undefined ? { cpus: opts.cpus } : {}),
    ...(opts.pids !== undefined ? { pids: opts.pids } : {}),
  };
  const jobs = opts.jobs && opts.jobs > 0 ? opts.jobs : capacity(limits).jobs;
  const timeLimitMs = (opts.timeLimit && opts.timeLimit > 0 ? opts.timeLimit : DEFAULT_TIME_LIMIT_S) * 1000;

  // No Docker: say so once (exit 3) rather than once per student.
  const { dockerClient, noDockerForRuntime } = await import('../../grader/services/docker.ts');
  await dockerClient(noDockerForRuntime);

  mkdirSync(out, { recursive: true });
  const stateFile = join(out, STATE_FILE);
  const header: StateHeader = { state: 'labs-grade', lab: lab.id, shard: shardText ?? null, seed: opts.seed ?? null };
  if (opts.fresh) rmSync(stateFile, { force: true });
  const done = loadState(stateFile, header);
  if (!existsSync(stateFile)) writeFileSync(stateFile, JSON.stringify(header) + '\n');
  const records = new Map<string, StudentRecord>();
  for (const s of mine) {
    const rec = done.get(s.student);
    if (rec) records.set(s.student, rec);
  }
  const queue = mine.filter((s) => !records.has(s.student));
  io.write(
    `Grading ${lab.id}: ${mine.length} submission${mine.length === 1 ? '' : 's'}${shard ? ` (shard ${shardText} of ${all.length})` : ''}` +
      `${records.size ? `, ${records.size} already graded (${STATE_FILE})` : ''}, ${jobs} at a time; ` +
      `each in a container: ${limits.memoryMiB} MiB, ${limits.cpus} CPU, ${limits.pids} pids, ${Math.round(timeLimitMs / 1000)} s.\n`,
  );

  const bar = progress(mine.length, records.size, io.tty, io.write);
  const active = new Set<LabRun>();
  const stop = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    io.write(`\nStopping (${sig}): the running submissions are torn down; the finished ones are kept in ${stateFile}.\n`);
    stop.abort();
    for (const run of active) run.abort(sig === 'SIGINT' ? 'Ctrl-C' : sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const gradeOne = async (s: Submission): Promise<StudentRecord | undefined> => {
    const t0 = performance.now();
    const seed = opts.seed ?? studentSeed(lab.id, s.student);
    const source = s.dir ?? s.url!;
    let dir = s.dir;
    if (!dir) {
      dir = join(work, safeName(s.student));
      mkdirSync(work, { recursive: true });
      try {
        await cloneSubmission(s.url!, dir, stop.signal);
      } catch (err) {
        if (stop.signal.aborted) return undefined;
        return studentFromError(lab, s.student, source, seed, 'clone-failed', (err as Error).message, Math.round(performance.now() - t0));
      }
    }
    return gradeFolder(lab, s.student, source, dir, seed, limits, timeLimitMs, opts.readyTimeout ?? DEFAULT_GRADE_READY_S, active, t0);
  };

  try {
    let next = 0;
    const worker = async () => {
      while (!stop.signal.aborted && next < queue.length) {
        const s = queue[next++]!;
        bar.started(s.student);
        const rec = await gradeOne(s);
        if (!rec || stop.signal.aborted) continue; // interrupted: graded again next time
        records.set(rec.student, rec);
        appendFileSync(stateFile, JSON.stringify(rec) + '\n');
        bar.finished(rec, records.size);
      }
    };
    await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, queue.length)) }, worker));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    bar.end();
  }
  const gb = makeGradebook(lab, [...records.values()], shardText);
  writeGradebook(out, gb);
  io.write(`\n${summaryTable(gb)}`);
  if (stop.signal.aborted) {
    io.write(`\nInterrupted: ${records.size} of ${mine.length} graded. Run the same command again to grade the rest.\nGradebook so far: ${join(out, 'gradebook.html')}\n`);
    return 130;
  }
  io.write(`\nGradebook: ${join(out, 'gradebook.csv')}, gradebook.json, gradebook.html\n`);
  return EXIT.pass;
}

/** One submission folder, sandboxed, every check run; stopped at the time limit. */
async function gradeFolder(lab: Lab, student: string, source: string, dir: string, seed: number, limits: SandboxLimits, timeLimitMs: number, readyTimeout: number | undefined, active: Set<LabRun>, t0: number): Promise<StudentRecord | undefined> {
  let startCommand = 'npm start';
  try {
    const raw = JSON.parse(readFileSync(join(dir, 'labs.json'), 'utf8')) as { start?: unknown };
    if (typeof raw.start === 'string') startCommand = raw.start;
  } catch {
    // no labs.json: the Dockerfile says how the server starts anyway
  }
  const run = runLab({ lab, dir, startCommand, seed, all: true, sandbox: limits, readyTimeoutMs: readyTimeout !== undefined ? readyTimeout * 1000 : undefined });
  active.add(run);
  let stopped: string | undefined;
  const timer = setTimeout(() => {
    stopped = `Stopped after the time limit of ${Math.round(timeLimitMs / 1000)} s for one submission (--time-limit).`;
    run.abort('time limit');
  }, timeLimitMs);
  try {
    const result = await run.result;
    if (result.exitCode === 130 && !stopped) return undefined; // Ctrl-C
    return studentFromRun(lab, student, source, result, Math.round(performance.now() - t0), stopped);
  } finally {
    clearTimeout(timer);
    active.delete(run);
  }
}

/** `labs grade merge`: gradebook.json files (or the folders holding them) into one gradebook. */
export async function runGradeMerge(inputs: string[], opts: { out?: string }, cwd: string, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  if (inputs.length === 0) throw new GraderError('USAGE', 'labs grade merge: name the gradebooks to join (gradebook.json files or the folders holding them).');
  const books = inputs.map((arg) => {
    let file = resolve(cwd, arg);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'gradebook.json');
    if (!existsSync(file)) throw new GraderError('USAGE', `${arg}: no gradebook.json there.`);
    try {
      return { name: arg, book: JSON.parse(readFileSync(file, 'utf8')) as Gradebook };
    } catch (err) {
      throw new GraderError('USAGE', `${arg}: not a JSON gradebook (${(err as Error).message}).`);
    }
  });
  let gb: Gradebook;
  try {
    gb = mergeGradebooks(books);
  } catch (err) {
    throw new GraderError('USAGE', `labs grade merge: ${(err as Error).message}.`);
  }
  const out = resolve(cwd, opts.out ?? `grades-${gb.lab.id}`);
  writeGradebook(out, gb);
  write(`${summaryTable(gb)}\nMerged ${books.length} gradebooks (${gb.students.length} students): ${join(out, 'gradebook.csv')}, gradebook.json, gradebook.html\n`);
  return EXIT.pass;
}
