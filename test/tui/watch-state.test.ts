import { describe, expect, it } from 'vitest';
import { initialWatchView, watchViewReducer, type WatchViewState } from '../../cli/tui/watch-state.ts';
import type { WatchEvent } from '../../cli/watch/events.ts';
import type { RunSource } from '../../cli/tui/run-source.ts';
import { FakeRun } from './ink-helpers.ts';
import { failHealth, pass, result } from './fixtures.ts';

const source: RunSource = { subscribe: () => () => {} };
const step = (s: WatchViewState, event: WatchEvent, at = 0) => watchViewReducer(s, { type: 'watch', event, at, source: event.type === 'run' ? source : undefined });

describe('watchViewReducer', () => {
  it('keeps the last verdict while the next run goes, and logs each verdict with what changed', () => {
    let s = step(initialWatchView(), { type: 'watching', dir: '/lab', mode: 'events' });
    s = step(s, { type: 'run', n: 1, trigger: 'start', changed: [], run: new FakeRun() });
    expect(s.current).toMatchObject({ n: 1, trigger: 'start', source });
    const first = result([failHealth(), { ...pass('home-page'), status: 'skip' }]);
    s = step(s, { type: 'verdict', n: 1, result: first, changed: [], trigger: 'start' }, 1000);
    expect(s.current).toBeUndefined();
    expect(s.last?.result).toBe(first);

    s = step(s, { type: 'run', n: 2, trigger: 'change', changed: ['src/server.ts'], run: new FakeRun() });
    expect(s.last?.result).toBe(first); // still on screen
    const second = result([pass('health'), pass('home-page')]);
    s = step(s, { type: 'verdict', n: 2, result: second, changed: ['src/server.ts'], trigger: 'change', saveToVerdictMs: 900 }, 2000);
    expect(s.last).toMatchObject({ n: 2, fixed: ['health', 'home-page'], broke: [], saveToVerdictMs: 900, changed: ['src/server.ts'] });
    expect(s.history.map((h) => [h.n, h.verdict, h.passed, h.total, h.firstFailing, h.saveToVerdictMs])).toEqual([
      [1, 'FAILED', 0, 2, 'health', undefined],
      [2, 'PASSED', 2, 2, undefined, 900],
    ]);
  });

  it('marks a run stale when files change during it, and records a fallback to polling', () => {
    let s = step(initialWatchView(), { type: 'run', n: 3, trigger: 'change', changed: ['a.ts'], run: new FakeRun() });
    s = step(s, { type: 'stale', n: 3, changed: ['b.ts'] });
    expect(s.current?.stale).toBe(true);
    s = step(s, { type: 'fallback', reason: 'watching failed (EMFILE)' });
    expect(s).toMatchObject({ mode: 'poll', reason: 'watching failed (EMFILE)' });
    s = step(s, { type: 'stopped' });
    expect(s).toMatchObject({ stopped: true, current: undefined });
  });
});
