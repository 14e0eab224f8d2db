// Watching a lab folder for saves (chokidar), debounced into batches of changed files. It polls instead when
// the filesystem cannot notify (network filesystems), when asked to, or when watching fails (e.g. the
// inotify limit), and says so. What is ignored is decided by ./ignore.ts (node_modules and build output are
// never entered). Around chokidar, this file keeps: the debounce (60 ms quiet, 1 s at most; it must stay
// above chokidar's 50 ms per-file change throttle, so a save it drops always lands before the batch runs),
// temp files that come and go within a batch (not reported), a save reported once (by its mtime and size).
import { existsSync, readdirSync, statfsSync, statSync, type Dirent } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { watch as chokidarWatch, type ChokidarOptions } from 'chokidar';
import { absoluteIgnore, makeIgnore, type IgnoreFn } from './ignore.ts';
import type { WatchMode } from './events.ts';

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

/** What watchTree needs of a chokidar watcher (a fake one in tests). */
export interface FolderWatcher {
  /** 'all' (event name, absolute path), 'raw' (fs.watch's event, name, { watchedPath }), 'ready' (the first scan is done), 'error' (an errno exception). */
  on(event: 'all' | 'raw' | 'ready' | 'error', listener: (...args: never[]) => void): unknown;
  close(): Promise<void> | void;
}

export type CreateWatcher = (root: string, options: ChokidarOptions) => FolderWatcher;

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
  /** Injected for tests: defaults to chokidar's watch. */
  createWatcher?: CreateWatcher;
  ignore?: IgnoreFn;
}

export interface TreeWatcher {
  readonly mode: WatchMode;
  /** Why it polls, when it does. */
  readonly reason?: string;
  /** Resolves when the current watcher has read the whole tree (changes before are still caught, by mtime). */
  readonly ready: Promise<void>;
  close(): void;
}

const CHANGES = new Set(['add', 'change', 'unlink']);
const TREE_EVENTS = new Set(['add', 'change', 'unlink', 'addDir']);

/** mtime and size, or undefined when the file is gone. */
function signature(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return undefined;
  }
}

export function watchTree(rootDir: string, options: TreeWatcherOptions): TreeWatcher {
  const root = resolve(rootDir);
  const decide = options.ignore ?? makeIgnore(root);
  const debounceMs = options.debounceMs ?? 60;
  const maxWaitMs = options.maxWaitMs ?? 1000;
  const pollMs = options.pollMs ?? 400;
  const create: CreateWatcher = options.createWatcher ?? ((path, opts) => chokidarWatch(path, opts) as FolderWatcher);
  const pending = new Set<string>();
  let firstSeen = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let mode: WatchMode = 'events';
  let reason: string | undefined;
  let watcher: FolderWatcher | undefined;
  let ready: Promise<void> = Promise.resolve();

  // Files that existed when last seen: a path that appears and vanishes within one batch (an editor's or
  // sed's temp file renamed over the real one) is not reported; a known file that vanished is.
  const known = new Set<string>();
  // What each file was when last reported: the same save seen twice (the poller and the recheck below,
  // or an event repeated) is reported once.
  const reported = new Map<string, string>();
  const flush = () => {
    timer = undefined;
    if (closed || pending.size === 0) return;
    const files: string[] = [];
    for (const rel of [...pending].sort()) {
      const sig = signature(join(root, rel));
      if (sig !== undefined) {
        known.add(rel);
        if (reported.get(rel) === sig) continue;
        reported.set(rel, sig);
        files.push(rel);
      } else {
        reported.delete(rel);
        if (known.delete(rel)) files.push(rel);
      }
    }
    pending.clear();
    const at = firstSeen;
    firstSeen = 0;
    if (files.length > 0) options.onChange(files, at);
  };
  /** `echo`: chokidar's own event for a file its raw event already reported (it comes after a stat). */
  const changed = (rel: string, echo = false) => {
    if (closed || (echo && pending.has(rel))) return;
    const now = Date.now();
    if (pending.size === 0) firstSeen = now;
    pending.add(rel);
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, Math.max(0, Math.min(debounceMs, firstSeen + maxWaitMs - now)));
  };

  const start = (polling: boolean) => {
    let scanned = false;
    let markReady: () => void = () => {};
    ready = new Promise((resolve) => (markReady = resolve));
    // Milliseconds: a file modified after this while chokidar reads the tree is a change, not a known file.
    const startedAt = Date.now();
    const w = create(root, {
      ignored: absoluteIgnore(root, decide),
      // Files already there are counted as known (not reported), until chokidar has read the whole tree.
      ignoreInitial: false,
      persistent: true,
      usePolling: polling,
      interval: pollMs,
      binaryInterval: pollMs,
      // A file replaced by a rename (editors' atomic saves) is one change, not a delete and an add.
      atomic: true,
      followSymlinks: false,
    });
    // Polling compares each file with a first stat that fs.watchFile takes in the background: a save
    // between chokidar's listing and that first stat would go unseen. So the files listed are looked at
    // again once polling runs, against what they were when listed.
    const listed = polling ? new Map<string, string | undefined>() : undefined;
    const listedDirs = polling ? new Map<string, string | undefined>() : undefined;
    w.on('all', (event: string, path: string) => {
      if (closed || w !== watcher || !TREE_EVENTS.has(event)) return;
      if (event === 'addDir') {
        if (!scanned) listedDirs?.set(path, signature(path));
        return;
      }
      const rel = relative(root, path).split(sep).join('/');
      if (rel.endsWith('.gitignore')) (decide as Partial<{ reload(): void }>).reload?.();
      if (!scanned && event === 'add') {
        const sig = signature(path);
        // Modified after the watch began (ms resolution): a save while chokidar reads the tree.
        if (sig && Math.floor(Number(sig.split(':')[0])) > startedAt) changed(rel);
        else {
          known.add(rel);
          // As it is now: an event that changes nothing (attributes only) is not a save.
          if (sig) reported.set(rel, sig);
        }
        listed?.set(rel, sig);
      } else {
        listed?.delete(rel);
        changed(rel, !polling);
      }
    });
    if (!polling) {
      // chokidar reports a change after an fs.stat of its own, which waits behind other file work on a busy
      // machine; the raw file event comes at once. So a save starts the debounce at its raw event (as
      // fs.watch itself would), chokidar's event then confirms it, and creates, deletes and new folders
      // come from chokidar alone.
      const skip = absoluteIgnore(root, decide);
      w.on('raw', (_event: string, name: string | null, details?: { watchedPath?: string }) => {
        if (closed || w !== watcher || !scanned || !name || !details?.watchedPath) return;
        const watched = details.watchedPath;
        // A folder's watcher names the entry; a file's watcher names the file itself.
        const full = basename(watched) === name && !existsSync(join(watched, name)) ? watched : join(watched, name);
        const rel = relative(root, full);
        if (rel === '' || rel.startsWith('..') || !existsSync(full) || skip(full)) return;
        if (statSync(full, { throwIfNoEntry: false })?.isFile()) changed(rel.split(sep).join('/'));
      });
    }
    w.on('ready', () => {
      scanned = true;
      markReady();
      if (!listed) return;
      const recheck = setTimeout(() => {
        if (closed || w !== watcher) return;
        for (const [rel, sig] of listed) if (signature(join(root, rel)) !== sig) changed(rel);
        // A file created in a listed folder: the folder's mtime moved.
        for (const [dir, sig] of listedDirs!) {
          if (signature(dir) === sig) continue;
          let entries: Dirent[] = [];
          try {
            entries = readdirSync(dir, { withFileTypes: true });
          } catch {
            // gone
          }
          for (const e of entries) {
            const rel = relative(root, join(dir, e.name)).split(sep).join('/');
            if (e.isFile() && !known.has(rel) && !decide(rel, false)) changed(rel);
          }
        }
        listed.clear();
        listedDirs!.clear();
      }, pollMs * 2);
      recheck.unref();
    });
    w.on('error', (err: unknown) => {
      if (closed || w !== watcher || mode === 'poll') return;
      const e = err as NodeJS.ErrnoException;
      const where = typeof e.path === 'string' ? e.path : root;
      const why = e.code === 'ENOSPC' ? `${e.code}: the inotify watch limit is reached` : (e.code ?? e.message);
      fallback(`watching ${where} failed (${why}), so it is polled every ${pollMs} ms instead`);
    });
    return w;
  };

  const fallback = (why: string) => {
    if (closed || mode === 'poll') return;
    mode = 'poll';
    reason = why;
    const old = watcher;
    watcher = start(true);
    void old?.close();
    options.onFallback?.(why);
  };

  const network = options.forcePoll ?? networkFilesystem(root);
  if (network) {
    mode = 'poll';
    reason = `${network}, so it is polled every ${pollMs} ms instead`;
  }
  watcher = start(mode === 'poll');

  return {
    get mode() {
      return mode;
    },
    get reason() {
      return reason;
    },
    get ready() {
      return ready;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      void watcher?.close();
      watcher = undefined;
    },
  };
}
