// `labs questions`: the 50 interview questions, the labs that cover each, and which the learner is ready
// for (covered by a lab they passed).
import { loadLabs } from '../../labs/index.ts';
import type { Lab } from '../../grader/types.ts';
import { palette, shouldColour } from '../../grader/report/colour.ts';
import { ProgressStore, readyQuestions, type LabRecord } from '../progress.ts';
import { QUESTIONS } from '../questions.ts';

export interface QuestionRow {
  n: number;
  question: string;
  labs: { id: string; passed: boolean }[];
  ready: boolean;
}

export function questionRows(labs: Lab[], records: Record<string, LabRecord | undefined>): QuestionRow[] {
  const ready = readyQuestions(labs, records);
  return QUESTIONS.map((question, i) => {
    const n = i + 1;
    return {
      n,
      question,
      labs: labs.filter((l) => l.questions.includes(n)).map((l) => ({ id: l.id, passed: Boolean(records[l.id]?.passedAt) })),
      ready: ready.has(n),
    };
  });
}

export function formatQuestions(rows: QuestionRow[], colour: boolean): string {
  const c = palette(colour);
  const width = Math.min(78, Math.max(...rows.map((r) => r.question.length)));
  const lines = rows.map((r) => {
    const mark = r.ready ? c.green('✓') : ' ';
    const text = r.question.length > width ? `${r.question.slice(0, width - 1)}…` : r.question.padEnd(width);
    const labs = r.labs.length ? r.labs.map((l) => (l.passed ? c.green(l.id) : c.cyan(l.id))).join(', ') : c.dim('(no lab yet)');
    return `${mark} ${String(r.n).padStart(2)}. ${text}  ${labs}`;
  });
  const ready = rows.filter((r) => r.ready).length;
  const covered = rows.filter((r) => r.labs.length > 0).length;
  lines.push('');
  lines.push(`${c.bold(`${ready}/${rows.length} ready`)} ${c.dim(`(covered by a lab you passed) · ${covered}/${rows.length} covered by a lab so far`)}`);
  lines.push(c.dim('Pass a lab with `labs check` to be ready for its questions; `labs info <lab>` shows which it covers.'));
  return lines.join('\n');
}

export async function runQuestions(opts: { json?: boolean }): Promise<number> {
  const labs = await loadLabs();
  const records = new ProgressStore().read().labs;
  const rows = questionRows(labs, records);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ready: rows.filter((r) => r.ready).length, total: rows.length, questions: rows }, null, 2) + '\n');
  } else {
    process.stdout.write(formatQuestions(rows, shouldColour(process.stdout)) + '\n');
  }
  return 0;
}
