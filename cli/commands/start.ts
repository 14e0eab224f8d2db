import { existsSync } from 'node:fs';
import { delimiter, join, relative, resolve, sep } from 'node:path';
import { execa } from 'execa';
import { loadLab } from '../../labs/index.ts';
import { palette, shouldColour } from '../../grader/report/colour.ts';
import { ROOT, scaffold } from '../scaffold.ts';
import { ProgressStore } from '../progress.ts';

export interface StartOptions {
  force?: boolean;
  install: boolean;
  template: string;
}

export async function runStart(id: string, dir: string | undefined, opts: StartOptions, cwd: string): Promise<number> {
  const lab = await loadLab(id);
  const target = resolve(cwd, dir ?? lab.id);
  const result = scaffold({ lab, dir: target, force: opts.force, template: opts.template });
  // Progress: the lab is started, and lives here (the TUI checks it in this folder).
  new ProgressStore().recordStart(lab.id, result.dir);
  const c = palette(shouldColour(process.stdout));
  const shown = relative(cwd, result.dir) || '.';
  process.stdout.write(`${c.green('✓')} Created ${c.bold(lab.title)} in ${shown}/ (${result.files.length} files)\n`);
  if (result.overwritten.length) {
    process.stdout.write(c.yellow(`  Replaced ${result.overwritten.length} existing file(s): ${result.overwritten.join(', ')}\n`));
  }
  if (opts.install && existsSync(join(result.dir, 'package.json'))) {
    process.stdout.write(c.dim(`Installing dependencies (npm install)...\n`));
    const started = performance.now();
    const npm = await execa('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: result.dir, stdio: 'inherit', reject: false });
    if (npm.exitCode !== 0) {
      process.stderr.write(`labs: npm install failed in ${shown} (exit ${npm.exitCode}). Your files are in place; fix the problem above and run \`npm install\` there.\n`);
      return 3;
    }
    process.stdout.write(c.dim(`Dependencies installed in ${((performance.now() - started) / 1000).toFixed(1)} s\n`));
  }
  const labsCmd = labsCommand();
  process.stdout.write(
    [
      '',
      'Next:',
      `  cd ${shown}`,
      `  read README.md            the contract your server must meet`,
      `  ${labsCmd} check${' '.repeat(Math.max(1, 24 - labsCmd.length - 6))}grade it (add --all to run every check)`,
      ...(labsCmd === 'labs' ? [] : ['', c.dim(`Tip: run \`npm link\` once in ${ROOT} to type just \`labs\` anywhere.`)]),
      '',
    ].join('\n'),
  );
  return 0;
}

/** `labs` when it is on the PATH, otherwise an npx command that finds this installation. */
function labsCommand(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'labs')) && !dir.includes(`${sep}node_modules${sep}.bin`)) return 'labs';
  }
  return `npx --prefix ${ROOT} labs`;
}
