import { resolve } from 'node:path';
import { loadLab } from '../../labs/index.ts';
import { loadManifest } from '../../grader/manifest.ts';
import { selectChecks } from '../../grader/run.ts';
import { palette, shouldColour } from '../../grader/report/colour.ts';
import { readLastCheck } from '../last-check.ts';

export async function runHint(checkId: string | undefined, opts: { dir?: string }, cwd: string): Promise<number> {
  const { dir, manifest } = loadManifest(resolve(cwd, opts.dir ?? '.'));
  const lab = await loadLab(manifest.lab);
  const c = palette(shouldColour(process.stdout));
  let id = checkId;
  let why = '';
  if (!id) {
    const last = readLastCheck(dir);
    id = last?.failed[0] ?? lab.checks[0].id;
    why = last?.failed[0] ? ' (failed in your last `labs check`)' : last ? '' : " (you haven't run `labs check` here yet: this is the first check)";
    if (last && last.failed.length === 0) {
      process.stdout.write(`${c.green('✓')} Every check passed in your last run. Run \`labs hint <check>\` for a specific check.\n`);
      return 0;
    }
  }
  const [check] = selectChecks(lab, [id]);
  process.stdout.write(`${c.bold(check.title)} ${c.dim(`[${check.id}]${why}`)}\n  ${c.yellow('Hint:')} ${check.hint}\n  ${c.dim('More help: the "Hints" section of README.md.')}\n`);
  return 0;
}
