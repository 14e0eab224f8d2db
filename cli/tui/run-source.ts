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
