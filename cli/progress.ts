// The learner's progress: one small versioned JSON file in the XDG state directory
// ($XDG_STATE_HOME/backend-labs/progress.json, default ~/.local/state/backend-labs/progress.json).
// Every write is atomic (temp file + rename); a file that cannot be read is moved aside with a message,
// never silently lost or overwritten. Never auto-advances: it only records what happened.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { RunResult } from '../grader/events.ts';

export const PROGRESS_VERSION = 1;
export const PROGRESS_FILE = 'progress.json';

export interface LabRecord {
  /** When the lab was first started (scaffolded, or first checked). */
  startedAt?: string;
  /** The learner's folder for this lab (absolute; the most recent one started or checked). */
  dir?: string;
  /** Every `labs check` run that finished (not interrupted). */
  attempts: number;
  /** The best full run (all of the lab's checks selected): checks passed out of the lab's total. */
  best?: { passed: number; total: number; at: string };
  /** When every check first passed in one run. */
  passedAt?: string;
  /** The most recent run, whatever it selected. */
  last?: { at: string; status: RunResult['status']; passed: number; total: number; failed: string[]; seed: number };
}

export interface Progress {
  version: typeof PROGRESS_VERSION;
  labs: Record<string, LabRecord>;
}

export function emptyProgress(): Progress {
  return { version: PROGRESS_VERSION, labs: {} };
}

/** $XDG_STATE_HOME/backend-labs, or ~/.local/state/backend-labs (a relative XDG_STATE_HOME is ignored, as the spec says). */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'backend-labs');
}

export function progressPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), PROGRESS_FILE);
}

export interface ProgressStoreOptions {
  /** Defaults to progressPath(env). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Where messages about the file go (moved aside, newer version, write failed). */
  warn?: (message: string) => void;
  now?: () => Date;
}

type Parsed = { ok: true; progress: Progress } | { ok: false; reason: string } | { ok: 'newer'; version: number; progress: Progress };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined;
}

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

/** Keeps the fields that have the right type; a stray field never makes the whole file unreadable. */
function normaliseRecord(raw: unknown): LabRecord {
  const r = isRecord(raw) ? raw : {};
  const out: LabRecord = { attempts: count(r.attempts) ?? 0 };
  if (str(r.startedAt)) out.startedAt = str(r.startedAt);
  if (str(r.dir)) out.dir = str(r.dir);
  if (str(r.passedAt)) out.passedAt = str(r.passedAt);
  if (isRecord(r.best) && count(r.best.passed) !== undefined && count(r.best.total) !== undefined && str(r.best.at)) {
    out.best = { passed: r.best.passed as number, total: r.best.total as number, at: r.best.at as string };
  }
  const l = r.last;
  if (isRecord(l) && str(l.at) && ['pass', 'fail', 'error'].includes(l.status as string) && count(l.passed) !== undefined && count(l.total) !== undefined) {
    out.last = {
      at: l.at as string,
      status: l.status as RunResult['status'],
      passed: l.passed as number,
      total: l.total as number,
      failed: Array.isArray(l.failed) ? l.failed.filter((f): f is string => typeof f === 'string') : [],
      seed: count(l.seed) ?? 0,
    };
  }
  return out;
}

export function parseProgress(text: string): Parsed {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not valid JSON (${(err as Error).message})` };
  }
  if (!isRecord(raw)) return { ok: false, reason: 'not a JSON object' };
  if (!Number.isInteger(raw.version)) return { ok: false, reason: 'no `version` number' };
  if (!isRecord(raw.labs)) return { ok: false, reason: '`labs` is not an object' };
  const labs: Record<string, LabRecord> = {};
  for (const [id, rec] of Object.entries(raw.labs)) labs[id] = normaliseRecord(rec);
  const progress: Progress = { version: PROGRESS_VERSION, labs };
  if ((raw.version as number) > PROGRESS_VERSION) return { ok: 'newer', version: raw.version as number, progress };
  if ((raw.version as number) < 1) return { ok: false, reason: `unknown version ${String(raw.version)}` };
  return { ok: true, progress };
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[:.]/g, '-');
}

/** Writes `text` to `file` atomically: a temp file in the same folder, flushed, then renamed over it. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export class ProgressStore {
  readonly file: string;
  private readonly warn: (message: string) => void;
  private readonly now: () => Date;
  /** Set when the file was written by a newer backend-labs: we read it but never overwrite it. */
  private readOnlyReason?: string;
  private warned = new Set<string>();

  constructor(options: ProgressStoreOptions = {}) {
    this.file = options.file ?? progressPath(options.env);
    this.warn = options.warn ?? ((m) => process.stderr.write(`labs: ${m}\n`));
    this.now = options.now ?? (() => new Date());
  }

  private say(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.warn(message);
  }

  /** The progress on disk. A missing file is empty progress; an unreadable one is moved aside (and said so). */
  read(): Progress {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyProgress();
      this.readOnlyReason = `could not read ${this.file} (${(err as Error).message})`;
      this.say(`Your progress file could not be read (${(err as Error).message}); progress will not be saved this time.`);
      return emptyProgress();
    }
    const parsed = parseProgress(text);
    if (parsed.ok === true) return parsed.progress;
    if (parsed.ok === 'newer') {
      this.readOnlyReason = `${this.file} was written by a newer backend-labs (format version ${parsed.version})`;
      this.say(`${this.readOnlyReason}; this version will read it but not change it. Update backend-labs to record progress again.`);
      return parsed.progress;
    }
    const aside = `${this.file}.corrupt-${stamp(this.now())}`;
    try {
      renameSync(this.file, aside);
      this.say(`Your progress file ${this.file} could not be used: ${parsed.reason}. It was moved to ${aside} (nothing deleted) and a new one was started.`);
    } catch (err) {
      this.readOnlyReason = `${this.file} is unreadable and could not be moved aside`;
      this.say(`Your progress file ${this.file} could not be used (${parsed.reason}) and could not be moved aside (${(err as Error).message}); progress will not be saved until you move it.`);
    }
    return emptyProgress();
  }

  /** Reads the file afresh, applies `change`, writes it back atomically. Returns the new progress. */
  update(change: (progress: Progress) => void): Progress {
    const progress = this.read();
    change(progress);
    if (this.readOnlyReason) return progress;
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      writeFileAtomic(this.file, JSON.stringify(progress, null, 2) + '\n');
    } catch (err) {
      this.say(`Could not save your progress to ${this.file}: ${(err as Error).message}`);
    }
    return progress;
  }

  record(labId: string): LabRecord | undefined {
    return this.read().labs[labId];
  }

  /** `labs start` (or Enter in the TUI): the lab now lives in `dir`. */
  recordStart(labId: string, dir: string): LabRecord {
    const at = this.now().toISOString();
    return this.update((p) => {
      const rec = (p.labs[labId] ??= { attempts: 0 });
      rec.startedAt ??= at;
      rec.dir = dir;
    }).labs[labId];
  }

  /** Every finished `labs check` run. `labTotal` is the lab's number of checks (a run with --only is not a full run). */
  recordCheck(labId: string, labTotal: number, result: RunResult, dir: string): LabRecord {
    const at = this.now().toISOString();
    return this.update((p) => {
      const rec = (p.labs[labId] ??= { attempts: 0 });
      applyCheck(rec, labTotal, result, dir, at);
    }).labs[labId];
  }

  /** `labs reset`: the lab starts over in `dir`. */
  recordReset(labId: string, dir: string): LabRecord {
    const at = this.now().toISOString();
    return this.update((p) => {
      p.labs[labId] = { startedAt: at, dir, attempts: 0 };
    }).labs[labId];
  }
}

/** Pure: folds one run into a lab's record. A lab counts as passed only when every one of its checks passed in one run. */
export function applyCheck(rec: LabRecord, labTotal: number, result: RunResult, dir: string, at: string): LabRecord {
  const passed = result.checks.filter((c) => c.status === 'pass').length;
  const full = result.checks.length === labTotal;
  rec.attempts += 1;
  rec.startedAt ??= at;
  rec.dir = dir;
  rec.last = {
    at,
    status: result.status,
    passed,
    total: result.checks.length,
    failed: result.checks.filter((c) => c.status === 'fail' || c.status === 'error').map((c) => c.id),
    seed: result.seed,
  };
  // A best from before the lab changed its number of checks is replaced by the first full run since.
  if (full && (!rec.best || rec.best.total !== labTotal || passed > rec.best.passed)) rec.best = { passed, total: labTotal, at };
  if (full && result.status === 'pass' && passed === labTotal && !rec.passedAt) rec.passedAt = at;
  return rec;
}

export type LabStatus =
  | { kind: 'new' }
  | { kind: 'started' }
  | { kind: 'partial'; passed: number; total: number }
  | { kind: 'passed' };

/** new, started, n of m checks, passed. */
export function labStatus(rec: LabRecord | undefined, total: number): LabStatus {
  if (!rec) return { kind: 'new' };
  if (rec.passedAt) return { kind: 'passed' };
  const passed = Math.max(rec.best?.passed ?? 0, rec.last?.passed ?? 0);
  if (passed > 0) return { kind: 'partial', passed: Math.min(passed, total), total };
  return { kind: 'started' };
}

export function statusLabel(status: LabStatus): string {
  switch (status.kind) {
    case 'new':
      return 'new';
    case 'started':
      return 'started';
    case 'partial':
      return `${status.passed} of ${status.total} checks`;
    case 'passed':
      return 'passed';
  }
}

/** For the CLI paths (plain, JSON, TUI): record a finished run; never turns a verdict into an error. */
export function recordCheckRun(labId: string, labTotal: number, result: RunResult, dir: string, options: ProgressStoreOptions = {}): void {
  if (result.exitCode === 130) return; // interrupted: no verdict to record
  try {
    new ProgressStore(options).recordCheck(labId, labTotal, result, dir);
  } catch (err) {
    (options.warn ?? ((m: string) => process.stderr.write(`labs: ${m}\n`)))(`Could not record this run in your progress: ${(err as Error).message}`);
  }
}

/** The interview questions the learner is ready for: covered by at least one lab they passed. */
export function readyQuestions(labs: { id: string; questions: number[] }[], records: Record<string, LabRecord | undefined>): Set<number> {
  const ready = new Set<number>();
  for (const lab of labs) if (records[lab.id]?.passedAt) for (const q of lab.questions) ready.add(q);
  return ready;
}
