// `labs` with no command. Not a terminal: print the list and exit 0.
import { runList } from './list.ts';

export async function runHome(): Promise<number> {
  return runList({});
}
