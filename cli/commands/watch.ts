// `labs check --watch`: re-run the checks on every save in the lab folder; the ink view in a terminal,
// plain text otherwise. The session (cli/watch/session.ts) and the views know nothing of this command.
import { resolve } from 'node:path';
import { GraderError } from '../../grader/errors.ts';
import { loadManifest } from '../../grader/manifest.ts';
import { shouldColour } from '../../grader/report/colour.ts';
import { runLab } from '../../grader/run.ts';
import { loadLab } from '../../labs/index.ts';
import { saveLastCheck } from '../last-check.ts';
import { recordCheckRun } from '../progress.ts';
import { bufferWatch } from '../tui/run-source.ts';
import { canDrawLive, respectNoColor } from '../tui/tty.ts';
import { WatchSession } from '../watch/session.ts';
import { textWatch } from '../watch/text.ts';
import { checkRunOptions, type CheckOptions } from './check-options.ts';

export interface WatchCommandDeps {
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  env?: NodeJS.ProcessEnv;
}

export async function runWatch(opts: CheckOptions, cwd: string, deps: WatchCommandDeps = {}): Promise<number> {
  if (opts.json) throw new GraderError('USAGE', '`--watch` cannot be combined with `--json`: run `labs check --json` for one machine-readable result.');
  const env = deps.env ?? process.env;
  const stdout = deps.stdout ?? process.stdout;
  const stdin = deps.stdin ?? process.stdin;
  const { dir, manifest } = loadManifest(resolve(cwd, opts.dir ?? '.'));
  const lab = await loadLab(manifest.lab);
  const session = new WatchSession({
    dir,
    makeRun: () => runLab(checkRunOptions(opts, dir, manifest.start, lab)),
    onVerdict: (result) => {
      saveLastCheck(dir, result);
      recordCheckRun(lab.id, lab.checks.length, result, dir, { env });
    },
    watcher: { forcePoll: env.LABS_WATCH_POLL === '1' ? 'LABS_WATCH_POLL=1 is set' : undefined },
  });
  let exitCode: number | undefined;
  let lastVerdict: number | undefined;
  session.subscribe((e) => {
    if (e.type === 'verdict') lastVerdict = e.result.exitCode;
  });
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    exitCode = 130;
    void session.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (canDrawLive(stdout, env)) {
      const feed = bufferWatch(session);
      session.start();
      respectNoColor();
      const { renderWatch } = await import('../tui/watch.tsx');
      await renderWatch(feed, {
        stdout,
        stdin,
        interactive: Boolean(stdin.isTTY),
        onQuit: () => void session.stop(),
        onRerun: () => session.rerun(),
      });
    } else {
      textWatch(session, { write: (t) => stdout.write(t), colour: shouldColour(stdout, env), verbose: opts.verbose });
      session.start();
    }
    await session.finished;
    return exitCode ?? lastVerdict ?? 130;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
