// `labs reset <lab>`: start a lab over. Asks first (or --yes; refuses to guess without a terminal), moves
// the learner's folder aside as a backup, writes a fresh starter in its place, clears the lab's progress.
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { execa } from 'execa';
import { loadLab } from '../../labs/index.ts';
import { GraderError } from '../../grader/errors.ts';
import { findManifest, MANIFEST } from '../../grader/manifest.ts';
import { palette, shouldColour } from '../../grader/report/colour.ts';
import { ProgressStore, labStatus, statusLabel } from '../progress.ts';
import { scaffold } from '../scaffold.ts';
import { showDir } from '../tui/format.ts';

export interface ResetOptions {
  yes?: boolean;
  dir?: string;
  install?: boolean;
}

export interface ResetIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  now: () => Date;
}

function manifestOf(dir: string): { lab?: string; template?: string } | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as { lab?: string; template?: string };
  } catch {
    return undefined;
  }
}

/** <dir>.backup-2025-01-31-1405 (with -2, -3... if taken). */
export function backupPath(dir: string, now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}`;
  let candidate = `${dir}.backup-${stamp}`;
  for (let i = 2; existsSync(candidate); i++) candidate = `${dir}.backup-${stamp}-${i}`;
  return candidate;
}

async function ask(io: ResetIO, question: string): Promise<string> {
  const rl = createInterface({ input: io.stdin, output: io.stdout, terminal: Boolean(io.stdin.isTTY) });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

export async function runReset(id: string, opts: ResetOptions, cwd: string, partial: Partial<ResetIO> = {}): Promise<number> {
  const io: ResetIO = { stdin: process.stdin, stdout: process.stdout, env: process.env, now: () => new Date(), ...partial };
  const c = palette(shouldColour(io.stdout, io.env));
  const out = (line = '') => io.stdout.write(line + '\n');
  const lab = await loadLab(id);
  const store = new ProgressStore({ env: io.env });
  const rec = store.record(lab.id);

  let dir = opts.dir ? resolve(cwd, opts.dir) : rec?.dir;
  if (!dir) {
    const here = findManifest(cwd);
    if (here && manifestOf(dirname(here))?.lab === lab.id) dir = dirname(here);
  }
  if (!dir) {
    throw new GraderError('USAGE', `No folder is known for ${lab.id}: you have not started it (\`labs start ${lab.id}\`). If it lives somewhere else, pass --dir <folder>.`);
  }
  const exists = existsSync(dir);
  const manifest = exists ? manifestOf(dir) : undefined;
  if (exists && manifest?.lab !== lab.id) {
    throw new GraderError(
      'USAGE',
      `${dir} is not a folder of the ${lab.id} lab (${manifest?.lab ? `its ${MANIFEST} is for ${manifest.lab}` : `it has no ${MANIFEST}`}), so it is not touched. Pass --dir with the lab's folder.`,
    );
  }
  const shown = (d: string) => showDir(d, cwd);
  const backup = exists ? backupPath(dir, io.now()) : undefined;
  const status = statusLabel(labStatus(rec, lab.checks.length));

  out(`${c.bold(`Reset ${lab.title}`)} ${c.dim(`(${lab.id})`)}`);
  if (backup) out(`  1. move ${shown(dir)} to ${shown(backup)} ${c.dim('(a backup: your code stays there)')}`);
  else out(`  1. ${shown(dir)} does not exist any more: nothing to back up`);
  out(`  2. write a fresh starter in ${shown(dir)}`);
  out(`  3. clear your progress on this lab ${c.dim(`(now: ${status}${rec?.attempts ? `, ${rec.attempts} run${rec.attempts === 1 ? '' : 's'}` : ''})`)}`);

  if (!opts.yes) {
    if (!io.stdin.isTTY) {
      throw new GraderError('USAGE', '`labs reset` asks before it changes anything, and there is no terminal to ask in. Run it again with --yes to reset without asking.');
    }
    const answer = await ask(io, 'Reset it? [y/N] ');
    if (!/^\s*y(es)?\s*$/i.test(answer)) {
      out('Cancelled: nothing changed.');
      return 1;
    }
  }

  if (backup) renameSync(dir, backup);
  const result = scaffold({ lab, dir, template: manifest?.template });
  // node_modules holds dependencies, not the learner's work: move it back so no reinstall is needed.
  let deps = '';
  if (backup && existsSync(join(backup, 'node_modules'))) {
    renameSync(join(backup, 'node_modules'), join(dir, 'node_modules'));
    deps = ' (node_modules moved over from the backup)';
  } else if (opts.install !== false && existsSync(join(dir, 'package.json'))) {
    out(c.dim('Installing dependencies (npm install)...'));
    const npm = await execa('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'], reject: false });
    deps = npm.exitCode === 0 ? ' (dependencies installed)' : ` (npm install failed with exit ${npm.exitCode}: run it in ${shown(dir)})`;
  }
  store.recordReset(lab.id, result.dir);
  out(`${c.green('✓')} ${lab.id} starts over in ${shown(dir)}: ${result.files.length} starter files${deps}.`);
  if (backup) {
    out(`  Your previous code is in ${shown(backup)}.`);
    out(c.dim(`  To undo: rm -rf ${shown(dir)} && mv ${shown(backup)} ${shown(dir)} (then \`labs check\` there records your progress again)`));
  }
  return 0;
}
