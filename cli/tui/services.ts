// What the home screen does to the world (scaffold, install, run the grader, record progress), behind one
// interface so the view stays a function of state and tests can drive it with temp folders.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { RunResult } from '../../grader/events.ts';
import { MANIFEST } from '../../grader/manifest.ts';
import { runLab, type LabRun } from '../../grader/run.ts';
import { checkRunOptions } from '../commands/check.ts';
import type { Lab } from '../../grader/types.ts';
import { ProgressStore, type LabRecord } from '../progress.ts';
import { saveLastCheck } from '../last-check.ts';
import { scaffold } from '../scaffold.ts';
import { showDir } from './format.ts';
import { parseReadmeHints, type Hint } from './hints.ts';

export { showDir };

export interface StartOutcome {
  dir: string;
  /** Files written (0 when an existing lab folder was adopted). */
  files: number;
  installed: boolean;
  /** The folder already held this lab (labs.json): it was recorded, nothing was written. */
  adopted: boolean;
}

export interface HomeServices {
  cwd: string;
  records(): Record<string, LabRecord>;
  /** Scaffolds the lab into ./<id> (or adopts that folder when it already holds this lab), installs, records "started". */
  start(lab: Lab, onStep: (text: string) => void, signal?: AbortSignal): Promise<StartOutcome>;
  /** `dir` exists and its labs.json names this lab. */
  isLabFolder(dir: string, labId: string): boolean;
  check(lab: Lab, dir: string): LabRun;
  /** Records a finished run (progress + the folder's last-check for `labs hint`). */
  finished(lab: Lab, result: RunResult, dir: string): void;
  readmeHints(lab: Lab): Hint[];
  /** Messages the progress store produced since the last call (file moved aside...). */
  drainWarnings(): string[];
}

export interface ServiceOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Run `npm install` after scaffolding (default: yes, unless LABS_NO_INSTALL=1). */
  install?: boolean;
}

function labOfFolder(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as { lab?: string }).lab;
  } catch {
    return undefined;
  }
}

export function createServices(options: ServiceOptions): HomeServices {
  const env = options.env ?? process.env;
  const warnings: string[] = [];
  const store = new ProgressStore({ env, warn: (m) => warnings.push(m) });
  const install = options.install ?? env.LABS_NO_INSTALL !== '1';
  const hintCache = new Map<string, Hint[]>();
  return {
    cwd: options.cwd,
    records: () => store.read().labs,
    async start(lab, onStep, signal) {
      const target = resolve(options.cwd, lab.id);
      if (existsSync(target) && labOfFolder(target) === lab.id) {
        store.recordStart(lab.id, target);
        return { dir: target, files: 0, installed: false, adopted: true };
      }
      if (existsSync(target) && readdirSync(target).length > 0) {
        throw new Error(`${showDir(target, options.cwd)} already exists and is not empty. Start the lab somewhere else with \`labs start ${lab.id} <folder>\`.`);
      }
      onStep(`Creating ${showDir(target, options.cwd)}`);
      const result = scaffold({ lab, dir: target });
      store.recordStart(lab.id, result.dir);
      let installed = false;
      if (install && existsSync(join(result.dir, 'package.json'))) {
        onStep(`Installing dependencies in ${showDir(result.dir, options.cwd)} (npm install)`);
        const npm = await execa('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: result.dir, reject: false, all: true, cancelSignal: signal });
        if (npm.exitCode !== 0) {
          const tail = String(npm.all ?? '').trim().split('\n').slice(-3).join(' | ');
          throw new Error(`The lab's files are in ${showDir(result.dir, options.cwd)}, but npm install failed (${npm.isCanceled ? 'cancelled' : `exit ${npm.exitCode}`}${tail ? `: ${tail}` : ''}). Run \`npm install\` there.`);
        }
        installed = true;
      }
      return { dir: result.dir, files: result.files.length, installed, adopted: false };
    },
    isLabFolder: (dir, labId) => labOfFolder(dir) === labId,
    check(lab, dir) {
      const manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as { start: string };
      return runLab(checkRunOptions({}, dir, manifest.start, lab));
    },
    finished(lab, result, dir) {
      if (result.exitCode === 130) return;
      saveLastCheck(dir, result);
      try {
        store.recordCheck(lab.id, lab.checks.length, result, dir);
      } catch (err) {
        warnings.push(`Could not record this run in your progress: ${(err as Error).message}`);
      }
    },
    readmeHints(lab) {
      let hints = hintCache.get(lab.id);
      if (!hints) {
        try {
          hints = parseReadmeHints(readFileSync(join(lab.dir, 'README.md'), 'utf8'));
        } catch {
          hints = [];
        }
        hintCache.set(lab.id, hints);
      }
      return hints;
    },
    drainWarnings: () => warnings.splice(0),
  };
}
