// State of the home screen (`labs` in a terminal): the catalogue with each lab's status, the filter, the
// selection, help, hints, and which screen is showing. Pure reducer + selectors + key mapping; the hook
// (use-home-input.ts) turns keys into actions and the component renders. Unit-tested without ink.
import { TRACKS, type Lab, type Track } from '../../grader/types.ts';
import { describeRuns } from '../../grader/define.ts';
import { labStatus, type LabRecord, type LabStatus } from '../progress.ts';
import { TRACK_TITLES } from '../commands/list.ts';

export { TRACK_TITLES };

export interface LabItem {
  id: string;
  title: string;
  track: Track;
  summary: string;
  difficulty: string;
  estimatedMinutes: number;
  questions: number[];
  services: string[];
  /** What a run starts (describeRuns). */
  runs: string;
  checks: number;
  record?: LabRecord;
  status: LabStatus;
}

export type Screen = { kind: 'list' } | { kind: 'check'; labId: string; dir: string; run: number; done: boolean };

export interface Message {
  tone: 'info' | 'success' | 'error' | 'warning';
  text: string;
}

export interface HomeState {
  labs: LabItem[];
  filter: string;
  /** Typing goes to the filter (after `/` or any letter that is not a key command). */
  filtering: boolean;
  selected?: string;
  help: boolean;
  /** How many hints have been revealed, per lab. */
  hints: Record<string, number>;
  /** Set while something slow happens (scaffolding, npm install). */
  busy?: string;
  message?: Message;
  screen: Screen;
  quit: boolean;
  runs: number;
}

export type HomeAction =
  | { type: 'filter-type'; text: string }
  | { type: 'filter-begin' }
  | { type: 'filter-backspace' }
  | { type: 'filter-clear' }
  | { type: 'filter-accept' }
  | { type: 'move'; by: number }
  | { type: 'move-edge'; to: 'first' | 'last' }
  | { type: 'help'; show?: boolean }
  | { type: 'hint'; labId?: string; available: number }
  | { type: 'busy'; text?: string }
  | { type: 'message'; message?: Message }
  | { type: 'records'; records: Record<string, LabRecord | undefined> }
  | { type: 'check-begin'; labId: string; dir: string }
  | { type: 'check-done' }
  | { type: 'back' }
  | { type: 'quit' };

export function toItem(lab: Lab, record: LabRecord | undefined): LabItem {
  return {
    id: lab.id,
    title: lab.title,
    track: lab.track,
    summary: lab.summary,
    difficulty: lab.difficulty,
    estimatedMinutes: lab.estimatedMinutes,
    questions: lab.questions,
    services: lab.services,
    runs: describeRuns(lab),
    checks: lab.checks.length,
    record,
    status: labStatus(record, lab.checks.length),
  };
}

export function initialHome(labs: LabItem[], message?: Message): HomeState {
  return { labs, filter: '', filtering: false, selected: labs[0]?.id, help: false, hints: {}, screen: { kind: 'list' }, quit: false, runs: 0, message };
}

/** Every whitespace-separated term must appear in the lab's id, title, track, summary or question numbers. */
export function matches(lab: LabItem, filter: string): boolean {
  const terms = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return true;
  const hay = `${lab.id} ${lab.title} ${TRACK_TITLES[lab.track]} ${lab.summary} ${lab.services.join(' ')} ${lab.questions.map((q) => `q${q}`).join(' ')}`.toLowerCase();
  return terms.every((t) => hay.includes(t));
}

export function visibleLabs(state: HomeState): LabItem[] {
  return state.labs.filter((l) => matches(l, state.filter));
}

/** The selected lab among the visible ones (the first visible one when the selection is filtered out). */
export function selectedLab(state: HomeState): LabItem | undefined {
  const visible = visibleLabs(state);
  return visible.find((l) => l.id === state.selected) ?? visible[0];
}

function withSelectionVisible(state: HomeState): HomeState {
  const sel = selectedLab(state);
  return sel?.id === state.selected ? state : { ...state, selected: sel?.id ?? state.selected };
}

export function homeReducer(state: HomeState, action: HomeAction): HomeState {
  switch (action.type) {
    case 'filter-begin':
      return { ...state, filtering: true };
    case 'filter-type':
      return withSelectionVisible({ ...state, filtering: true, filter: state.filter + action.text, message: undefined });
    case 'filter-backspace': {
      const filter = state.filter.slice(0, -1);
      return withSelectionVisible({ ...state, filter, filtering: filter.length > 0 && state.filtering });
    }
    case 'filter-clear':
      return withSelectionVisible({ ...state, filter: '', filtering: false });
    case 'filter-accept':
      return { ...state, filtering: false };
    case 'move': {
      const visible = visibleLabs(state);
      if (visible.length === 0) return state;
      const at = Math.max(0, visible.findIndex((l) => l.id === selectedLab(state)?.id));
      const next = Math.min(visible.length - 1, Math.max(0, at + action.by));
      return { ...state, selected: visible[next].id };
    }
    case 'move-edge': {
      const visible = visibleLabs(state);
      if (visible.length === 0) return state;
      return { ...state, selected: (action.to === 'first' ? visible[0] : visible[visible.length - 1]).id };
    }
    case 'help':
      return { ...state, help: action.show ?? !state.help };
    case 'hint': {
      const id = action.labId ?? selectedLab(state)?.id;
      if (!id) return state;
      const shown = state.hints[id] ?? 0;
      if (action.available === 0) return { ...state, message: { tone: 'info', text: 'This lab has no hints written yet: its README is the contract.' } };
      if (shown >= action.available) return { ...state, message: { tone: 'info', text: `That was the last hint (${action.available} of ${action.available}). The README's contract and \`labs check\` output are the rest.` } };
      return { ...state, hints: { ...state.hints, [id]: shown + 1 }, message: undefined };
    }
    case 'busy':
      return { ...state, busy: action.text };
    case 'message':
      return { ...state, message: action.message };
    case 'records':
      return { ...state, labs: state.labs.map((l) => ({ ...l, record: action.records[l.id], status: labStatus(action.records[l.id], l.checks) })) };
    case 'check-begin':
      return { ...state, screen: { kind: 'check', labId: action.labId, dir: action.dir, run: state.runs + 1, done: false }, runs: state.runs + 1, message: undefined, busy: undefined, help: false };
    case 'check-done':
      return state.screen.kind === 'check' ? { ...state, screen: { ...state.screen, done: true } } : state;
    case 'back':
      return { ...state, screen: { kind: 'list' } };
    case 'quit':
      return { ...state, quit: true };
  }
}

/** Minimal description of a key press, as ink's useInput reports it. */
export interface KeyPress {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  ctrl?: boolean;
  meta?: boolean;
  tab?: boolean;
  backspace?: boolean;
  delete?: boolean;
}

/** What a key asks for: a state change, or one of the intents that need the world (start, check, abort). */
export type Intent = HomeAction | { type: 'activate' } | { type: 'rerun' } | { type: 'abort-and-quit' } | { type: 'next-hint' };

const PRINTABLE = /^[\p{L}\p{N} ._-]$/u;

export function keyToIntent(state: HomeState, input: string, key: KeyPress): Intent | undefined {
  const ctrlC = key.ctrl && input === 'c';
  if (state.screen.kind === 'check') {
    if (!state.screen.done) return ctrlC || input === 'q' ? { type: 'abort-and-quit' } : undefined;
    if (ctrlC || input === 'q') return { type: 'quit' };
    if (key.return || key.escape || key.leftArrow || input === 'b') return { type: 'back' };
    if (input === 'r') return { type: 'rerun' };
    if (input === 'h') return { type: 'next-hint' };
    return undefined;
  }
  if (ctrlC) return state.busy ? { type: 'abort-and-quit' } : { type: 'quit' };
  if (state.help) {
    if (input === 'q') return { type: 'quit' };
    return { type: 'help', show: false };
  }
  if (key.upArrow) return { type: 'move', by: -1 };
  if (key.downArrow) return { type: 'move', by: 1 };
  if (key.pageUp) return { type: 'move', by: -10 };
  if (key.pageDown) return { type: 'move', by: 10 };
  if (key.home) return { type: 'move-edge', to: 'first' };
  if (key.end) return { type: 'move-edge', to: 'last' };
  if (key.return) return state.busy ? undefined : { type: 'activate' };
  if (key.escape) return state.filter || state.filtering ? { type: 'filter-clear' } : undefined;
  if (key.backspace || key.delete) return state.filter ? { type: 'filter-backspace' } : undefined;
  if (key.ctrl || key.meta || key.tab) return undefined;
  if (state.filtering) {
    // Pasted text arrives as one string.
    const text = [...input].filter((ch) => PRINTABLE.test(ch)).join('');
    return text ? { type: 'filter-type', text } : undefined;
  }
  if (input === 'q') return state.busy ? { type: 'abort-and-quit' } : { type: 'quit' };
  if (input === '?') return { type: 'help' };
  if (input === 'h') return { type: 'next-hint' };
  if (input === '/') return { type: 'filter-begin' };
  const text = [...input].filter((ch) => PRINTABLE.test(ch) && ch !== ' ').join('');
  return text ? { type: 'filter-type', text } : undefined;
}

export type ListRow = { kind: 'track'; track: Track; title: string } | { kind: 'lab'; lab: LabItem; selected: boolean } | { kind: 'more'; above: number; below: number };

/** The list, grouped by track, cut to `maxRows` around the selection. */
export function listRows(state: HomeState, maxRows: number): ListRow[] {
  const visible = visibleLabs(state);
  const sel = selectedLab(state)?.id;
  const rows: ListRow[] = [];
  for (const track of TRACKS) {
    const inTrack = visible.filter((l) => l.track === track);
    if (inTrack.length === 0) continue;
    rows.push({ kind: 'track', track, title: TRACK_TITLES[track] });
    for (const lab of inTrack) rows.push({ kind: 'lab', lab, selected: lab.id === sel });
  }
  if (rows.length <= maxRows) return rows;
  const budget = Math.max(3, maxRows - 1); // one row says what is cut
  const at = Math.max(0, rows.findIndex((r) => r.kind === 'lab' && r.selected));
  const start = Math.max(0, Math.min(at - Math.floor(budget / 2), rows.length - budget));
  const labsIn = (rs: ListRow[]) => rs.filter((r) => r.kind === 'lab').length;
  const above = labsIn(rows.slice(0, start));
  const below = labsIn(rows.slice(start + budget));
  return [...rows.slice(start, start + budget), { kind: 'more', above, below }];
}

/** Counts for the footer: "3 of 33 labs · 1 passed". */
export function counts(state: HomeState): { shown: number; total: number; passed: number } {
  return { shown: visibleLabs(state).length, total: state.labs.length, passed: state.labs.filter((l) => l.status.kind === 'passed').length };
}
