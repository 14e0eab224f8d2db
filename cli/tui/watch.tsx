// `labs check --watch` in a terminal: the last verdict stays on screen while the next run goes; every
// verdict is logged above in <Static> with what changed and how long after the save it came.
import React, { useEffect, useReducer } from 'react';
import { Box, render, Static, Text, useApp, useInput } from 'ink';
import type { WatchEvent } from '../watch/events.ts';
import { CheckLine, LiveLine, Summary } from './components/check-view.tsx';
import { describeChanged, formatMs } from './format.ts';
import { useCheckView, useNow } from './hooks.ts';
import type { TimedWatchListener } from './run-source.ts';
import type { CheckViewState } from './check-state.ts';
import { initialWatchView, watchViewReducer, type HistoryItem, type WatchViewState } from './watch-state.ts';
import type { RenderStreams } from './check.tsx';

export interface WatchFeedSource {
  subscribe(listener: TimedWatchListener<WatchEvent>): () => void;
}

function clock(at: number): string {
  return new Date(at).toTimeString().slice(0, 8);
}

function why(item: { trigger: 'start' | 'change' | 'manual'; changed: string[] }): string {
  if (item.trigger === 'start') return 'first run';
  if (item.trigger === 'manual' && item.changed.length === 0) return 'run again';
  return `${describeChanged(item.changed)} changed`;
}

export function HistoryLine({ item }: { item: HistoryItem }) {
  const good = item.verdict === 'PASSED';
  return (
    <Text>
      <Text dimColor>
        {clock(item.at)} run {item.n} · {why(item)} →{' '}
      </Text>
      <Text color={good ? 'green' : 'red'} bold>
        {item.verdict}
      </Text>{' '}
      {item.passed} of {item.total}
      {item.firstFailing ? <Text dimColor> · failing {item.firstFailing}</Text> : null}
      <Text dimColor>{item.saveToVerdictMs !== undefined ? ` · verdict ${formatMs(item.saveToVerdictMs)} after the save` : ` · ${formatMs(item.totalMs)}`}</Text>
    </Text>
  );
}

function Header({ state }: { state: WatchViewState }) {
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>Watching</Text> {state.dir} <Text dimColor>{state.mode === 'events' ? '(file events; node_modules and build output ignored)' : '(polling)'}</Text>
      </Text>
      {state.mode === 'poll' && state.reason ? <Text color="yellow">! Polling for changes: {state.reason}.</Text> : null}
    </Box>
  );
}

function LastVerdict({ last, startCommand }: { last: NonNullable<WatchViewState['last']>; startCommand: string }) {
  const failing = last.result.checks.find((c) => c.status === 'fail' || c.status === 'error');
  const index = failing ? last.result.checks.indexOf(failing) : -1;
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text dimColor>
        Last verdict: run {last.n} · {why({ trigger: last.changed.length ? 'change' : 'start', changed: last.changed })}
        {last.saveToVerdictMs !== undefined ? ` · ${formatMs(last.saveToVerdictMs)} after the save` : ''}
      </Text>
      {failing ? <CheckLine result={failing} index={index} total={last.result.checks.length} startCommand={startCommand} /> : null}
      {last.fixed.length || last.broke.length ? (
        <Text>
          {last.fixed.length ? <Text color="green">now passing: {last.fixed.join(', ')}</Text> : null}
          {last.fixed.length && last.broke.length ? ' · ' : ''}
          {last.broke.length ? <Text color="red">now failing: {last.broke.join(', ')}</Text> : null}
        </Text>
      ) : null}
      <Summary result={last.result} compact />
    </Box>
  );
}

/** The run in progress, compact: how many passed so far, and a failure as soon as it happens. */
function CurrentChecks({ state }: { state: CheckViewState }) {
  const checks = state.finished.flatMap((f) => (f.kind === 'check' ? [f] : []));
  const passed = checks.filter((c) => c.result.status === 'pass').length;
  const failed = checks.filter((c) => c.result.status === 'fail' || c.result.status === 'error');
  return (
    <Box flexDirection="column">
      {passed > 0 ? (
        <Text>
          <Text color="green">✓</Text> {passed} of {state.total} passed
        </Text>
      ) : null}
      {failed.map((f) => (
        <CheckLine key={f.key} result={f.result} index={f.index} total={f.total} startCommand={state.startCommand} />
      ))}
    </Box>
  );
}

export function WatchApp({ feed, interactive = false, onQuit, onRerun }: { feed: WatchFeedSource; interactive?: boolean; onQuit?: () => void; onRerun?: () => void }) {
  const [state, dispatch] = useReducer(watchViewReducer, undefined, () => initialWatchView());
  useEffect(() => feed.subscribe((event, at, source) => dispatch({ type: 'watch', event, at, source })), [feed]);
  const run = useCheckView(state.current?.source);
  const now = useNow(Boolean(state.current));
  const { exit } = useApp();
  useEffect(() => {
    if (state.stopped) exit();
  }, [state.stopped, exit]);
  useInput(
    (input, key) => {
      if (input === 'q' || (key.ctrl && input === 'c')) onQuit?.();
      else if (key.return || input === 'r') onRerun?.();
    },
    { isActive: interactive },
  );
  const current = state.current;
  return (
    <>
      <Static items={state.history}>{(item) => <HistoryLine key={item.key} item={item} />}</Static>
      <Box flexDirection="column">
        <Header state={state} />
        {state.last ? <LastVerdict last={state.last} startCommand={run.startCommand} /> : null}
        {current ? (
          <Box flexDirection="column" marginTop={1}>
            <Text dimColor>
              Run {current.n} · {why(current)}
              {current.stale ? ' · files changed again: stopping it to run the new code' : ''}
            </Text>
            <CurrentChecks state={run} />
            {run.result ? null : <LiveLine state={run} now={now} />}
          </Box>
        ) : null}
        <Box marginTop={1}>
          <Text dimColor>{state.stopped ? 'Stopped watching.' : interactive ? 'Saving a file runs the checks again · Enter run now · q stop watching' : 'Saving a file runs the checks again · Ctrl-C stops watching'}</Text>
        </Box>
      </Box>
    </>
  );
}

/** Draws the session until it stops. */
export async function renderWatch(feed: WatchFeedSource, options: RenderStreams & { interactive: boolean; onQuit: () => void; onRerun: () => void }): Promise<void> {
  const instance = render(<WatchApp feed={feed} interactive={options.interactive} onQuit={options.onQuit} onRerun={options.onRerun} />, {
    stdout: options.stdout ?? process.stdout,
    stdin: options.stdin ?? process.stdin,
    stderr: options.stderr ?? process.stderr,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  await instance.waitUntilExit();
  // After raw-mode keyboard input ink leaves the cursor at the end of the last line.
  if (options.interactive) (options.stdout ?? process.stdout).write('\n');
}
