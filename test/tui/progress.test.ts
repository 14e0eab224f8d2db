import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyCheck, labStatus, parseProgress, progressPath, ProgressStore, readyQuestions, stateDir, statusLabel, type LabRecord } from '../../cli/progress.ts';
import { failHealth, pass, result } from './fixtures.ts';

let state: string;
beforeEach(() => {
  state = mkdtempSync(join(tmpdir(), 'labs-state-'));
});
afterEach(() => rmSync(state, { recursive: true, force: true }));

const env = () => ({ XDG_STATE_HOME: state, HOME: '/home/nobody' });

describe('where the progress file lives', () => {
  it('is $XDG_STATE_HOME/backend-labs/progress.json', () => {
    expect(progressPath({ XDG_STATE_HOME: '/x/state' })).toBe('/x/state/backend-labs/progress.json');
  });
  it('defaults to ~/.local/state/backend-labs, and ignores a relative XDG_STATE_HOME (the spec says absolute)', () => {
    expect(stateDir({ HOME: '/home/ada' })).toBe('/home/ada/.local/state/backend-labs');
    expect(stateDir({ HOME: '/home/ada', XDG_STATE_HOME: 'relative/state' })).toBe('/home/ada/.local/state/backend-labs');
  });
});

describe('ProgressStore', () => {
  it('records a start with the folder, then every check run, in a versioned file', () => {
    const store = new ProgressStore({ env: env(), now: () => new Date('2025-03-01T10:00:00Z') });
    store.recordStart('http-basics', '/labs/http-basics');
    store.recordCheck('http-basics', 3, result([failHealth(), { ...pass('home-page'), status: 'skip' }, { ...pass('echo-json'), status: 'skip' }]), '/labs/http-basics');
    const file = JSON.parse(readFileSync(join(state, 'backend-labs', 'progress.json'), 'utf8'));
    expect(file.version).toBe(1);
    expect(file.labs['http-basics']).toMatchObject({
      startedAt: '2025-03-01T10:00:00.000Z',
      dir: '/labs/http-basics',
      attempts: 1,
      best: { passed: 0, total: 3 },
      last: { status: 'fail', passed: 0, total: 3, failed: ['health'], seed: 42 },
    });
    expect(file.labs['http-basics'].passedAt).toBeUndefined();
  });

  it('writes atomically: no temporary file is left next to it', () => {
    const store = new ProgressStore({ env: env() });
    for (let i = 0; i < 5; i++) store.recordStart(`lab-${i}`, `/labs/${i}`);
    expect(readdirSync(join(state, 'backend-labs'))).toEqual(['progress.json']);
    expect(Object.keys(store.read().labs)).toHaveLength(5);
  });

  it('moves a corrupt file aside with a message, never silently losing it, and starts afresh', () => {
    const dir = join(state, 'backend-labs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'progress.json'), '{"version": 1, "labs": {"http-basics": {"attempts": 3,');
    const messages: string[] = [];
    const store = new ProgressStore({ env: env(), warn: (m) => messages.push(m), now: () => new Date('2025-03-01T10:00:00Z') });
    expect(store.read().labs).toEqual({});
    const aside = join(dir, 'progress.json.corrupt-2025-03-01T10-00-00-000Z');
    expect(readFileSync(aside, 'utf8')).toContain('"attempts": 3');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('not valid JSON');
    expect(messages[0]).toContain(aside);
    store.recordStart('http-basics', '/labs/x');
    expect(store.read().labs['http-basics'].dir).toBe('/labs/x');
    expect(existsSync(aside)).toBe(true);
  });

  it('reads but never overwrites a file written by a newer version', () => {
    const dir = join(state, 'backend-labs');
    mkdirSync(dir, { recursive: true });
    const newer = JSON.stringify({ version: 2, labs: { 'http-basics': { attempts: 7, passedAt: '2025-01-01T00:00:00Z' } }, extra: true });
    writeFileSync(join(dir, 'progress.json'), newer);
    const messages: string[] = [];
    const store = new ProgressStore({ env: env(), warn: (m) => messages.push(m) });
    expect(store.record('http-basics')?.attempts).toBe(7);
    store.recordStart('rest-api', '/labs/rest-api');
    expect(readFileSync(join(dir, 'progress.json'), 'utf8')).toBe(newer);
    expect(messages.join('\n')).toContain('newer backend-labs');
  });

  it('keeps the well-typed fields of a record and drops the rest', () => {
    const parsed = parseProgress(JSON.stringify({ version: 1, labs: { a: { attempts: 'many', dir: '/x', best: { passed: 2 } } } }));
    expect(parsed).toEqual({ ok: true, progress: { version: 1, labs: { a: { attempts: 0, dir: '/x' } } } });
  });

  it('resets a lab to "started in this folder"', () => {
    const store = new ProgressStore({ env: env() });
    store.recordCheck('http-basics', 1, result([pass('health')]), '/labs/a');
    expect(store.record('http-basics')?.passedAt).toBeDefined();
    store.recordReset('http-basics', '/labs/a');
    expect(store.record('http-basics')).toMatchObject({ attempts: 0, dir: '/labs/a' });
    expect(store.record('http-basics')?.passedAt).toBeUndefined();
  });
});

describe('applyCheck: a lab counts as passed only when every check passes in one run', () => {
  const at = '2025-03-01T10:00:00.000Z';
  it('a full passing run passes the lab and is the best', () => {
    const rec: LabRecord = { attempts: 0 };
    applyCheck(rec, 2, result([pass('health'), pass('home-page')]), '/d', at);
    expect(rec).toMatchObject({ attempts: 1, passedAt: at, best: { passed: 2, total: 2 } });
  });
  it('a run of some checks (--only) that all pass does not pass the lab, and is not a best', () => {
    const rec: LabRecord = { attempts: 0 };
    applyCheck(rec, 3, result([pass('health')]), '/d', at);
    expect(rec.passedAt).toBeUndefined();
    expect(rec.best).toBeUndefined();
    expect(rec.last).toMatchObject({ passed: 1, total: 1 });
  });
  it('keeps the best run when a later one does worse, and counts every attempt', () => {
    const rec: LabRecord = { attempts: 0 };
    applyCheck(rec, 2, result([pass('health'), { ...failHealth(), id: 'home-page' }]), '/d', at);
    applyCheck(rec, 2, result([failHealth(), { ...pass('home-page'), status: 'skip' }]), '/d', '2025-03-02T00:00:00.000Z');
    expect(rec.attempts).toBe(2);
    expect(rec.best).toEqual({ passed: 1, total: 2, at });
    expect(rec.last?.failed).toEqual(['health']);
  });
  it('a run that could not start (status error) does not pass even with no failures listed', () => {
    const rec: LabRecord = { attempts: 0 };
    applyCheck(rec, 1, result([{ ...pass('health'), status: 'skip' }], { status: 'error', exitCode: 2 }), '/d', at);
    expect(rec.passedAt).toBeUndefined();
    expect(labStatus(rec, 1)).toEqual({ kind: 'started' });
  });
});

describe('labStatus: new, started, n of m checks, passed', () => {
  it.each([
    [undefined, 'new'],
    [{ attempts: 0, startedAt: 'x' }, 'started'],
    [{ attempts: 2, best: { passed: 0, total: 9, at: 'x' } }, 'started'],
    [{ attempts: 2, best: { passed: 4, total: 9, at: 'x' } }, '4 of 9 checks'],
    [{ attempts: 3, best: { passed: 9, total: 9, at: 'x' }, passedAt: 'x' }, 'passed'],
  ] as [LabRecord | undefined, string][])('%j -> %s', (rec, label) => {
    expect(statusLabel(labStatus(rec, 9))).toBe(label);
  });
});

it('readyQuestions: the questions covered by at least one passed lab', () => {
  const labs = [
    { id: 'a', questions: [1, 2] },
    { id: 'b', questions: [2, 3] },
    { id: 'c', questions: [4] },
  ];
  const ready = readyQuestions(labs, { a: { attempts: 1, passedAt: 'x' }, b: { attempts: 5 } });
  expect([...ready].sort()).toEqual([1, 2]);
});
