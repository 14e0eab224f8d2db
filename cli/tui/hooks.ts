// React hooks shared by the views: a ticking clock (spinners, elapsed time) and the live check state.
import { useEffect, useReducer, useState } from 'react';
import { checkViewReducer, initialCheckView, type CheckViewState } from './check-state.ts';
import type { RunSource } from './run-source.ts';

/** The current time, re-read every `intervalMs` while `active` (one timer per view, not per spinner). */
export function useNow(active: boolean, intervalMs = 100, clock: () => number = Date.now): number {
  const [now, setNow] = useState(clock);
  useEffect(() => {
    if (!active) return;
    setNow(clock());
    const timer = setInterval(() => setNow(clock()), intervalMs);
    return () => clearInterval(timer);
  }, [active, intervalMs, clock]);
  return now;
}

/** Folds a run's events into the live check view state. A new `source` starts a fresh state. */
export function useCheckView(source: RunSource | undefined, verbose = false): CheckViewState {
  const [state, dispatch] = useReducer(checkViewReducer, undefined, () => initialCheckView({ verbose, at: Date.now() }));
  useEffect(() => {
    if (!source) return;
    dispatch({ type: 'reset', at: Date.now() });
    return source.subscribe((event, at) => dispatch({ type: 'event', event, at }));
  }, [source]);
  return state;
}

export const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function spinnerFrame(now: number): string {
  return SPINNER[Math.floor(now / 80) % SPINNER.length];
}
