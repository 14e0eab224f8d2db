import { describe, expect, it } from 'vitest';
import { checkViewReducer, initialCheckView, waitingLine, type CheckViewState } from '../../cli/tui/check-state.ts';
import type { RunEvent } from '../../grader/events.ts';
import { CHECKS, failHealth, LAB, pass, result } from './fixtures.ts';

function fold(events: [RunEvent, number][], verbose = false): CheckViewState {
  return events.reduce((s, [event, at]) => checkViewReducer(s, { type: 'event', event, at }), initialCheckView({ verbose, at: 0 }));
}

const start: RunEvent = { type: 'run-start', lab: LAB, seed: 7, checks: CHECKS, dir: '/lab', startCommand: 'npm start' };

describe('checkViewReducer', () => {
  it('adds a header, then follows the phases before the checks', () => {
    const s = fold([
      [start, 10],
      [{ type: 'phase', phase: 'start' }, 11],
      [{ type: 'server-start', command: 'npm start', port: 4321 }, 12],
      [{ type: 'phase', phase: 'ready' }, 13],
    ]);
    expect(s.finished).toEqual([{ key: 'header-0', kind: 'header', title: LAB.title, labId: LAB.id, total: 3, seed: 7 }]);
    expect(s.phase).toBe('ready');
    expect(s.phaseSince).toBe(13);
    expect(waitingLine(s)).toBe('Waiting for your server to listen on port 4321');
  });

  it('tracks the running check with its start time and notes, then moves it to the finished items', () => {
    let s = fold([
      [start, 0],
      [{ type: 'check-start', id: 'health', title: CHECKS[0].title, index: 0, total: 3 }, 100],
      [{ type: 'check-note', id: 'health', message: 'sending 10 requests' }, 120],
    ]);
    expect(s.running).toEqual({ id: 'health', title: CHECKS[0].title, index: 0, total: 3, since: 100, note: 'sending 10 requests' });
    s = checkViewReducer(s, { type: 'event', event: { type: 'check-end', result: pass('health'), index: 0, total: 3 }, at: 130 });
    expect(s.running).toBeUndefined();
    expect(s.finished.at(-1)).toMatchObject({ kind: 'check', result: { id: 'health', status: 'pass' }, index: 0, total: 3 });
  });

  it("keeps the server's last lines, and shows them as they come only when verbose", () => {
    const lines: [RunEvent, number][] = Array.from({ length: 20 }, (_, i) => [{ type: 'server-output', stream: 'stdout', line: `line ${i}` }, i]);
    const quiet = fold([[start, 0], ...lines]);
    expect(quiet.serverTail).toHaveLength(15);
    expect(quiet.serverTail.at(-1)).toBe('line 19');
    expect(quiet.finished.filter((f) => f.kind === 'server-line')).toHaveLength(0);
    const loud = fold([[start, 0], ...lines], true);
    expect(loud.finished.filter((f) => f.kind === 'server-line')).toHaveLength(20);
    expect(new Set(loud.finished.map((f) => f.key)).size).toBe(loud.finished.length);
  });

  it('a service ready and the server listening are noted once, above the checks', () => {
    const s = fold([
      [start, 0],
      [{ type: 'phase', phase: 'services' }, 1],
      [{ type: 'service', name: 'postgres', state: 'starting' }, 2],
      [{ type: 'service', name: 'postgres', state: 'ready', ms: 1234 }, 3],
      [{ type: 'server-ready', ms: 671 }, 4],
    ]);
    expect(s.finished.filter((f) => f.kind === 'info').map((f) => f.kind === 'info' && f.text)).toEqual(['postgres ready (1.2 s)', 'Your server is listening (671 ms)']);
    expect(s.services).toEqual([{ name: 'postgres', state: 'ready', ms: 1234 }]);
  });

  it('ends with the result', () => {
    const r = result([failHealth()]);
    const s = fold([
      [start, 0],
      [{ type: 'check-start', id: 'health', title: CHECKS[0].title, index: 0, total: 3 }, 1],
      [{ type: 'check-end', result: failHealth(), index: 0, total: 3 }, 2],
      [{ type: 'phase', phase: 'teardown' }, 3],
      [{ type: 'run-end', result: r }, 4],
    ]);
    expect(s.phase).toBe('done');
    expect(s.result).toBe(r);
  });

  it('a note for another check than the running one is ignored', () => {
    const s = fold([
      [start, 0],
      [{ type: 'check-start', id: 'health', title: 'x', index: 0, total: 3 }, 1],
      [{ type: 'check-note', id: 'other', message: 'nope' }, 2],
    ]);
    expect(s.running?.note).toBeUndefined();
  });

  it('reset starts over (a new run in the same view)', () => {
    const s = checkViewReducer(fold([[start, 0]]), { type: 'reset', at: 99 });
    expect(s).toEqual(initialCheckView({ at: 99 }));
  });
});
