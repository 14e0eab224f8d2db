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
  // `labs check` needs execa to start the learner's server: loading it before tsx's hooks are in place
  // is about 150 ms faster (fewer hooked resolutions), and every ms here delays the verdict.
  const preload = args[0] === 'check' ? import('execa') : undefined;
  const { register } = await import('tsx/esm/api');
  await preload;
  register();
  const { main } = await import('../cli/main.ts');
  // Exit as soon as the work is done: nothing left on the event loop is worth waiting for
  // (stdout/stderr writes to pipes and files are synchronous on POSIX).
  process.exit(await main(process.argv));
}
