// `labs progress`: every lab with the learner's result so far, from the progress file.
import { loadLabs } from '../../labs/index.ts';
import { TRACKS, type Lab } from '../../grader/types.ts';
import { palette, shouldColour, type Palette } from '../../grader/report/colour.ts';
import { labStatus, ProgressStore, readyQuestions, statusLabel, type LabRecord, type LabStatus } from '../progress.ts';
import { QUESTIONS } from '../questions.ts';
import { showDir } from '../tui/format.ts';
import { TRACK_TITLES } from './list.ts';

function paint(status: LabStatus, c: Palette): (s: string) => string {
  switch (status.kind) {
    case 'passed':
      return c.green;
    case 'partial':
      return c.cyan;
    case 'started':
      return c.yellow;
    case 'new':
      return c.dim;
  }
}

function day(iso: string | undefined): string {
  return iso ? iso.slice(0, 10) : '';
}

/** Pads to `width` visible characters (colour codes do not count). */
function pad(text: string, plain: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - plain.length));
}

export function formatProgress(labs: Lab[], records: Record<string, LabRecord | undefined>, options: { colour: boolean; cwd: string; file: string }): string {
  const c = palette(options.colour);
  const idW = Math.max(3, ...labs.map((l) => l.id.length));
  const statusW = Math.max(6, ...labs.map((l) => statusLabel(labStatus(records[l.id], l.checks.length)).length));
  const lines: string[] = [];
  lines.push(c.dim(`${'Lab'.padEnd(idW)}  ${'Status'.padEnd(statusW)}  ${'Best'.padEnd(5)}  ${'Runs'.padStart(4)}  ${'Passed on'.padEnd(10)}  Folder`));
  for (const track of TRACKS) {
    const inTrack = labs.filter((l) => l.track === track);
    if (inTrack.length === 0) continue;
    lines.push(c.bold(TRACK_TITLES[track]));
    for (const lab of inTrack) {
      const rec = records[lab.id];
      const status = labStatus(rec, lab.checks.length);
      const label = statusLabel(status);
      const best = rec?.best ? `${rec.best.passed}/${rec.best.total}` : '';
      lines.push(
        `${pad(c.cyan(lab.id), lab.id, idW)}  ${pad(paint(status, c)(label), label, statusW)}  ${best.padEnd(5)}  ${String(rec?.attempts ?? '').padStart(4)}  ${day(rec?.passedAt).padEnd(10)}  ${rec?.dir ? showDir(rec.dir, options.cwd) : ''}`.trimEnd(),
      );
    }
  }
  const passed = labs.filter((l) => records[l.id]?.passedAt).length;
  const started = labs.filter((l) => records[l.id] && !records[l.id]?.passedAt).length;
  const ready = readyQuestions(labs, records).size;
  lines.push('');
  lines.push(`${c.bold(`${passed} of ${labs.length}`)} labs passed, ${started} in progress · ${c.bold(`${ready}/${QUESTIONS.length}`)} interview questions ready (\`labs questions\`)`);
  lines.push(c.dim(`A lab counts as passed when every one of its checks passes in one \`labs check\`. Progress file: ${options.file}`));
  return lines.join('\n');
}

export async function runProgress(opts: { json?: boolean }, cwd: string): Promise<number> {
  const labs = await loadLabs();
  const store = new ProgressStore();
  const records = store.read().labs;
  if (opts.json) {
    const out = labs.map((lab) => {
      const rec = records[lab.id];
      return { id: lab.id, title: lab.title, track: lab.track, checks: lab.checks.length, status: labStatus(rec, lab.checks.length).kind, ...(rec ?? { attempts: 0 }) };
    });
    process.stdout.write(JSON.stringify({ file: store.file, labs: out, questionsReady: readyQuestions(labs, records).size }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(formatProgress(labs, records, { colour: shouldColour(process.stdout), cwd, file: store.file }) + '\n');
  return 0;
}
