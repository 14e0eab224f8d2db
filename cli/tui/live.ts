// The live check view for `labs check` in a terminal, loaded on demand. Should ink fail to load or
// render, the buffered events are replayed through the plain reporter, so a verdict is never lost.
import { textReporter } from '../../grader/report/text.ts';
import { shouldColour } from '../../grader/report/colour.ts';
import type { RunSource } from './run-source.ts';
import { respectNoColor } from './tty.ts';

export async function showLive(source: RunSource, options: { verbose?: boolean } = {}): Promise<void> {
  try {
    respectNoColor();
    const { renderCheck } = await import('./check.tsx');
    await renderCheck(source, { verbose: options.verbose });
  } catch (err) {
    process.stderr.write(`labs: the live view failed (${(err as Error).message}); plain output follows.\n`);
    source.subscribe(textReporter({ write: (t) => process.stdout.write(t), colour: shouldColour(process.stdout), verbose: options.verbose }));
  }
}
