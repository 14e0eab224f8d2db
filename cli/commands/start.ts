import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import { loadLab } from '../../labs/index.ts';
import { palette, shouldColour } from '../../grader/report/colour.ts';
import { scaffold } from '../scaffold.ts';

export interface StartOptions {
  force?: boolean;
  install: boolean;
  template: string;
}

export async function runStart(id: string, dir: string | undefined, opts: StartOptions, cwd: string): Promise<number> {
  const lab = await loadLab(id);
  const target = resolve(cwd, dir ?? lab.id);
  const result = scaffold({ lab, dir: target, force: opts.force, template: opts.template });
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
  process.stdout.write(
    [
      '',
      'Next:',
      `  cd ${shown}`,
      `  read README.md            the contract your server must meet`,
      `  labs check                grade it (labs check --all runs every check)`,
      '',
    ].join('\n'),
  );
  return 0;
}
