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
