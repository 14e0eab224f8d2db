// `labs check --watch` in a pipe or CI: each run with the text reporter, framed by what changed.
import type { RunResult } from '../../grader/events.ts';
import { palette } from '../../grader/report/colour.ts';
import { textReporter } from '../../grader/report/text.ts';
import { describeChanged, formatMs, verdictChanges } from '../tui/format.ts';
import type { WatchEvent } from './events.ts';

/** What the text view needs of a session. */
export interface WatchFeed {
  subscribe(listener: (e: WatchEvent) => void): () => void;
}

/** Plain output for a pipe or CI: each run with the text reporter, framed by what changed. */
export function textWatch(
  session: WatchFeed,
  options: { write: (text: string) => void; colour: boolean; verbose?: boolean },
): () => void {
  const c = palette(options.colour);
  const out = (line = '') => options.write(line + '\n');
  let last: RunResult | undefined;
  return session.subscribe((e) => {
    switch (e.type) {
      case 'watching':
        out(`${c.bold('Watching')} ${e.dir} ${c.dim(e.mode === 'events' ? '(file events; node_modules and build output ignored)' : '(polling)')}`);
        if (e.mode === 'poll' && e.reason) out(c.yellow(`! Polling for changes: ${e.reason}.`));
        out(c.dim('Saving a file runs the checks again. Ctrl-C stops watching.'));
        break;
      case 'fallback':
        out(c.yellow(`! File watching stopped working: ${e.reason}.`));
        break;
      case 'run': {
        const why = e.trigger === 'start' ? 'first run' : e.changed.length ? `${describeChanged(e.changed)} changed` : 'run again';
        out('');
        out(c.dim(`── run ${e.n} · ${why} ──`));
        e.run.on(textReporter({ write: options.write, colour: options.colour, verbose: options.verbose }));
        break;
      }
      case 'stale':
        out(c.yellow(`Files changed during run ${e.n} (${describeChanged(e.changed)}): stopping it to run the new code.`));
        break;
      case 'verdict': {
        const { fixed, broke } = verdictChanges(last, e.result);
        last = e.result;
        const parts: string[] = [];
        if (fixed.length) parts.push(c.green(`now passing: ${fixed.join(', ')}`));
        if (broke.length) parts.push(c.red(`now failing: ${broke.join(', ')}`));
        if (e.saveToVerdictMs !== undefined) parts.push(c.dim(`verdict ${formatMs(e.saveToVerdictMs)} after the save`));
        if (parts.length) out(parts.join(' · '));
        out(c.dim('Watching for changes...'));
        break;
      }
      case 'stopped':
        out(c.dim('Stopped watching.'));
        break;
    }
  });
}
