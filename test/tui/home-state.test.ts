import { describe, expect, it } from 'vitest';
import { homeReducer, initialHome, keyToIntent, listRows, selectedLab, visibleLabs, type HomeAction, type HomeState, type LabItem } from '../../cli/tui/home-state.ts';

function item(id: string, track: LabItem['track'], extra: Partial<LabItem> = {}): LabItem {
  return {
    id,
    title: `${id} title`,
    track,
    summary: `About ${id}.`,
    difficulty: 'beginner',
    estimatedMinutes: 30,
    questions: [1],
    services: [],
    runs: 'your server',
    checks: 5,
    status: { kind: 'new' },
    ...extra,
  };
}

const LABS = [
  item('http-basics', 'foundations', { questions: [31, 32] }),
  item('rest-api', 'foundations'),
  item('rate-limit', 'security', { services: ['redis'] }),
  item('sql-crud', 'data', { services: ['postgres'], title: 'SQL CRUD with PostgreSQL' }),
];

const apply = (state: HomeState, ...actions: HomeAction[]) => actions.reduce(homeReducer, state);

describe('filtering', () => {
  it('matches every term against id, title, track, summary, services and q<number>', () => {
    const s = initialHome(LABS);
    const ids = (filter: string) => visibleLabs({ ...s, filter }).map((l) => l.id);
    expect(ids('')).toHaveLength(4);
    expect(ids('basics')).toEqual(['http-basics']);
    expect(ids('POSTGRES')).toEqual(['sql-crud']);
    expect(ids('foundations rest')).toEqual(['rest-api']);
    expect(ids('q31')).toEqual(['http-basics']);
    expect(ids('nothing-like-this')).toEqual([]);
  });
  it('typing, backspace and Esc; the selection follows to a visible lab', () => {
    let s = apply(initialHome(LABS), { type: 'move', by: 2 });
    expect(selectedLab(s)?.id).toBe('rate-limit');
    s = apply(s, { type: 'filter-type', text: 'sq' });
    expect(s).toMatchObject({ filter: 'sq', filtering: true, selected: 'sql-crud' });
    s = apply(s, { type: 'filter-backspace' }, { type: 'filter-backspace' });
    expect(s).toMatchObject({ filter: '', filtering: false });
    s = apply(s, { type: 'filter-type', text: 'x' }, { type: 'filter-clear' });
    expect(s).toMatchObject({ filter: '', filtering: false });
  });
});

describe('moving', () => {
  it('stays within the visible labs', () => {
    let s = apply(initialHome(LABS), { type: 'move', by: -1 });
    expect(s.selected).toBe('http-basics');
    s = apply(s, { type: 'move', by: 10 });
    expect(s.selected).toBe('sql-crud');
    s = apply(s, { type: 'move-edge', to: 'first' });
    expect(s.selected).toBe('http-basics');
    s = apply(s, { type: 'filter-type', text: 'r' }, { type: 'move-edge', to: 'last' });
    expect(s.selected).toBe('sql-crud');
  });
});

describe('hints', () => {
  it('reveals one more each time, and says when there are no more', () => {
    let s = apply(initialHome(LABS), { type: 'hint', available: 2 }, { type: 'hint', available: 2 });
    expect(s.hints['http-basics']).toBe(2);
    s = apply(s, { type: 'hint', available: 2 });
    expect(s.hints['http-basics']).toBe(2);
    expect(s.message?.text).toContain('last hint');
    s = apply(s, { type: 'hint', labId: 'rest-api', available: 0 });
    expect(s.message?.text).toContain('no hints');
  });
});

describe('screens', () => {
  it('check-begin numbers the runs; done; back', () => {
    let s = apply(initialHome(LABS), { type: 'check-begin', labId: 'http-basics', dir: '/d' });
    expect(s.screen).toEqual({ kind: 'check', labId: 'http-basics', dir: '/d', run: 1, done: false });
    s = apply(s, { type: 'check-done' }, { type: 'check-begin', labId: 'http-basics', dir: '/d' });
    expect(s.screen).toMatchObject({ run: 2, done: false });
    s = apply(s, { type: 'check-done' }, { type: 'back' });
    expect(s.screen).toEqual({ kind: 'list' });
  });
  it('records update each lab status', () => {
    const s = apply(initialHome(LABS), { type: 'records', records: { 'rest-api': { attempts: 1, best: { passed: 3, total: 5, at: 'x' } }, 'sql-crud': { attempts: 2, passedAt: 'x' } } });
    expect(s.labs.map((l) => l.status.kind)).toEqual(['new', 'partial', 'new', 'passed']);
  });
});

describe('keyToIntent', () => {
  const list = initialHome(LABS);
  it('letters filter, except the commands q, h and ?', () => {
    expect(keyToIntent(list, 'b', {})).toEqual({ type: 'filter-type', text: 'b' });
    expect(keyToIntent(list, 'q', {})).toEqual({ type: 'quit' });
    expect(keyToIntent(list, 'h', {})).toEqual({ type: 'next-hint' });
    expect(keyToIntent(list, '?', {})).toEqual({ type: 'help' });
    expect(keyToIntent(list, '/', {})).toEqual({ type: 'filter-begin' });
  });
  it('while filtering every printable character is text (also q and h), and a paste arrives whole', () => {
    const filtering = { ...list, filtering: true, filter: 'x' };
    expect(keyToIntent(filtering, 'q', {})).toEqual({ type: 'filter-type', text: 'q' });
    expect(keyToIntent(filtering, 'http basics', {})).toEqual({ type: 'filter-type', text: 'http basics' });
    expect(keyToIntent(filtering, '', { escape: true })).toEqual({ type: 'filter-clear' });
    expect(keyToIntent(filtering, '', { return: true })).toEqual({ type: 'activate' });
  });
  it('Enter activates, arrows move, Backspace (either code) edits the filter, Ctrl-C quits', () => {
    expect(keyToIntent(list, '', { return: true })).toEqual({ type: 'activate' });
    expect(keyToIntent(list, '', { downArrow: true })).toEqual({ type: 'move', by: 1 });
    expect(keyToIntent(list, '', { pageUp: true })).toEqual({ type: 'move', by: -10 });
    expect(keyToIntent({ ...list, filter: 'ab' }, '', { delete: true })).toEqual({ type: 'filter-backspace' });
    expect(keyToIntent({ ...list, filter: 'ab' }, '', { backspace: true })).toEqual({ type: 'filter-backspace' });
    expect(keyToIntent(list, 'c', { ctrl: true })).toEqual({ type: 'quit' });
  });
  it('while busy (scaffolding, installing) Enter does nothing and q stops it', () => {
    const busy = { ...list, busy: 'Installing' };
    expect(keyToIntent(busy, '', { return: true })).toBeUndefined();
    expect(keyToIntent(busy, 'q', {})).toEqual({ type: 'abort-and-quit' });
  });
  it('help: any key closes it, q still quits', () => {
    const help = { ...list, help: true };
    expect(keyToIntent(help, 'x', {})).toEqual({ type: 'help', show: false });
    expect(keyToIntent(help, 'q', {})).toEqual({ type: 'quit' });
  });
  it('during a check only q / Ctrl-C (stop and quit); after it, back, run again, hint, quit', () => {
    const running = apply(list, { type: 'check-begin', labId: 'http-basics', dir: '/d' });
    expect(keyToIntent(running, '', { return: true })).toBeUndefined();
    expect(keyToIntent(running, 'q', {})).toEqual({ type: 'abort-and-quit' });
    expect(keyToIntent(running, 'c', { ctrl: true })).toEqual({ type: 'abort-and-quit' });
    const done = apply(running, { type: 'check-done' });
    expect(keyToIntent(done, '', { return: true })).toEqual({ type: 'back' });
    expect(keyToIntent(done, '', { escape: true })).toEqual({ type: 'back' });
    expect(keyToIntent(done, 'r', {})).toEqual({ type: 'rerun' });
    expect(keyToIntent(done, 'h', {})).toEqual({ type: 'next-hint' });
    expect(keyToIntent(done, 'q', {})).toEqual({ type: 'quit' });
  });
});

describe('listRows', () => {
  it('groups by track in track order', () => {
    const rows = listRows(initialHome(LABS), 50);
    expect(rows.map((r) => (r.kind === 'track' ? `# ${r.title}` : r.kind === 'lab' ? r.lab.id : 'more'))).toEqual([
      '# Foundations',
      'http-basics',
      'rest-api',
      '# Security',
      'rate-limit',
      '# Data',
      'sql-crud',
    ]);
  });
  it('cuts a long list around the selection and says how many are hidden', () => {
    const many = Array.from({ length: 30 }, (_, i) => item(`lab-${String(i).padStart(2, '0')}`, 'foundations'));
    const s = apply(initialHome(many), { type: 'move', by: 20 });
    const rows = listRows(s, 8);
    expect(rows).toHaveLength(8);
    expect(rows.some((r) => r.kind === 'lab' && r.selected && r.lab.id === 'lab-20')).toBe(true);
    const more = rows.at(-1);
    expect(more?.kind).toBe('more');
    const shownLabs = rows.filter((r) => r.kind === 'lab').length;
    if (more?.kind === 'more') expect(more.above + more.below + shownLabs).toBe(30);
  });
});
