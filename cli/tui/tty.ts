// Whether to draw the terminal UI (ink) or print plain text. Tiny and ink-free: the commands import it
// statically and load ink only when this says yes.

interface Stream {
  isTTY?: boolean;
}

/** The live check view: output goes to a terminal that can redraw lines. */
export function canDrawLive(stdout: Stream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stdout.isTTY) && env.TERM !== 'dumb';
}

/** The interactive home screen: keys come from a terminal too. */
export function canInteract(stdin: Stream = process.stdin, stdout: Stream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stdin.isTTY) && canDrawLive(stdout, env);
}

/**
 * ink colours through chalk, which ignores NO_COLOR (https://no-color.org) but honours FORCE_COLOR=0.
 * Call before ink is first imported, so the terminal UI follows the same rule as the plain reporter.
 */
export function respectNoColor(env: NodeJS.ProcessEnv = process.env): void {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '' && env.FORCE_COLOR === undefined) env.FORCE_COLOR = '0';
}
