// Pure formatting for the terminal UI: durations, verdicts, the sections a failure expands into.
// No ink here, so it is cheap to import and unit-tested on its own.
import { homedir } from 'node:os';
import { relative, sep } from 'node:path';
import type { CheckResult, RunResult } from '../../grader/events.ts';
import { describeRequest, describeResponse, toCurl } from '../../grader/probe/exchange.ts';
import { SERVER_PREFIX } from '../../grader/report/text.ts';

/** 850 ms, 1.2 s, 12 s, 2 min 05 s. */
export function formatMs(ms: number): string {
  const n = Math.max(0, Math.round(ms));
  if (n < 1000) return `${n} ms`;
  if (n < 10_000) return `${(n / 1000).toFixed(1)} s`;
  if (n < 60_000) return `${Math.floor(n / 1000)} s`;
  const s = Math.floor(n / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

export type Verdict = 'PASSED' | 'FAILED' | 'COULD NOT RUN' | 'STOPPED' | 'GRADER BUG';

export function verdictOf(result: RunResult): Verdict {
  if (result.status === 'pass') return 'PASSED';
  if (result.status === 'fail') return 'FAILED';
  if (result.exitCode === 130) return 'STOPPED';
  if (result.exitCode === 4) return 'GRADER BUG';
  return 'COULD NOT RUN';
}

export function passedCount(result: RunResult): number {
  return result.checks.filter((c) => c.status === 'pass').length;
}

/** "7 of 9 checks passed · 1.2 s · seed 1234" */
export function summaryLine(result: RunResult): string {
  return `${passedCount(result)} of ${result.checks.length} checks passed · ${formatMs(result.timings.totalMs)} · seed ${result.seed}`;
}

export interface Section {
  /** Shown above the body (empty: the body stands alone). */
  label: string;
  body: string;
  tone: 'message' | 'code' | 'curl' | 'hint' | 'output' | 'bug';
}

/**
 * What a failed check expands into: the message, what was sent, expected and received, the curl
 * reproduction, the hint, and the last lines the learner's server printed.
 */
export function failureSections(r: CheckResult, startCommand = 'npm start', maxServerLines = 10): Section[] {
  if (r.status === 'pass' || r.status === 'skip') return [];
  const out: Section[] = [];
  const f = r.failure;
  if (f) {
    out.push({ label: '', body: f.message, tone: 'message' });
    if (f.exchange) out.push({ label: 'Sent', body: describeRequest(f.exchange.request), tone: 'code' });
    if (f.expected) out.push({ label: 'Expected', body: f.expected, tone: 'code' });
    if (f.received) out.push({ label: 'Received', body: f.received, tone: 'code' });
    else if (f.exchange?.response) out.push({ label: 'Received', body: describeResponse(f.exchange.response), tone: 'code' });
    else if (f.exchange?.error) out.push({ label: 'Received', body: f.exchange.error, tone: 'code' });
    if (f.transcript) out.push({ label: f.transcriptTitle ?? 'Transcript (ms since the first connection; > sent, < received)', body: f.transcript, tone: 'code' });
    if (f.exchange) {
      const port = new URL(f.exchange.request.url).port;
      out.push({ label: `Reproduce (with your server running: ${r.reproduceStart ?? `PORT=${port} ${startCommand}`})`, body: toCurl(f.exchange.request), tone: 'curl' });
    } else if (f.reproduce) {
      const port = /:(\d+)\//.exec(f.reproduce)?.[1];
      out.push({ label: `Reproduce (with your server running: ${r.reproduceStart ?? `PORT=${port ?? '<port>'} ${startCommand}`})`, body: f.reproduce, tone: 'curl' });
    }
  }
  if (r.hint) out.push({ label: 'Hint', body: r.hint, tone: 'hint' });
  if (r.status === 'error') out.push({ label: '', body: 'This is a bug in the grader, not in your code. Please report it with the output above.', tone: 'bug' });
  if (r.serverOutput && r.serverOutput.length > 0) {
    out.push({ label: "Your server's last lines", body: r.serverOutput.slice(-maxServerLines).map((l) => `${SERVER_PREFIX} ${l}`).join('\n'), tone: 'output' });
  }
  return out;
}

/** Which checks changed between two verdicts (watch mode: "now passing", "now failing"). */
export function verdictChanges(before: RunResult | undefined, after: RunResult): { fixed: string[]; broke: string[] } {
  if (!before) return { fixed: [], broke: [] };
  const was = new Map(before.checks.map((c) => [c.id, c.status]));
  const fixed: string[] = [];
  const broke: string[] = [];
  for (const c of after.checks) {
    const prev = was.get(c.id);
    if (c.status === 'pass' && prev !== undefined && prev !== 'pass') fixed.push(c.id);
    if ((c.status === 'fail' || c.status === 'error') && prev === 'pass') broke.push(c.id);
  }
  return { fixed, broke };
}

/** "src/server.ts", "src/a.ts and src/b.ts", "src/a.ts, src/b.ts and 3 more" */
export function describeChanged(files: string[], max = 3): string {
  if (files.length === 0) return 'nothing';
  if (files.length === 1) return files[0];
  if (files.length <= max) return `${files.slice(0, -1).join(', ')} and ${files[files.length - 1]}`;
  return `${files.slice(0, max - 1).join(', ')} and ${files.length - max + 1} more`;
}

/** A folder for display: ./x when inside `cwd`, ~/x under the home folder, else absolute. */
export function showDir(dir: string, cwd: string, home: string = homedir()): string {
  const rel = relative(cwd, dir);
  if (rel === '') return '.';
  if (!rel.startsWith('..') && !rel.startsWith(sep) && !rel.includes(':')) return `./${rel}`;
  return dir === home || dir.startsWith(home + sep) ? `~${dir.slice(home.length)}` : dir;
}
