import { describe, expect, it } from 'vitest';
import { describeChanged, failureSections, formatMs, showDir, summaryLine, verdictChanges, verdictOf } from '../../cli/tui/format.ts';
import { failHealth, pass, result } from './fixtures.ts';

describe('formatMs', () => {
  it.each([
    [0, '0 ms'],
    [849.6, '850 ms'],
    [1234, '1.2 s'],
    [12_345, '12 s'],
    [125_000, '2 min 05 s'],
  ])('%d -> %s', (ms, text) => expect(formatMs(ms)).toBe(text));
});

describe('failureSections: what a failure expands into', () => {
  it('message, sent, expected, received, curl, hint, and the server last lines, in that order', () => {
    const sections = failureSections(failHealth());
    expect(sections.map((s) => s.label || s.tone)).toEqual([
      'message',
      'Sent',
      'Expected',
      'Received',
      'Reproduce (with your server running: PORT=4321 npm start)',
      'Hint',
      "Your server's last lines",
    ]);
    expect(sections[1].body).toBe('GET /health\naccept: application/json');
    expect(sections[3].body).toContain('HTTP 404');
    expect(sections[3].body).toContain('not implemented yet');
    expect(sections[4].body).toBe("curl -i http://127.0.0.1:4321/health -H 'accept: application/json'");
    expect(sections[6].body).toBe('[your server] listening on 4321\n[your server] GET /health');
  });
  it('uses the lab folder start command in the reproduction, and says a grader bug is not the learner', () => {
    const bug = { ...failHealth(), status: 'error' as const };
    const sections = failureSections(bug, 'python app.py');
    expect(sections.find((s) => s.tone === 'curl')?.label).toContain('PORT=4321 python app.py');
    expect(sections.find((s) => s.tone === 'bug')?.body).toContain('bug in the grader');
  });
  it("uses the engine's own start line when it gives one (e.g. with the lab's environment)", () => {
    const r = { ...failHealth(), reproduceStart: 'env $(cat .labs/server.env) PORT=4321 npm start' };
    expect(failureSections(r).find((s) => s.tone === 'curl')?.label).toBe('Reproduce (with your server running: env $(cat .labs/server.env) PORT=4321 npm start)');
  });
  it('a transport error with no response is what was received', () => {
    const f = failHealth();
    f.failure!.exchange = { ...f.failure!.exchange!, response: undefined, error: 'connection reset by your server' };
    expect(failureSections(f).find((s) => s.label === 'Received')?.body).toBe('connection reset by your server');
  });
  it('nothing for a pass or a skip', () => {
    expect(failureSections(pass('health'))).toEqual([]);
    expect(failureSections({ ...pass('health'), status: 'skip' })).toEqual([]);
  });
});

describe('verdicts', () => {
  it('names each outcome', () => {
    expect(verdictOf(result([pass('health')]))).toBe('PASSED');
    expect(verdictOf(result([failHealth()]))).toBe('FAILED');
    expect(verdictOf(result([], { status: 'error', exitCode: 2 }))).toBe('COULD NOT RUN');
    expect(verdictOf(result([], { status: 'error', exitCode: 130 }))).toBe('STOPPED');
    expect(verdictOf(result([], { status: 'error', exitCode: 4 }))).toBe('GRADER BUG');
  });
  it('summary line: n of m passed, time, seed', () => {
    expect(summaryLine(result([pass('health'), failHealth()]))).toBe('1 of 2 checks passed · 1.2 s · seed 42');
  });
  it('which checks changed between two verdicts', () => {
    const before = result([failHealth(), pass('home-page')]);
    const after = result([pass('health'), { ...failHealth(), id: 'home-page' }]);
    expect(verdictChanges(before, after)).toEqual({ fixed: ['health'], broke: ['home-page'] });
    expect(verdictChanges(undefined, after)).toEqual({ fixed: [], broke: [] });
  });
});

it('describeChanged lists a few files and counts the rest', () => {
  expect(describeChanged(['a.ts'])).toBe('a.ts');
  expect(describeChanged(['a.ts', 'b.ts'])).toBe('a.ts and b.ts');
  expect(describeChanged(['a', 'b', 'c'])).toBe('a, b and c');
  expect(describeChanged(['a', 'b', 'c', 'd', 'e'])).toBe('a, b and 3 more');
});

it('showDir: relative inside the working folder, ~ under home, else absolute', () => {
  expect(showDir('/w/labs/http-basics', '/w/labs', '/home/ada')).toBe('./http-basics');
  expect(showDir('/w/labs', '/w/labs', '/home/ada')).toBe('.');
  expect(showDir('/home/ada/x', '/w', '/home/ada')).toBe('~/x');
  expect(showDir('/srv/x', '/w', '/home/ada')).toBe('/srv/x');
});
