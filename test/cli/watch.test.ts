// The file watcher and the watch session, on real folders (no sleeps: each test awaits the change it makes).
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watch as chokidarWatch } from 'chokidar';
import type { WatchEvent } from '../../cli/watch/events.ts';
import { makeIgnore } from '../../cli/watch/ignore.ts';
import { WatchSession } from '../../cli/watch/session.ts';
import { watchTree, type CreateWatcher, type FolderWatcher, type TreeWatcher } from '../../cli/watch/tree.ts';
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

/** Starts a watcher; `next()` resolves with the next batch of changed files. Await `w.ready` before saving. */
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
  it('.gitignore as git reads it: names, dir/, globs, anchored paths, negation', () => {
    writeFileSync(join(root, '.gitignore'), 'uploads/\n*.csv\n!keep.csv\n/data/raw\n# comment\n\\#hash\n');
    const m = makeIgnore(root);
    expect(m('uploads', true)).toBe(true);
    expect(m('uploads/a.png', false)).toBe(true);
    expect(m('src/uploads', false)).toBe(false); // dir-only rule, a file of that name
    expect(m('src/uploads', true)).toBe(true); // unanchored: a folder of that name anywhere
    expect(m('out/report.csv', false)).toBe(true);
    expect(m('keep.csv', false)).toBe(false);
    expect(m('data/raw/x.json', false)).toBe(true);
    expect(m('src/data/raw', true)).toBe(false); // anchored to the .gitignore's folder
    expect(m('#hash', false)).toBe(true); // an escaped #, not a comment
    expect(m('src/server.ts', false)).toBe(false);
  });

  it('as git: nothing is re-included under an excluded folder; a deeper .gitignore decides for its folder', () => {
    writeFileSync(join(root, '.gitignore'), 'logs/\n!logs/keep.txt\n*.out\n');
    mkdirSync(join(root, 'src', 'gen'), { recursive: true });
    writeFileSync(join(root, 'src', '.gitignore'), 'gen/\n!wanted.out\n');
    const m = makeIgnore(root);
    expect(m('logs/keep.txt', false)).toBe(true); // git cannot re-include a file whose folder is excluded
    expect(m('src/gen/types.ts', false)).toBe(true); // src/.gitignore, relative to src/
    expect(m('gen/types.ts', false)).toBe(false); // ...and only there
    expect(m('src/wanted.out', false)).toBe(false); // the deeper file re-includes what the root one excludes
    expect(m('other.out', false)).toBe(true);
  });

  it('rereads a .gitignore after reload()', () => {
    const m = makeIgnore(root);
    expect(m('notes.md', false)).toBe(false);
    writeFileSync(join(root, '.gitignore'), 'notes.md\n');
    expect(m('notes.md', false)).toBe(false);
    m.reload();
    expect(m('notes.md', false)).toBe(true);
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
    expect(ignore('', true)).toBe(false);
  });
});

describe('watchTree with file events', () => {
  it('reports a save, with when it was first seen', async () => {
    const { w, next } = watcher();
    expect(w.mode).toBe('events');
    await w.ready;
    const before = Date.now();
    writeFileSync(join(root, 'src', 'server.ts'), 'v2');
    const batch = await next();
    expect(batch.files).toEqual(['src/server.ts']);
    expect(batch.at).toBeGreaterThanOrEqual(before);
  });

  it('debounces several writes into one batch, and never reports node_modules', async () => {
    const { w, next } = watcher();
    await w.ready;
    writeFileSync(join(root, 'node_modules', 'pkg', 'index.js'), 'x');
    writeFileSync(join(root, 'src', 'a.ts'), 'a');
    writeFileSync(join(root, 'src', 'server.ts'), 'v2');
    expect((await next()).files).toEqual(['src/a.ts', 'src/server.ts']);
  });

  it('a node_modules that is a link to a folder elsewhere (shared installs) is not watched either', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'labs-watch-deps-'));
    try {
      rmSync(join(root, 'node_modules'), { recursive: true });
      symlinkSync(elsewhere, join(root, 'node_modules'), 'dir');
      const { w, next } = watcher();
      await w.ready;
      writeFileSync(join(elsewhere, 'index.js'), 'x');
      writeFileSync(join(root, 'src', 'server.ts'), 'v2');
      expect((await next()).files).toEqual(['src/server.ts']);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('an editor-style save (temp file renamed over the original) reports only the original', async () => {
    const { w, next } = watcher();
    await w.ready;
    writeFileSync(join(root, 'src', 'server.ts.tmp-123'), 'v2');
    renameSync(join(root, 'src', 'server.ts.tmp-123'), join(root, 'src', 'server.ts'));
    writeFileSync(join(root, 'src', 'sedXYZ'), 'v3');
    renameSync(join(root, 'src', 'sedXYZ'), join(root, 'src', 'server.ts'));
    expect((await next()).files).toEqual(['src/server.ts']);
  });

  it('watches folders created later, and reports a deleted file', async () => {
    const { w, next } = watcher();
    await w.ready;
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
  /** chokidar as it is, except that watching with file events fails as `fail` says (polling works). */
  const failingEvents = (fail: (watcher: EventEmitter) => void): CreateWatcher => (path, options) => {
    if (options.usePolling) return chokidarWatch(path, options) as FolderWatcher;
    const fake = Object.assign(new EventEmitter(), { close() {} });
    fail(fake);
    return fake as unknown as FolderWatcher;
  };
  const errno = (code: string, message: string, path?: string) => Object.assign(new Error(`${code}: ${message}`), { code, path });

  it('when file events cannot start (e.g. the inotify limit), it polls and says why', async () => {
    const createWatcher = failingEvents((w) => setImmediate(() => w.emit('error', errno('ENOSPC', 'System limit for number of file watchers reached', root))));
    const { w, next, fallback } = watcher({ createWatcher });
    const reason = await fallback;
    expect(w.mode).toBe('poll');
    expect(reason).toBe(w.reason);
    expect(reason).toContain('ENOSPC: the inotify watch limit is reached');
    expect(reason).toContain('polled every 50 ms');
    await w.ready;
    writeFileSync(join(root, 'src', 'server.ts'), 'a longer v2');
    expect((await next()).files).toEqual(['src/server.ts']);
  });

  it('when watching fails later (an error event), it switches to polling and reports it', async () => {
    const fakes: EventEmitter[] = [];
    const { w, next, fallbacks } = watcher({ createWatcher: failingEvents((fake) => fakes.push(fake)) });
    expect(w.mode).toBe('events');
    fakes[0].emit('error', errno('EIO', 'i/o error, watch', join(root, 'src')));
    expect(w.mode).toBe('poll');
    expect(fallbacks).toEqual([`watching ${join(root, 'src')} failed (EIO), so it is polled every 50 ms instead`]);
    await w.ready;
    writeFileSync(join(root, 'src', 'new.ts'), 'n');
    expect((await next()).files).toEqual(['src/new.ts']);
  });

  it('a file modified after the switch, before the polling watcher has read it, is a change (not a file already there)', async () => {
    const fakes: EventEmitter[] = [];
    const { w, next } = watcher({ createWatcher: failingEvents((fake) => fakes.push(fake)) });
    writeFileSync(join(root, 'src', 'other.ts'), 'o');
    const later = new Date(Date.now() + 5_000); // saved after the switch, whatever the clocks' resolution
    utimesSync(join(root, 'src', 'other.ts'), later, later);
    fakes[0].emit('error', errno('EMFILE', 'too many open files'));
    expect(w.reason).toContain(`watching ${root} failed (EMFILE)`);
    await w.ready;
    expect((await next()).files).toEqual(['src/other.ts']);
  });

  it('polling: a save the poller missed (made before its first stat) is found by the recheck, and reported once', async () => {
    // A poller that lists the tree, then never notices anything by itself (its first stat came after the save).
    let poller!: EventEmitter;
    const createWatcher: CreateWatcher = (_path, options) => {
      expect(options.usePolling).toBe(true);
      poller = Object.assign(new EventEmitter(), { close() {} });
      setImmediate(() => {
        poller.emit('all', 'add', join(root, 'src', 'server.ts'));
        poller.emit('all', 'add', join(root, '.gitignore'));
        poller.emit('ready');
      });
      return poller as unknown as FolderWatcher;
    };
    const { w, next } = watcher({ forcePoll: 'LABS_WATCH_POLL=1 is set', createWatcher });
    await w.ready;
    writeFileSync(join(root, 'src', 'server.ts'), 'saved before the poller looked');
    expect((await next()).files).toEqual(['src/server.ts']);
    // The poller noticing the same save later is not a second change.
    poller.emit('all', 'change', join(root, 'src', 'server.ts'));
    writeFileSync(join(root, 'src', 'other.ts'), 'o');
    poller.emit('all', 'add', join(root, 'src', 'other.ts'));
    expect((await next()).files).toEqual(['src/other.ts']);
  });

  it('can be forced (LABS_WATCH_POLL=1), ignoring the same files', async () => {
    const { w, next } = watcher({ forcePoll: 'LABS_WATCH_POLL=1 is set' });
    expect(w.mode).toBe('poll');
    await w.ready;
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
    await s.ready;

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
    await s.ready;
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
