#!/usr/bin/env node
// Entry point. `--version` answers without loading anything else; the rest is TypeScript run through tsx.
import { readFileSync } from 'node:fs';

// `labs list | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../cli/main.ts');
  // Exit as soon as the work is done: nothing left on the event loop is worth waiting for
  // (stdout/stderr writes to pipes and files are synchronous on POSIX).
  process.exit(await main(process.argv));
}
