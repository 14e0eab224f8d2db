// `labs check --watch`: re-run the checks on every save in the lab folder.
// - watchTree: one fs.watch per folder (never inside node_modules or build output), debounced; polling
//   instead when the filesystem cannot notify (network filesystems) or watching fails, and it says so.
// - WatchSession: one run at a time; a save during a run makes it stale (aborted, torn down, re-run).
// - runWatch: the command; the ink view in a terminal, plain text otherwise.
import { existsSync, readdirSync, readFileSync, statfsSync, statSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { EventEmitter } from 'node:events';
import { GraderError } from '../grader/errors.ts';
import type { RunResult } from '../grader/events.ts';
import { loadManifest } from '../grader/manifest.ts';
import { palette, shouldColour } from '../grader/report/colour.ts';
import { textReporter } from '../grader/report/text.ts';
import { runLab, type LabRun } from '../grader/run.ts';
import { loadLab } from '../labs/index.ts';
import { checkRunOptions, type CheckOptions } from './commands/check.ts';
import { saveLastCheck } from './last-check.ts';
import { recordCheckRun } from './progress.ts';
import { describeChanged, formatMs, verdictChanges } from './tui/format.ts';
import { bufferWatch } from './tui/run-source.ts';
import { canDrawLive, respectNoColor } from './tui/tty.ts';

// ---------------------------------------------------------------------------------------------------
// What to ignore

/** Folders never watched: dependencies, build output, caches, VCS, the grader's own state. */
export const IGNORED_DIRS = new Set([
  'node_modules', '.git', '.hg', '.svn', '.labs', 'dist', 'build', 'out', 'coverage', '.next', '.nuxt', '.turbo',
  '.cache', '.parcel-cache', 'target', '__pycache__', '.pytest_cache', '.mypy_cache', '.venv', 'venv', '.idea', '.vscode',
  '.gradle', 'obj', 'tmp',
]);

/** Files that change without the learner saving code: editor swap/backup files, logs, local databases. */
const IGNORED_FILE = /(^|\/)(\.#.*|#.*#|.*~|.*\.sw[a-p]|4913|\.DS_Store|.*\.log|.*\.pid|.*\.(sqlite|sqlite3|db)(-journal|-wal|-shm)?|.*\.tmp)$/i;

/** Simple .gitignore patterns (names, *.ext, dir/, /anchored, a/b, !negation): enough to skip what the server writes. */
export function gitignoreMatcher(text: string): (rel: string, isDir: boolean) => boolean {
  const rules: { self: RegExp; under: RegExp; dirOnly: boolean; negate: boolean }[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    if (dirOnly) line = line.slice(0, -1);
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    if (!line) continue;
    const body = line
      .split('**')
      .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
      .join('.*');
    const lead = anchored ? '^' : '(^|/)';
    rules.push({ self: new RegExp(`${lead}${body}$`), under: new RegExp(`${lead}${body}/`), dirOnly, negate });
  }
  return (rel, isDir) => {
    let ignored = false;
    for (const r of rules) {
      if (r.under.test(rel) || (r.self.test(rel) && (isDir || !r.dirOnly))) ignored = !r.negate;
    }
    return ignored;
  };
}

export function makeIgnore(root: string): (rel: string, isDir: boolean) => boolean {
  let fromGit: (rel: string, isDir: boolean) => boolean = () => false;
  try {
    fromGit = gitignoreMatcher(readFileSync(join(root, '.gitignore'), 'utf8'));
  } catch {
    // no .gitignore
  }
  return (rel, isDir) => {
    if (rel === '') return false;
    const parts = rel.split(/[\\/]/);
    if (parts.some((p, i) => IGNORED_DIRS.has(p) && (isDir || i < parts.length - 1))) return true;
    if (!isDir && IGNORED_FILE.test(rel)) return true;
    return fromGit(rel.split(sep).join('/'), isDir);
  };
}

// ---------------------------------------------------------------------------------------------------
// Watching a tree

/** Linux statfs magic numbers of filesystems where inotify misses changes made elsewhere. */
const NETWORK_FS: Record<number, string> = {
  0x6969: 'NFS',
  0x517b: 'SMB',
  0xff534d42: 'CIFS',
  0xfe534d42: 'SMB2',
  0x01021997: '9p (e.g. WSL /mnt, VM shared folders)',
  0x65735546: 'FUSE (e.g. sshfs)',
  0x786f4256: 'VirtualBox shared folder',
  0x7c7c6673: 'Parallels shared folder',
  0x5346414f: 'AFS',
  0x00c36400: 'Ceph',
};

/** Why polling is needed for `dir`, or undefined when change notifications work there. */
export function networkFilesystem(dir: string, platform = process.platform): string | undefined {
  if (platform !== 'linux') return undefined;
  try {
    const name = NETWORK_FS[statfsSync(dir).type >>> 0];
    return name ? `${dir} is on a ${name} filesystem, where change notifications are unreliable` : undefined;
  } catch {
    return undefined;
  }
}

export type WatchMode = 'events' | 'poll';

export interface TreeWatcherOptions {
  /** Quiet time after the last change before reporting (a save often touches a file several times). */
  debounceMs?: number;
  /** Report at the latest this long after the first change, even if changes keep coming. */
  maxWaitMs?: number;
  pollMs?: number;
  /** Poll from the start, with this reason (tests; LABS_WATCH_POLL=1). */
  forcePoll?: string;
  /** Called with the relative paths that changed (sorted) and when the first of them was seen. */
  onChange(files: string[], firstSeenAt: number): void;
  /** Called when watching falls back to polling during the session. */
  onFallback?(reason: string): void;
  /** Injected for tests: defaults to fs.watch. */
  watch?: typeof fsWatch;
  ignore?: (rel: string, isDir: boolean) => boolean;
}

export interface TreeWatcher {
  readonly mode: WatchMode;
  /** Why it polls, when it does. */
  readonly reason?: string;
  close(): void;
}

function walk(root: string, ignore: (rel: string, isDir: boolean) => boolean, onFile: (rel: string, full: string) => void, onDir?: (full: string) => void): void {
  const visit = (dir: string) => {
    onDir?.(dir);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      const rel = relative(root, full);
      if (e.isDirectory()) {
        if (!ignore(rel, true)) visit(full);
      } else if (!ignore(rel, false)) onFile(rel, full);
    }
  };
  visit(root);
}

function snapshot(root: string, ignore: (rel: string, isDir: boolean) => boolean): Map<string, string> {
  const out = new Map<string, string>();
  walk(root, ignore, (rel, full) => {
    try {
      const s = statSync(full);
      out.set(rel, `${s.mtimeMs}:${s.size}`);
    } catch {
      // vanished between readdir and stat
    }
  });
  return out;
}

export function watchTree(rootDir: string, options: TreeWatcherOptions): TreeWatcher {
  const root = resolve(rootDir);
  const ignore = options.ignore ?? makeIgnore(root);
  const debounceMs = options.debounceMs ?? 60;
  const maxWaitMs = options.maxWaitMs ?? 1000;
  const pollMs = options.pollMs ?? 400;
  const watchFn = options.watch ?? fsWatch;
  const pending = new Set<string>();
  let firstSeen = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let mode: WatchMode = 'events';
  let reason: string | undefined;
  const watchers = new Map<string, FSWatcher>();
  let pollTimer: NodeJS.Timeout | undefined;

  // Files that existed when last seen: a path that appears and vanishes within one batch (an editor's or
  // sed's temp file renamed over the real one) is not reported; a known file that vanished is.
  const known = new Set<string>();
  const flush = () => {
    timer = undefined;
    if (closed || pending.size === 0) return;
    const files: string[] = [];
    for (const rel of [...pending].sort()) {
      if (existsSync(join(root, rel))) {
        known.add(rel);
        files.push(rel);
      } else if (known.delete(rel)) files.push(rel);
    }
    pending.clear();
    const at = firstSeen;
    firstSeen = 0;
    if (files.length > 0) options.onChange(files, at);
  };
  const changed = (rel: string) => {
    if (closed) return;
    const now = Date.now();
    if (pending.size === 0) firstSeen = now;
    pending.add(rel);
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, Math.max(0, Math.min(debounceMs, firstSeen + maxWaitMs - now)));
  };

  const startPolling = (why: string) => {
    for (const w of watchers.values()) w.close();
    watchers.clear();
    mode = 'poll';
    reason = why;
    let before = snapshot(root, ignore);
    for (const rel of before.keys()) known.add(rel);
    const tick = () => {
      if (closed) return;
      const after = snapshot(root, ignore);
      for (const [rel, sig] of after) if (before.get(rel) !== sig) changed(rel);
      for (const rel of before.keys()) if (!after.has(rel)) changed(rel);
      before = after;
      pollTimer = setTimeout(tick, pollMs);
    };
    pollTimer = setTimeout(tick, pollMs);
  };

  const fallback = (why: string) => {
    if (closed || mode === 'poll') return;
    startPolling(why);
    options.onFallback?.(why);
  };

  const addDir = (dir: string) => {
    if (watchers.has(dir) || closed || mode === 'poll') return;
    let w: FSWatcher;
    try {
      w = watchFn(dir, { persistent: true }, (_event, name) => onEvent(dir, name));
    } catch (err) {
      if (watchers.size === 0) throw err; // at start: the caller falls back, saying why
      const e = err as NodeJS.ErrnoException;
      fallback(`watching ${dir} failed (${e.code ?? e.message}), so it is polled every ${pollMs} ms instead`);
      return;
    }
    w.on('error', (err: NodeJS.ErrnoException) => {
      if (dir === root) fallback(`watching ${root} failed (${err.code ?? err.message}), so it is polled every ${pollMs} ms instead`);
      else {
        w.close();
        watchers.delete(dir);
      }
    });
    watchers.set(dir, w);
  };
  const onEvent = (dir: string, name: string | Buffer | null) => {
    if (!name) {
      // Some platforms do not say which file: treat the folder as changed.
      changed(relative(root, dir) || '.');
      return;
    }
    const full = join(dir, name.toString());
    const rel = relative(root, full);
    let isDir = false;
    try {
      isDir = statSync(full).isDirectory();
    } catch {
      // deleted: stop watching it if it was a folder
      for (const [d, dw] of watchers) {
        if (d === full || d.startsWith(full + sep)) {
          dw.close();
          watchers.delete(d);
        }
      }
    }
    if (ignore(rel, isDir)) return;
    if (isDir) {
      if (!watchers.has(full)) {
        // A new folder: watch it, and count what is already in it (files written before the watch began).
        walkNew(full);
      }
      return;
    }
    changed(rel);
  };
  const walkNew = (dir: string) => {
    const visit = (d: string) => {
      addDir(d);
      let entries;
      try {
        entries = readdirSync(d, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const full = join(d, e.name);
        const rel = relative(root, full);
        if (e.isDirectory()) {
          if (!ignore(rel, true)) visit(full);
        } else if (!ignore(rel, false)) changed(rel);
      }
    };
    visit(dir);
  };

  const network = options.forcePoll ?? networkFilesystem(root);
  if (network) startPolling(`${network}, so it is polled every ${pollMs} ms instead`);
  else {
    try {
      walk(root, ignore, (rel) => known.add(rel), addDir);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      startPolling(`file watching is not available here (${e.code ?? e.message}${e.code === 'ENOSPC' ? ': the inotify watch limit is reached' : ''}), so it is polled every ${pollMs} ms instead`);
    }
  }

  return {
    get mode() {
      return mode;
    },
    get reason() {
      return reason;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (pollTimer) clearTimeout(pollTimer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// A session: runs, made stale by saves

export type WatchEvent =
  | { type: 'watching'; dir: string; mode: WatchMode; reason?: string }
  | { type: 'fallback'; reason: string }
  | { type: 'run'; n: number; trigger: 'start' | 'change' | 'manual'; changed: string[]; run: LabRun; /** when the first of the changes was seen */ changedAt?: number }
  | { type: 'stale'; n: number; changed: string[] }
  | { type: 'verdict'; n: number; result: RunResult; changed: string[]; trigger: 'start' | 'change' | 'manual'; saveToVerdictMs?: number }
  | { type: 'stopped' };

export interface WatchSessionOptions {
  dir: string;
  makeRun(): LabRun;
  /** Each run that finished with a verdict (recorded in progress by the caller). */
  onVerdict?(result: RunResult): void;
  watcher?: Omit<TreeWatcherOptions, 'onChange' | 'onFallback'>;
  now?: () => number;
}

export class WatchSession {
  private readonly emitter = new EventEmitter();
  private readonly log: WatchEvent[] = [];
  private watcher?: TreeWatcher;
  private current?: { n: number; run: LabRun; changed: string[]; stale: boolean };
  private queued?: { changed: string[]; at: number; trigger: 'change' | 'manual' };
  private runs = 0;
  private stopped = false;
  private done?: () => void;
  readonly finished: Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: WatchSessionOptions) {
    this.now = options.now ?? Date.now;
    this.finished = new Promise((resolve) => (this.done = resolve));
  }

  /** Replays what already happened, then follows (like bufferRun). */
  subscribe(listener: (e: WatchEvent) => void): () => void {
    for (const e of this.log) listener(e);
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  private emit(e: WatchEvent): void {
    this.log.push(e);
    // Keep the replay log small: runs carry whole event streams.
    if (this.log.length > 50) this.log.splice(1, this.log.length - 50);
    this.emitter.emit('event', e);
  }

  start(): this {
    this.watcher = watchTree(this.options.dir, {
      ...this.options.watcher,
      onChange: (files, at) => this.changed(files, at, 'change'),
      onFallback: (reason) => this.emit({ type: 'fallback', reason }),
    });
    this.emit({ type: 'watching', dir: this.options.dir, mode: this.watcher.mode, reason: this.watcher.reason });
    this.launch([], 'start', undefined);
    return this;
  }

  /** Re-run now (Enter in the view). */
  rerun(): void {
    this.changed([], this.now(), 'manual');
  }

  private changed(files: string[], at: number, trigger: 'change' | 'manual'): void {
    if (this.stopped) return;
    if (this.current) {
      // A save during a run: its verdict would be about old code. Stop it; run again when it has torn down.
      const merged = new Set([...(this.queued?.changed ?? []), ...files]);
      this.queued = { changed: [...merged].sort(), at: this.queued?.at ?? at, trigger };
      if (!this.current.stale) {
        this.current.stale = true;
        this.emit({ type: 'stale', n: this.current.n, changed: files });
        this.current.run.abort('files changed');
      }
      return;
    }
    this.launch(files, trigger, at);
  }

  private launch(changed: string[], trigger: 'start' | 'change' | 'manual', at: number | undefined): void {
    const n = ++this.runs;
    const run = this.options.makeRun();
    const current = { n, run, changed, stale: false };
    this.current = current;
    // The verdict is known at the last check-end; run-end only follows the teardown.
    let decidedAt: number | undefined;
    run.on((e) => {
      if (e.type === 'check-end') decidedAt = this.now();
    });
    this.emit({ type: 'run', n, trigger, changed, run, changedAt: at });
    void run.result.then((result) => {
      this.current = undefined;
      if (!current.stale && result.exitCode !== 130) {
        this.options.onVerdict?.(result);
        const verdictAt = decidedAt ?? this.now();
        this.emit({ type: 'verdict', n, result, changed, trigger, saveToVerdictMs: at !== undefined && trigger === 'change' ? verdictAt - at : undefined });
      }
      if (this.stopped) {
        this.finish();
        return;
      }
      const next = this.queued;
      this.queued = undefined;
      if (next) this.launch(next.changed, next.trigger, next.at);
    });
  }

  /** Stops watching and the current run (teardown included). Resolves `finished`. */
  stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.watcher?.close();
      if (this.current) {
        this.current.stale = true;
        this.current.run.abort('stopped watching');
      } else this.finish();
    }
    return this.finished;
  }

  private finish(): void {
    if (this.log.at(-1)?.type !== 'stopped') this.emit({ type: 'stopped' });
    this.done?.();
  }
}

// ---------------------------------------------------------------------------------------------------
// The command

export interface WatchCommandDeps {
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  env?: NodeJS.ProcessEnv;
}

/** Plain output for a pipe or CI: each run with the text reporter, framed by what changed. */
export function textWatch(
  session: Pick<WatchSession, 'subscribe'>,
  options: { write: (text: string) => void; colour: boolean; verbose?: boolean },
): () => void {
  const c = palette(options.colour);
  const out = (line = '') => options.write(line + '\n');
  let last: RunResult | undefined;
  return session.subscribe((e) => {
    switch (e.type) {
      case 'watching':
        out(`${c.bold('Watching')} ${e.dir} ${c.dim(e.mode === 'events' ? '(file events; node_modules and build output ignored)' : '(polling)')}`);
        if (e.mode === 'poll' && e.reason) out(c.yellow(`! Polling for changes: ${e.reason}.`));
        out(c.dim('Saving a file runs the checks again. Ctrl-C stops watching.'));
        break;
      case 'fallback':
        out(c.yellow(`! File watching stopped working: ${e.reason}.`));
        break;
      case 'run': {
        const why = e.trigger === 'start' ? 'first run' : e.changed.length ? `${describeChanged(e.changed)} changed` : 'run again';
        out('');
        out(c.dim(`── run ${e.n} · ${why} ──`));
        e.run.on(textReporter({ write: options.write, colour: options.colour, verbose: options.verbose }));
        break;
      }
      case 'stale':
        out(c.yellow(`Files changed during run ${e.n} (${describeChanged(e.changed)}): stopping it to run the new code.`));
        break;
      case 'verdict': {
        const { fixed, broke } = verdictChanges(last, e.result);
        last = e.result;
        const parts: string[] = [];
        if (fixed.length) parts.push(c.green(`now passing: ${fixed.join(', ')}`));
        if (broke.length) parts.push(c.red(`now failing: ${broke.join(', ')}`));
        if (e.saveToVerdictMs !== undefined) parts.push(c.dim(`verdict ${formatMs(e.saveToVerdictMs)} after the save`));
        if (parts.length) out(parts.join(' · '));
        out(c.dim('Watching for changes...'));
        break;
      }
      case 'stopped':
        out(c.dim('Stopped watching.'));
        break;
    }
  });
}

export async function runWatch(opts: CheckOptions, cwd: string, deps: WatchCommandDeps = {}): Promise<number> {
  if (opts.json) throw new GraderError('USAGE', '`--watch` cannot be combined with `--json`: run `labs check --json` for one machine-readable result.');
  const env = deps.env ?? process.env;
  const stdout = deps.stdout ?? process.stdout;
  const stdin = deps.stdin ?? process.stdin;
  const { dir, manifest } = loadManifest(resolve(cwd, opts.dir ?? '.'));
  const lab = await loadLab(manifest.lab);
  const session = new WatchSession({
    dir,
    makeRun: () => runLab(checkRunOptions(opts, dir, manifest.start, lab)),
    onVerdict: (result) => {
      saveLastCheck(dir, result);
      recordCheckRun(lab.id, lab.checks.length, result, dir, { env });
    },
    watcher: { forcePoll: env.LABS_WATCH_POLL === '1' ? 'LABS_WATCH_POLL=1 is set' : undefined },
  });
  let exitCode: number | undefined;
  let lastVerdict: number | undefined;
  session.subscribe((e) => {
    if (e.type === 'verdict') lastVerdict = e.result.exitCode;
  });
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    exitCode = 130;
    void session.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (canDrawLive(stdout, env)) {
      const feed = bufferWatch(session);
      session.start();
      respectNoColor();
      const { renderWatch } = await import('./tui/watch.tsx');
      await renderWatch(feed, {
        stdout,
        stdin,
        interactive: Boolean(stdin.isTTY),
        onQuit: () => void session.stop(),
        onRerun: () => session.rerun(),
      });
    } else {
      textWatch(session, { write: (t) => stdout.write(t), colour: shouldColour(stdout, env), verbose: opts.verbose });
      session.start();
    }
    await session.finished;
    return exitCode ?? lastVerdict ?? 130;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
