// How a learner starts their server by hand with exactly the environment the grader gave it, so the
// curl reproduction of a failure hits the same server. Lab variables go to .labs/server.env in the lab
// folder (multi-line values such as PEM keys survive single quotes).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shellQuote } from '../probe/exchange.ts';

export const SERVER_ENV_FILE = '.labs/server.env';

export function reproduceStart(startCommand: string, port: number, labEnv: Record<string, string>): string {
  if (Object.keys(labEnv).length === 0) return `PORT=${port} ${startCommand}`;
  return `(set -a; . ./${SERVER_ENV_FILE}; ${startCommand})`;
}

/** Writes PORT and the lab's variables as a sourceable file; best effort (a read-only folder is fine). */
export function writeServerEnv(dir: string, port: number, labEnv: Record<string, string>): void {
  if (Object.keys(labEnv).length === 0) return;
  const lines = [
    '# The environment of your server in the last `labs check` (written by backend-labs).',
    '# Grader-hosted URLs, temporary folders and per-run databases in it existed only during that run.',
    `PORT=${port}`,
  ];
  for (const [k, v] of Object.entries(labEnv)) lines.push(`${k}=${shellQuote(v)}`);
  try {
    mkdirSync(join(dir, '.labs'), { recursive: true });
    writeFileSync(join(dir, SERVER_ENV_FILE), lines.join('\n') + '\n');
  } catch {
    // nothing to do: the reproduction line still shows the command
  }
}
