import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GraderError } from '../../grader/errors.ts';
import { setFlagsFromString } from 'node:v8';
import { loadLab } from '../../labs/index.ts';
import { loadManifest } from '../../grader/manifest.ts';
import { runLab } from '../../grader/run.ts';
import type { Lab } from '../../grader/types.ts';
import { textReporter } from '../../grader/report/text.ts';
import { toJson } from '../../grader/report/json.ts';
import { shouldColour } from '../../grader/report/colour.ts';
import { saveLastCheck } from '../last-check.ts';
import { recordCheckRun } from '../progress.ts';
import { bufferRun } from '../tui/run-source.ts';
import { canDrawLive } from '../tui/tty.ts';
import { rememberLabStart } from '../early-start.ts';
import { checkRunOptions, type CheckOptions } from './check-options.ts';

export { checkRunOptions, type CheckOptions } from './check-options.ts';

export async function runCheck(opts: CheckOptions, cwd: string): Promise<number> {
  if (opts.watch && opts.junit) {
    throw new GraderError('USAGE', '`--watch` cannot be combined with `--junit`: run `labs check --junit <file>` for one report of one run.');
  }
  if (opts.watch) {
    const { runWatch } = await import('./watch.ts');
    return runWatch(opts, cwd);
  }
  const mark = (what: string) => process.env.LABS_PROFILE && process.stderr.write(`[profile] ${Math.round(performance.now())} ms ${what}\n`);
  mark('runCheck');
  // undici parses HTTP with WebAssembly (llhttp). V8 recompiles it in the background with its optimizing
  // tier, and process exit waits for that job: ~150 ms added to every verdict, for a few dozen requests
  // that the baseline compiler parses just as well. Set before undici compiles it.
  setFlagsFromString('--liftoff-only');
  let run: ReturnType<typeof runLab>;
  let lab: Lab;
  let dir: string;
  const junitFile = opts.junit ? resolve(cwd, opts.junit) : undefined;
  try {
    if (junitFile) checkJunitTarget(opts.junit!, junitFile); // before the run, not after it
    let manifest;
    ({ dir, manifest } = loadManifest(resolve(cwd, opts.dir ?? '.')));
    lab = await loadLab(manifest.lab);
    mark('lab loaded');
    rememberLabStart(lab);
    run = runLab({ ...checkRunOptions(opts, dir, manifest.start, lab), early: opts.early });
  } catch (err) {
    await opts.early?.server.stop(); // a usage error after the early start: leave nothing running
    throw err;
  }
  if (process.env.LABS_PROFILE) {
    run.on((e) => { if (['run-start','server-start','server-ready','run-end','phase'].includes(e.type)) process.stderr.write(`[profile] ${Math.round(performance.now())} ms ${e.type} ${'phase' in e ? e.phase : ''}\n`); });
    process.on('exit', () => process.stderr.write(`[profile] ${Math.round(performance.now())} ms exit\n`));
  }
  // In a terminal: the live view (ink, loaded only here; events are buffered while it loads).
  let view: Promise<void> | undefined;
  if (!opts.json && canDrawLive(process.stdout)) {
    const source = bufferRun(run);
    view = import('../tui/live.ts').then(({ showLive }) => showLive(source, { verbose: opts.verbose }));
  } else if (!opts.json) {
    run.on(textReporter({ write: (t) => process.stdout.write(t), colour: shouldColour(process.stdout), verbose: opts.verbose }));
  }
  // Ctrl-C / SIGTERM: stop the run, tear the server down, then exit. A second Ctrl-C exits at once
  // (the process-exit hook still SIGKILLs the server's process group).
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    if (!opts.json) process.stderr.write(`\nStopping (${sig}): shutting your server down...\n`);
    run.abort(sig === 'SIGINT' ? 'Ctrl-C' : sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await run.result;
    if (opts.json) process.stdout.write(JSON.stringify(toJson(result), null, 2) + '\n');
    await view;
    if (process.env.GITHUB_ACTIONS === 'true') {
      const { githubAnnotations } = await import('../../grader/report/junit.ts');
      // JSON on stdout must stay parseable: annotations go to stderr then (the runner reads both).
      for (const line of githubAnnotations(result)) (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
    }
    if (result.exitCode !== 130) saveLastCheck(dir, result);
    recordCheckRun(lab.id, lab.checks.length, result, dir);
    if (junitFile) {
      const { toJunit } = await import('../../grader/report/junit.ts');
      writeAtomically(opts.junit!, junitFile, toJunit(result));
    }
    return result.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `--junit FILE`: its folder must exist and FILE must not be a folder (a usage error, exit 3, before the run). */
function checkJunitTarget(given: string, file: string): void {
  const folder = dirname(file);
  const kind = (path: string) => {
    try {
      return statSync(path).isDirectory() ? 'folder' : 'file';
    } catch {
      return undefined;
    }
  };
  if (kind(folder) !== 'folder') {
    throw new GraderError('USAGE', `--junit ${given}: the folder ${folder} ${kind(folder) ? 'is a file, not a folder' : 'does not exist'}. Create it, or write the report elsewhere.`);
  }
  if (kind(file) === 'folder') throw new GraderError('USAGE', `--junit ${given}: ${file} is a folder. Give the report a file name, e.g. ${given.replace(/\/+$/, '')}/labs-junit.xml.`);
}

/** Write to a temporary file in the same folder, then rename it over FILE: a reader never sees half a report. */
function writeAtomically(given: string, file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new GraderError('USAGE', `--junit ${given}: could not write the report: ${(err as Error).message}`);
  }
}
