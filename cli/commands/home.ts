// `labs` with no command. In a terminal: the interactive home screen (ink, loaded only here). Not a
// terminal (a pipe, CI, TERM=dumb): print the list and exit 0.
import { canInteract, respectNoColor } from '../tui/tty.ts';
import { runList } from './list.ts';

export async function runHome(cwd: string = process.cwd()): Promise<number> {
  if (!canInteract()) return runList({});
  respectNoColor();
  const { runHomeTui } = await import('../tui/home.tsx');
  return runHomeTui({ cwd });
}
