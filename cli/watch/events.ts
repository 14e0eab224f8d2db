// What a watch session tells its views (cli/watch/session.ts emits them; cli/watch/text.ts and
// cli/tui/watch-state.ts read them). Types only: every watch module may import this one, it imports none.
import type { RunResult } from '../../grader/events.ts';
import type { LabRun } from '../../grader/run.ts';

export type WatchMode = 'events' | 'poll';

export type WatchTrigger = 'start' | 'change' | 'manual';

export type WatchEvent =
  | { type: 'watching'; dir: string; mode: WatchMode; reason?: string }
  | { type: 'fallback'; reason: string }
  | { type: 'run'; n: number; trigger: WatchTrigger; changed: string[]; run: LabRun; /** when the first of the changes was seen */ changedAt?: number }
  | { type: 'stale'; n: number; changed: string[] }
  | { type: 'verdict'; n: number; result: RunResult; changed: string[]; trigger: WatchTrigger; saveToVerdictMs?: number }
  | { type: 'stopped' };
