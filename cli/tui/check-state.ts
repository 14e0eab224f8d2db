// State of the live check view, folded from the engine's RunEvents. Pure: the time of each event comes
// in the action, so the reducer is deterministic and unit-tested without a clock.
import { cutLine, type CheckResult, type RunEvent, type RunResult } from '../../grader/events.ts';
import { formatMs } from './format.ts';

/** Items that are finished and never change: ink prints them once, in <Static>, and they scroll up. */
export type FinishedItem =
  | { key: string; kind: 'header'; title: string; labId: string; total: number; seed: number }
  | { key: string; kind: 'check'; result: CheckResult; index: number; total: number }
  | { key: string; kind: 'server-line'; line: string }
  /** A step done before the checks: a service ready, the server listening. */
  | { key: string; kind: 'info'; text: string };

export type Phase = 'waiting' | 'services' | 'start' | 'ready' | 'checks' | 'teardown' | 'done';

export interface RunningCheck {
  id: string;
  title: string;
  index: number;
  total: number;
  since: number;
  note?: string;
}

export interface CheckViewState {
  verbose: boolean;
  lab?: { id: string; title: string };
  seed?: number;
  total: number;
  startCommand: string;
  port?: number;
  phase: Phase;
  /** When the current phase (or the run) began, for the elapsed time shown while waiting. */
  phaseSince: number;
  startedAt: number;
  services: { name: string; state: 'starting' | 'ready'; ms?: number }[];
  readyMs?: number;
  finished: FinishedItem[];
  running?: RunningCheck;
  /** The last lines the server printed (all of them, also when not verbose), for "your server's last lines". */
  serverTail: string[];
  serverLines: number;
  /** The last line the server printed while we wait for it to listen (server-waiting). */
  waitingLastLine?: string;
  result?: RunResult;
}

export type CheckViewAction = { type: 'event'; event: RunEvent; at: number } | { type: 'reset'; at: number };

const TAIL = 15;

export function initialCheckView(options: { verbose?: boolean; at?: number } = {}): CheckViewState {
  const at = options.at ?? 0;
  return { verbose: options.verbose ?? false, total: 0, startCommand: 'npm start', phase: 'waiting', phaseSince: at, startedAt: at, services: [], finished: [], serverTail: [], serverLines: 0 };
}

export function checkViewReducer(state: CheckViewState, action: CheckViewAction): CheckViewState {
  if (action.type === 'reset') return initialCheckView({ verbose: state.verbose, at: action.at });
  const { event, at } = action;
  switch (event.type) {
    case 'run-start':
      return {
        ...state,
        lab: event.lab,
        seed: event.seed,
        total: event.checks.length,
        startCommand: event.startCommand,
        startedAt: at,
        phaseSince: at,
        finished: [...state.finished, { key: `header-${state.finished.length}`, kind: 'header', title: event.lab.title, labId: event.lab.id, total: event.checks.length, seed: event.seed }],
      };
    case 'phase':
      return { ...state, phase: event.phase, phaseSince: at };
    case 'service': {
      const others = state.services.filter((s) => s.name !== event.name);
      const services = [...others, { name: event.name, state: event.state, ms: event.ms }];
      if (event.state !== 'ready') return { ...state, services };
      const text = `${event.name} ready${event.ms !== undefined ? ` (${formatMs(event.ms)})` : ''}`;
      return { ...state, services, finished: [...state.finished, { key: `info-${state.finished.length}`, kind: 'info', text }] };
    }
    case 'server-start':
      return { ...state, port: event.port, waitingLastLine: undefined };
    case 'server-waiting':
      return { ...state, waitingLastLine: event.lastLine };
    case 'server-ready':
      return {
        ...state,
        readyMs: event.ms,
        finished: [...state.finished, { key: `info-${state.finished.length}`, kind: 'info', text: `Your server is listening (${formatMs(event.ms)})` }],
      };
    case 'server-output': {
      const line = cutLine(event.line);
      const serverTail = [...state.serverTail, line].slice(-TAIL);
      const finished = state.verbose ? [...state.finished, { key: `line-${state.serverLines}`, kind: 'server-line' as const, line }] : state.finished;
      return { ...state, serverTail, finished, serverLines: state.serverLines + 1 };
    }
    case 'check-start':
      return { ...state, running: { id: event.id, title: event.title, index: event.index, total: event.total, since: at } };
    case 'check-note':
      if (!state.running || state.running.id !== event.id) return state;
      return { ...state, running: { ...state.running, note: event.message } };
    case 'check-end':
      return {
        ...state,
        running: state.running?.id === event.result.id ? undefined : state.running,
        finished: [...state.finished, { key: `check-${event.result.id}-${state.finished.length}`, kind: 'check', result: event.result, index: event.index, total: event.total }],
      };
    case 'run-end':
      return { ...state, running: undefined, phase: 'done', phaseSince: at, result: event.result };
    default:
      return state;
  }
}

/** One line for what the run is doing while no check is running. */
export function waitingLine(state: CheckViewState): string {
  const starting = state.services.filter((s) => s.state === 'starting').map((s) => s.name);
  switch (state.phase) {
    case 'waiting':
      return 'Preparing the run';
    case 'services':
      return starting.length ? `Starting ${starting.join(', ')}` : 'Starting services';
    case 'start':
      return `Starting your server: ${state.startCommand}${state.port ? ` (PORT=${state.port})` : ''}`;
    case 'ready':
      return `Waiting for your server to listen on port ${state.port ?? '?'}${state.waitingLastLine !== undefined ? ` · its last line: ${cutLine(state.waitingLastLine, 100)}` : ''}`;
    case 'checks':
      return 'Running checks';
    case 'teardown':
      return 'Stopping your server';
    case 'done':
      return 'Done';
  }
}
