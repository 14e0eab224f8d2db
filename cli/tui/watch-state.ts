// State of the watch view, folded from WatchSession events. Pure: times come in the actions.
import type { RunResult } from '../../grader/events.ts';
import type { WatchEvent, WatchMode } from '../watch/events.ts';
import type { RunSource } from './run-source.ts';
import { passedCount, verdictChanges, verdictOf, type Verdict } from './format.ts';

export interface HistoryItem {
  key: string;
  n: number;
  at: number;
  trigger: 'start' | 'change' | 'manual';
  changed: string[];
  verdict: Verdict;
  passed: number;
  total: number;
  totalMs: number;
  saveToVerdictMs?: number;
  firstFailing?: string;
}

export interface WatchViewState {
  dir: string;
  mode: WatchMode;
  reason?: string;
  /** The run in progress, if any (its events come through `source`). */
  current?: { n: number; trigger: 'start' | 'change' | 'manual'; changed: string[]; source: RunSource; stale: boolean };
  /** The last verdict, kept on screen while the next run goes. */
  last?: { n: number; result: RunResult; changed: string[]; saveToVerdictMs?: number; fixed: string[]; broke: string[] };
  history: HistoryItem[];
  stopped: boolean;
}

/** `source`: the run's buffered events, for a 'run' event (see bufferWatch). */
export type WatchViewAction = { type: 'watch'; event: WatchEvent; at: number; source?: RunSource };

const NO_EVENTS: RunSource = { subscribe: () => () => {} };

export function initialWatchView(dir = ''): WatchViewState {
  return { dir, mode: 'events', history: [], stopped: false };
}

export function watchViewReducer(state: WatchViewState, action: WatchViewAction): WatchViewState {
  const e = action.event;
  switch (e.type) {
    case 'watching':
      return { ...state, dir: e.dir, mode: e.mode, reason: e.reason };
    case 'fallback':
      return { ...state, mode: 'poll', reason: e.reason };
    case 'run':
      return { ...state, current: { n: e.n, trigger: e.trigger, changed: e.changed, source: action.source ?? NO_EVENTS, stale: false } };
    case 'stale':
      return state.current?.n === e.n ? { ...state, current: { ...state.current, stale: true } } : state;
    case 'verdict': {
      const { fixed, broke } = verdictChanges(state.last?.result, e.result);
      const failing = e.result.checks.find((c) => c.status === 'fail' || c.status === 'error');
      const item: HistoryItem = {
        key: `run-${e.n}`,
        n: e.n,
        at: action.at,
        trigger: e.trigger,
        changed: e.changed,
        verdict: verdictOf(e.result),
        passed: passedCount(e.result),
        total: e.result.checks.length,
        totalMs: e.result.timings.totalMs,
        saveToVerdictMs: e.saveToVerdictMs,
        firstFailing: failing?.id,
      };
      return {
        ...state,
        current: state.current?.n === e.n ? undefined : state.current,
        last: { n: e.n, result: e.result, changed: e.changed, saveToVerdictMs: e.saveToVerdictMs, fixed, broke },
        history: [...state.history, item],
      };
    }
    case 'stopped':
      return { ...state, current: undefined, stopped: true };
  }
}
