// What `labs grade` is given: lab folders, a folder of lab folders, or a CSV of name + git URL (cloned into
// the work folder). Each submission gets a student name (the folder's name, or the CSV's); names are unique.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { GraderError } from '../../grader/errors.ts';

export interface Submission {
  student: string;
  /** A folder to grade as it is... */
  dir?: string;
  /** ...or a git URL to clone first. */
  url?: string;
}

const isLabFolder = (dir: string) => existsSync(join(dir, 'labs.json')) || existsSync(join(dir, 'Dockerfile'));

/** A minimal RFC 4180 reader: quoted fields, "" inside quotes, CRLF or LF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

function fromCsv(file: string): Submission[] {
  const rows = parseCsv(readFileSync(file, 'utf8'));
  const header = rows[0]?.map((f) => f.trim().toLowerCase());
  const hasHeader = header !== undefined && header.includes('name') && (header.includes('url') || header.includes('repo'));
  const nameAt = hasHeader ? header.indexOf('name') : 0;
  const urlAt = hasHeader ? Math.max(header.indexOf('url'), header.indexOf('repo')) : 1;
  return rows.slice(hasHeader ? 1 : 0).map((r, i) => {
    const student = r[nameAt]?.trim();
    const url = r[urlAt]?.trim();
    if (!student || !url) throw new GraderError('USAGE', `${file}, row ${i + (hasHeader ? 2 : 1)}: expected a name and a git URL (columns: name,url), got ${JSON.stringify(r)}.`);
    return { student, url };
  });
}

/** The submissions named on the command line, in the order given; throws a usage error on a bad argument or a repeated name. */
export function resolveSubmissions(args: string[], cwd: string): Submission[] {
  const out: Submission[] = [];
  for (const arg of args) {
    const path = resolve(cwd, arg);
    if (!existsSync(path)) throw new GraderError('USAGE', `${arg}: no such file or folder.`);
    if (statSync(path).isFile()) {
      if (!/\.csv$/i.test(path)) throw new GraderError('USAGE', `${arg}: expected a folder or a .csv file of name,url rows.`);
      out.push(...fromCsv(path));
    } else if (isLabFolder(path)) {
      out.push({ student: basename(path), dir: path });
    } else {
      // A folder of submissions: every sub-folder that is a lab folder.
      const subs = readdirSync(path, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.') && isLabFolder(join(path, d.name)));
      if (subs.length === 0) throw new GraderError('USAGE', `${arg}: neither a lab folder (labs.json or Dockerfile) nor a folder of lab folders.`);
      out.push(...subs.map((d) => ({ student: d.name, dir: join(path, d.name) })));
    }
  }
  const seen = new Set<string>();
  for (const s of out) {
    if (seen.has(s.student)) throw new GraderError('USAGE', `Two submissions are named "${s.student}": names identify students in the gradebook, so they must be unique.`);
    seen.add(s.student);
  }
  return out;
}

/** The deterministic slice `--shard i/N` (1-based) grades: students sorted by name, every N-th from the i-th. */
export function shardOf<T extends { student: string }>(all: T[], shard: { index: number; count: number } | undefined): T[] {
  const sorted = [...all].sort((a, b) => (a.student < b.student ? -1 : a.student > b.student ? 1 : 0));
  return shard ? sorted.filter((_, i) => i % shard.count === shard.index - 1) : sorted;
}

export function parseShard(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new GraderError('USAGE', `--shard ${value}: expected i/N with 1 <= i <= N, e.g. --shard 1/4 (Kubernetes: $((JOB_COMPLETION_INDEX+1))/N).`);
  return { index, count };
}

/** A file-system-safe folder name for a student. */
export const safeName = (student: string) => student.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || '_';

/**
 * Clones a submission's URL into `into` (replacing a half-finished clone from an interrupted run). Only
 * transports that cannot run commands (no ext::), no prompt for a password, no submodules, one commit.
 */
export function cloneSubmission(url: string, into: string, signal: AbortSignal, timeoutMs = 120_000): Promise<void> {
  rmSync(into, { recursive: true, force: true });
  return new Promise((resolvePromise, reject) => {
    execFile(
      'git',
      ['-c', 'protocol.ext.allow=never', 'clone', '--quiet', '--depth', '1', '--no-recurse-submodules', '--', url, into],
      { signal, timeout: timeoutMs, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ALLOW_PROTOCOL: 'file:https:http:ssh:git' } },
      (err, _stdout, stderr) => {
        if (!err) return resolvePromise();
        const why = String(stderr).trim().split('\n').filter((l) => !/^warning:/.test(l)).pop() || (err as Error).message;
        reject(new Error(`git clone ${url} failed: ${why}`));
      },
    );
  });
}
