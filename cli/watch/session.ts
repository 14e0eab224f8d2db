// A watch session: a run at start, then one per batch of saves. One run at a time; a save during a run
// makes it stale (aborted, torn down, then run again with the new code). Views subscribe to its events.
import { EventEmitter } from 'node:events';
import type { RunResult } from '../../grader/events.ts';
import type { LabRun } from '../../grader/run.ts';
import type { WatchEvent, WatchTrigger } from './events.ts';
import { watchTree, type TreeWatcher, type TreeWatcherOptions } from './tree.ts';

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
  private queued?: { changed: string[]; at: number; trigger: Exclude<WatchTrigger, 'start'> };
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

  /** Resolves when the folder has been read and every later save is seen (tests wait for it before saving). */
  get ready(): Promise<void> {
    return this.watcher?.ready ?? Promise.resolve();
  }

  /** Re-run now (Enter in the view). */
  rerun(): void {
    this.changed([], this.now(), 'manual');
  }

  private changed(files: string[], at: number, trigger: Exclude<WatchTrigger, 'start'>): void {
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

  private launch(changed: string[], trigger: WatchTrigger, at: number | undefined): void {
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
