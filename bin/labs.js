#!/usr/bin/env node
// Entry point. `--version` answers without loading anything else; the rest runs compiled (compile.js),
// or through tsx when compiling is turned off or impossible.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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
  const root = fileURLToPath(new URL('..', import.meta.url));
  const compiled = process.env.LABS_NO_COMPILE ? undefined : await (await import('./compile.js')).compiledCli(root);
  let main;
  if (compiled) {
    // Plain JavaScript compiled from the sources (see compile.js); stack traces still name the sources.
    process.setSourceMapsEnabled(true);
    globalThis.__BACKEND_LABS_COMPILED__ = compiled;
    ({ main } = await import(pathToFileURL(join(compiled, 'cli', 'main.js')).href));
  } else {
    // The sources through tsx. `labs check` needs execa to start the learner's server: loading it before
    // tsx's hooks are in place is about 150 ms faster (fewer hooked resolutions).
    const preload = args[0] === 'check' ? import('execa') : undefined;
    const { register } = await import('tsx/esm/api');
    await preload;
    register();
    ({ main } = await import('../cli/main.ts'));
  }
  // Exit as soon as the work is done: nothing left on the event loop is worth waiting for
  // (stdout/stderr writes to pipes and files are synchronous on POSIX).
  process.exit(await main(process.argv));
}
