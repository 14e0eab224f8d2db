// `labs solution <lab>`: the reference solution, once the learner has passed the lab (every check in one
// run), or earlier with --force and a warning. Prints the files the solution changes over the starter.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadLab } from '../../labs/index.ts';
import { GraderError } from '../../grader/errors.ts';
import { palette, shouldColour } from '../../grader/report/colour.ts';
import { labStatus, ProgressStore, statusLabel } from '../progress.ts';

function files(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...files(full, base));
    else out.push(relative(base, full));
  }
  return out.sort();
}

export interface SolutionIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export async function runSolution(id: string, opts: { force?: boolean }, partial: Partial<SolutionIO> = {}): Promise<number> {
  const io: SolutionIO = { stdout: process.stdout, stderr: process.stderr, env: process.env, ...partial };
  const lab = await loadLab(id);
  const rec = new ProgressStore({ env: io.env }).record(lab.id);
  const c = palette(shouldColour(io.stdout, io.env));
  const cErr = palette(shouldColour(io.stderr as { isTTY?: boolean }, io.env));
  if (!rec?.passedAt) {
    const status = statusLabel(labStatus(rec, lab.checks.length));
    if (!opts.force) {
      throw new GraderError(
        'USAGE',
        `You have not passed ${lab.id} yet (${status}). The solution unlocks when every check passes in one \`labs check\`: building it yourself is the practice.\n` +
          `Stuck? \`labs hint\` in the lab folder, the Hints in its README, or \`labs check --all\` to see every failing check. To read it anyway: labs solution ${lab.id} --force`,
      );
    }
    io.stderr.write(
      cErr.yellow(`Warning: you have not passed ${lab.id} yet (${status}). Reading the solution now skips the part that teaches; try \`labs hint\` first.\n`),
    );
  }
  const dir = join(lab.dir, 'solution');
  const list = files(dir);
  if (list.length === 0) throw new GraderError('ENVIRONMENT', `${lab.id} has no reference solution in this installation (${dir}).`);
  io.stdout.write(`${c.bold(`Reference solution: ${lab.title}`)} ${c.dim(`(${lab.id}; the files it changes over the starter)`)}\n`);
  for (const file of list) {
    io.stdout.write(`\n${c.cyan(`── ${file} ──`)}\n`);
    const text = readFileSync(join(dir, file), 'utf8');
    io.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }
  const alternatives = existsSync(join(lab.dir, 'alternatives')) ? readdirSync(join(lab.dir, 'alternatives')) : [];
  io.stdout.write(
    `\n${c.dim(`One correct answer among many: any server that passes every check is right.${alternatives.length ? ` Other solutions: ${join(lab.dir, 'alternatives')} (${alternatives.join(', ')}).` : ''}`)}\n`,
  );
  return 0;
}
