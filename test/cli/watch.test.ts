// The file watcher and the watch session, on real folders (no sleeps: each test awaits the change it makes).
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitignoreMatcher, makeIgnore, watchTree, WatchSession, type TreeWatcher, type WatchEvent } from '../../cli/watch.ts';
import { FakeRun } from '../tui/ink-helpers.ts';
import { pass, result } from '../tui/fixtures.ts';

let root: string;
const open: TreeWatcher[] = [];
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'labs-watch-'));
  mkdirSync(join(root, 'src'));
  mkdirSync(join(root, 'node_modules', 'pkg'), { recursive: true });
  writeFileSync(join(root, 'src', 'server.ts'), 'v1');
  writeFileSync(join(root, '.gitignore'), 'node_modules/\n.labs/\nuploads/\n*.csv\n!keep.csv\n');
});
afterEach(() => {
  for (const w of open.splice(0)) w.close();
  rmSync(root, { recursive: true, force: true });
});

/** Starts a watcher; `next()` resolves with the next batch of changed files. */
function watcher(options: Partial<Parameters<typeof watchTree>[1]> = {}) {
  const batches: { files: string[]; at: number }[] = [];
  const waiters: ((b: { files: string[]; at: number }) => void)[] = [];
  const fallbacks: string[] = [];
  let fellBack: (reason: string) => void = () => {};
  const fallback = new Promise<string>((resolve) => (fellBack = resolve));
  const w = watchTree(root, {
    debounceMs: 50,
    pollMs: 50,
    ...options,
    onChange: (files, at) => {
      const b = { files, at };
      const waiter = waiters.shift();
      if (waiter) waiter(b);
      else batches.push(b);
    },
    onFallback: (reason) => {
      fallbacks.push(reason);
      fellBack(reason);
    },
  });
  open.push(w);
  const next = () => new Promise<{ files: string[]; at: number }>((resolve) => {
    const b = batches.shift();
    if (b) resolve(b);
    else waiters.push(resolve);
  });
  return { w, next, fallbacks, fallback };
}

describe('ignoring', () => {
  it('gitignoreMatcher: names, dir/, globs, anchored paths, negation', () => {
    const m = gitignoreMatcher('uploads/\n*.csv\n!keep.csv\n/data/raw\n# comment\n');
    expect(m('uploads', true)).toBe(true);
    expect(m('uploads/a.png', false)).toBe(true);
    expect(m('src/uploads', false)).toBe(false); // dir-only rule, a file of that name
    expect(m('out/report.csv', false)).toBe(true);
    expect(m('keep.csv', false)).toBe(false);
    expect(m('data/raw/x.json', false)).toBe(true);
    expect(m('src/data/raw', true)).toBe(false);
  });
  it('makeIgnore: dependencies, build output, editor and server files, and .gitignore', () => {
    const ignore = makeIgnore(root);
    expect(ignore('node_modules', true)).toBe(true);
    expect(ignore('dist/server.js', false)).toBe(true);
    expect(ignore('.labs/last-check.json', false)).toBe(true);
    expect(ignore('src/.server.ts.swp', false)).toBe(true);
    expect(ignore('src/server.ts~', false)).toBe(true);
    expect(ignore('app.db-journal', false)).toBe(true);
    expect(ignore('server.log', false)).toBe(true);
    expect(ignore('export.csv', false)).toBe(true);
    expect(ignore('src/server.ts', false)).toBe(false);
    expect(ignore('bin/www', false)).toBe(false);
  });
});

describe('watchTree with file events', () => {
  it('reports a save, with when it was first seen', async () => {
    const { w, next } = watcher();
    expect(w.mode).toBe('events');
    const before = Date.now();
    writeFileSync(join(root, 'src', 'server.ts'), 'v2');
    const batch = await next();
    expect(batch.files).toEqual(['src/server.ts']);
    expect(batch.at).toBeGreaterThanOrEqual(before);
  });

  it('debounces several writes into one batch, and never reports node_modules', async () => {
    const { next } = watcher();
    writeFileSync(join(root, 'node_modules', 'pkg', 'index.js'), 'x');
    writeFileSync(join(root, 'src', 'a.ts'), 'a');
    writeFileSync(join(root, 'src', 'server.ts'), 'v2');
    expect((await next()).files).toEqual(['src/a.ts', 'src/server.ts']);
  });

  it('an editor-style save (temp file renamed over the original) reports only the original', async () => {
    const { next } = watcher();
    writeFileSync(join(root, 'src', 'server.ts.tmp-123'), 'v2');
    renameSync(join(root, 'src', 'server.ts.tmp-123'), join(root, 'src', 'server.ts'));
    writeFileSync(join(root, 'src', 'sedXYZ'), 'v3');
    renameSync(join(root, 'src', 'sedXYZ'), join(root, 'src', 'server.ts'));
    expect((await next()).files).toEqual(['src/server.ts']);
  });

  it('watches folders created later, and reports a deleted file', async () => {
    const { next } = watcher();
    mkdirSync(join(root, 'src', 'routes'));
    writeFileSync(join(root, 'src', 'routes', 'users.ts'), 'u');
    const created = await next();
    expect(created.files).toContain('src/routes/users.ts');
    writeFileSync(join(root, 'src', 'routes', 'users.ts'), 'u2');
    expect((await next()).files).toEqual(['src/routes/users.ts']);
    unlinkSync(join(root, 'src', 'server.ts'));
    expect((await next()).files).toEqual(['src/server.ts']);
  });
});

describe('falling back to polling', () => {
  it('when fs.watch cannot start (e.g. the inotify limit), it polls and says why', async () => {
    const failing = (() => {
      throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
    }) as unknown as typeof import('node:fs').watch;
    const { w, next } = watcher({ watch: failing });
    expect(w.mode).toBe('poll');
    expect(w.reason).toContain('ENOSPC');
    expect(w.reason).toContain('polled every 50 ms');
    writeFileSync(join(root, 'src', 'server.ts'), 'a longer v2');
    expect((await next()).files).toEqual(['src/server.ts']);
  });

  it('when watching fails later (an error event), it switches to polling and reports it', async () => {
    const fakes: EventEmitter[] = [];
    const fake = (() => {
      const e = Object.assign(new EventEmitter(), { close() {} });
      fakes.push(e);
      return e;
    }) as unknown as typeof import('node:fs').watch;
    const { w, next, fallbacks } = watcher({ watch: fake });
    expect(w.mode).toBe('events');
    fakes[0].emit('error', Object.assign(new Error('watch EIO'), { code: 'EIO' }));
    expect(w.mode).toBe('poll');
    expect(fallbacks).toEqual([expect.stringContaining('EIO')]);
    writeFileSync(join(root, 'src', 'new.ts'), 'n');
    expect((await next()).files).toEqual(['src/new.ts']);
  });

  it('when a folder created later cannot be watched (e.g. out of watches), it switches to polling', async () => {
    const { watch: realWatch } = await import('node:fs');
    const limited = ((dir: string, ...rest: unknown[]) => {
      if (dir.endsWith('later')) throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
      return (realWatch as (...a: unknown[]) => unknown)(dir, ...rest);
    }) as unknown as typeof import('node:fs').watch;
    const { w, next, fallback } = watcher({ watch: limited });
    mkdirSync(join(root, 'src', 'later'));
    expect(await fallback).toContain(`watching ${join(root, 'src', 'later')} failed (EMFILE)`);
    expect(w.mode).toBe('poll');
    writeFileSync(join(root, 'src', 'later', 'x.ts'), 'x');
    expect((await next()).files).toEqual(['src/later/x.ts']);
  });

  it('can be forced (LABS_WATCH_POLL=1), ignoring the same files', async () => {
    const { w, next } = watcher({ forcePoll: 'LABS_WATCH_POLL=1 is set' });
    expect(w.mode).toBe('poll');
    writeFileSync(join(root, 'node_modules', 'pkg', 'index.js'), 'x');
    writeFileSync(join(root, 'uploads.csv'), 'x');
    writeFileSync(join(root, 'src', 'server.ts'), 'v2 longer');
    expect((await next()).files).toEqual(['src/server.ts']);
  });
});

describe('WatchSession', () => {
  function session(now = () => Date.now()) {
    const runs: FakeRun[] = [];
    const verdicts: number[] = [];
    const events: WatchEvent[] = [];
    const waiters: { type: string; resolve: (e: WatchEvent) => void }[] = [];
    const s = new WatchSession({
      dir: root,
      makeRun: () => {
        const r = new FakeRun();
        r.onAbort = () => r.end(result([], { status: 'error', exitCode: 130 }));
        runs.push(r);
        return r;
      },
      onVerdict: (res) => verdicts.push(res.exitCode),
      watcher: { debounceMs: 30 },
      now,
    });
    s.subscribe((e) => {
      events.push(e);
      const i = waiters.findIndex((w) => w.type === e.type);
      if (i >= 0) waiters.splice(i, 1)[0].resolve(e);
    });
    const nextEvent = <T extends WatchEvent['type']>(type: T) =>
      new Promise<Extract<WatchEvent, { type: T }>>((resolve) => waiters.push({ type, resolve: resolve as (e: WatchEvent) => void }));
    return { s, runs, verdicts, events, nextEvent };
  }

  it('runs at start, then on each save; a save during a run stops it and runs the new code', async () => {
    const { s, runs, verdicts, events, nextEvent } = session();
    s.start();
    expect(events.map((e) => e.type)).toEqual(['watching', 'run']);
    runs[0].end(result([pass('health')]));
    await nextEvent('verdict');

    const second = nextEvent('run');
    writeFileSync(join(root, 'src', 'server.ts'), 'v2');
    expect(await second).toMatchObject({ n: 2, trigger: 'change', changed: ['src/server.ts'] });

    // Saved again while run 2 is going: run 2 is stale, aborted, and run 3 has both changes.
    const stale = nextEvent('stale');
    const third = nextEvent('run');
    writeFileSync(join(root, 'src', 'other.ts'), 'o');
    expect(await stale).toMatchObject({ n: 2 });
    expect(runs[1].aborted).toBe('files changed');
    expect(await third).toMatchObject({ n: 3, changed: ['src/other.ts'] });

    const verdict = nextEvent('verdict');
    runs[2].end(result([pass('health')]));
    expect(await verdict).toMatchObject({ n: 3, trigger: 'change' });
    expect(verdicts).toEqual([0, 0]); // the stale run's verdict is neither shown nor recorded
    await s.stop();
    expect(events.at(-1)?.type).toBe('stopped');
  });

  it('save-to-verdict is measured from the first change seen to the last check-end (not the teardown)', async () => {
    let clock = 1_000;
    const { s, runs, nextEvent } = session(() => clock);
    s.start();
    runs[0].end(result([pass('health')]));
    await nextEvent('verdict');
    const run = nextEvent('run');
    writeFileSync(join(root, 'src', 'server.ts'), 'v2');
    const { changedAt } = await run;
    expect(changedAt).toBeTypeOf('number');
    clock = changedAt! + 700; // the last check ends 700 ms after the save was seen
    runs[1].emit({ type: 'check-end', result: pass('health'), index: 0, total: 1 });
    clock += 300; // teardown
    const verdict = nextEvent('verdict');
    runs[1].end(result([pass('health')]));
    expect((await verdict).saveToVerdictMs).toBe(700);
    await s.stop();
  });

  it('stop aborts the current run and resolves when it has torn down', async () => {
    const { s, runs, events } = session();
    s.start();
    await s.stop();
    expect(runs[0].aborted).toBe('stopped watching');
    expect(events.map((e) => e.type)).toEqual(['watching', 'run', 'stopped']);
  });

  it('rerun() runs again without a change', async () => {
    const { s, runs, nextEvent } = session();
    s.start();
    runs[0].end(result([pass('health')]));
    await nextEvent('verdict');
    const run = nextEvent('run');
    s.rerun();
    expect(await run).toMatchObject({ n: 2, trigger: 'manual', changed: [] });
    await s.stop();
  });
});
