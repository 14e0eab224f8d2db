// A LabRun's events, buffered from the moment the run is created, so a view that subscribes later (React
// effects run after the first render) still sees every event, in order, with the time it happened.
import type { RunEvent } from '../../grader/events.ts';
import type { LabRun } from '../../grader/run.ts';

export type TimedListener = (event: RunEvent, at: number) => void;

export interface RunSource {
  subscribe(listener: TimedListener): () => void;
}

export function bufferRun(run: Pick<LabRun, 'on'>, now: () => number = Date.now): RunSource {
  const seen: { event: RunEvent; at: number }[] = [];
  const listeners = new Set<TimedListener>();
  run.on((event) => {
    const at = now();
    seen.push({ event, at });
    for (const l of listeners) l(event, at);
  });
  return {
    subscribe(listener) {
      for (const { event, at } of seen) listener(event, at);
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Minimal shape of a watch session's event feed (cli/watch/session.ts WatchSession). */
export interface WatchFeed<E extends { type: string }> {
  subscribe(listener: (event: E) => void): () => void;
}

export type TimedWatchListener<E> = (event: E, at: number, source?: RunSource) => void;

/**
 * A watch session's events, buffered from now on; each 'run' event gets its run's buffered events
 * (subscribed synchronously, before the run emits anything).
 */
export function bufferWatch<E extends { type: string; run?: Pick<LabRun, 'on'> }>(feed: WatchFeed<E>, now: () => number = Date.now): { subscribe(listener: TimedWatchListener<E>): () => void } {
  const seen: { event: E; at: number; source?: RunSource }[] = [];
  const listeners = new Set<TimedWatchListener<E>>();
  feed.subscribe((event) => {
    const at = now();
    const source = event.type === 'run' && event.run ? bufferRun(event.run, now) : undefined;
    seen.push({ event, at, source });
    if (seen.length > 40) seen.splice(1, seen.length - 40); // only late subscribers replay; keep the first ('watching')
    for (const l of listeners) l(event, at, source);
  });
  return {
    subscribe(listener) {
      for (const s of seen) listener(s.event, s.at, s.source);
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
