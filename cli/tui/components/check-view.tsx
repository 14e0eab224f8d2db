// The live check view: finished checks scroll up in <Static>, the running one shows a spinner and its
// elapsed time, a failure expands (sent, expected, received, curl, hint, the server's last lines), and
// a summary line closes the run. Components only: state comes from check-state.ts via useCheckView.
import React from 'react';
import { Box, Static, Text, useStdout } from 'ink';
import type { CheckResult, RunResult } from '../../../grader/events.ts';
import { SERVER_PREFIX } from '../../../grader/report/text.ts';
import { waitingLine, type CheckViewState, type FinishedItem } from '../check-state.ts';
import { failureSections, formatMs, summaryLine, verdictOf, type Section } from '../format.ts';
import { spinnerFrame } from '../hooks.ts';

/** `unwrapped`: the curl line keeps its full length (the terminal soft-wraps it, so it copies as one line). Only for <Static> output. */
function SectionView({ section, unwrapped = false }: { section: Section; unwrapped?: boolean }) {
  const body = (color?: string, dim?: boolean) => (
    <Box paddingLeft={2}>
      <Text color={color} dimColor={dim}>
        {section.body}
      </Text>
    </Box>
  );
  switch (section.tone) {
    case 'message':
      return <Text>{section.body}</Text>;
    case 'hint':
      return (
        <Text>
          <Text color="yellow">Hint:</Text> {section.body}
        </Text>
      );
    case 'bug':
      return <Text color="red">{section.body}</Text>;
    case 'curl':
      return (
        <Box flexDirection="column">
          <Text dimColor>{section.label}:</Text>
          {unwrapped ? (
            <Box paddingLeft={2} width={section.body.length + 2} flexShrink={0}>
              <Text color="cyan" wrap="truncate-end">
                {section.body}
              </Text>
            </Box>
          ) : (
            body('cyan')
          )}
        </Box>
      );
    case 'output':
      return (
        <Box flexDirection="column">
          <Text dimColor>{section.label}:</Text>
          {body(undefined, true)}
        </Box>
      );
    default:
      return (
        <Box flexDirection="column">
          <Text dimColor>{section.label}:</Text>
          {body()}
        </Box>
      );
  }
}

export function FailureDetails({ result, startCommand, unwrapped }: { result: CheckResult; startCommand?: string; unwrapped?: boolean }) {
  const { stdout } = useStdout();
  const sections = failureSections(result, startCommand);
  if (sections.length === 0) return null;
  // A long curl line widens this column; the other sections still wrap at the terminal's width.
  const width = Math.max(20, (stdout.columns || 80) - 4);
  return (
    <Box flexDirection="column" paddingLeft={4}>
      {sections.map((s, i) =>
        unwrapped && s.tone !== 'curl' ? (
          <Box key={i} width={width}>
            <SectionView section={s} />
          </Box>
        ) : (
          <SectionView key={i} section={s} unwrapped={unwrapped} />
        ),
      )}
    </Box>
  );
}

export function CheckLine({
  result,
  index,
  total,
  startCommand,
  expand = true,
  unwrapped = false,
}: {
  result: CheckResult;
  index?: number;
  total?: number;
  startCommand?: string;
  expand?: boolean;
  unwrapped?: boolean;
}) {
  const pos = index !== undefined && total !== undefined ? <Text dimColor>[{index + 1}/{total}] </Text> : null;
  if (result.status === 'pass') {
    return (
      <Box flexDirection="column">
        <Text>
          <Text color="green">✓</Text> {pos}
          {result.title} <Text dimColor>({formatMs(result.durationMs)})</Text>
        </Text>
        {(result.notes ?? []).map((note, i) => (
          <Text key={i} dimColor>
            {'    · '}
            {note}
          </Text>
        ))}
      </Box>
    );
  }
  if (result.status === 'skip') {
    return (
      <Text dimColor>
        - {index !== undefined && total !== undefined ? `[${index + 1}/${total}] ` : ''}
        {result.title}
      </Text>
    );
  }
  return (
    <Box flexDirection="column">
      <Text>
        <Text color="red">✗</Text> {pos}
        <Text bold>{result.title}</Text> <Text dimColor>[{result.id}] ({formatMs(result.durationMs)})</Text>
      </Text>
      {expand ? <FailureDetails result={result} startCommand={startCommand} unwrapped={unwrapped} /> : null}
    </Box>
  );
}

export function FinishedItemView({ item, startCommand }: { item: FinishedItem; startCommand?: string }) {
  switch (item.kind) {
    case 'header':
      return (
        <Text>
          <Text bold>{item.title}</Text>{' '}
          <Text dimColor>
            ({item.labId}) · {item.total} {item.total === 1 ? 'check' : 'checks'} · seed {item.seed}
          </Text>
        </Text>
      );
    case 'check':
      return <CheckLine result={item.result} index={item.index} total={item.total} startCommand={startCommand} unwrapped />;
    case 'server-line':
      return (
        <Text dimColor>
          {SERVER_PREFIX} {item.line}
        </Text>
      );
    case 'info':
      return <Text dimColor>{item.text}</Text>;
  }
}

export function Summary({ result, compact = false }: { result: RunResult; compact?: boolean }) {
  const verdict = verdictOf(result);
  const good = verdict === 'PASSED';
  const notRun = result.checks.filter((c) => c.status === 'skip').length;
  return (
    <Box flexDirection="column" marginTop={compact ? 0 : 1}>
      {result.status === 'error' && result.message ? (
        <Box flexDirection="column">
          <Text color={result.exitCode === 130 ? 'yellow' : 'red'}>✗ {result.message}</Text>
          {!compact && result.serverOutput.length > 0 ? (
            <Box flexDirection="column" paddingLeft={2}>
              <Text dimColor>Your server's last lines:</Text>
              {result.serverOutput.slice(-15).map((l, i) => (
                <Text key={i} dimColor>
                  {'  '}
                  {SERVER_PREFIX} {l}
                </Text>
              ))}
            </Box>
          ) : null}
          {result.exitCode === 2 && result.serverOutput.length === 0 ? <Text dimColor>  Your server printed nothing.</Text> : null}
        </Box>
      ) : null}
      {!compact && notRun > 0 && result.status === 'fail' ? (
        <Text dimColor>
          {notRun} more check{notRun === 1 ? '' : 's'} not run: stopped at the first failure (run `labs check --all` to run every check).
        </Text>
      ) : null}
      <Text>
        <Text bold color={good ? 'green' : verdict === 'STOPPED' ? 'yellow' : 'red'}>
          {verdict}
        </Text>{' '}
        {summaryLine(result)} <Text dimColor>(replay: labs check --seed {result.seed})</Text>
      </Text>
    </Box>
  );
}

/** What is happening now: the running check (spinner, elapsed, note) or the phase before/after the checks. */
export function LiveLine({ state, now }: { state: CheckViewState; now: number }) {
  if (state.result) return null;
  if (state.running) {
    const r = state.running;
    return (
      <Box flexDirection="column">
        <Text>
          <Text color="cyan">{spinnerFrame(now)}</Text> <Text dimColor>[{r.index + 1}/{r.total}]</Text> {r.title} <Text dimColor>{formatMs(now - r.since)}</Text>
        </Text>
        {r.note ? <Text dimColor>    {r.note}</Text> : null}
      </Box>
    );
  }
  return (
    <Text>
      <Text color="cyan">{spinnerFrame(now)}</Text> {waitingLine(state)} <Text dimColor>{formatMs(now - state.phaseSince)}</Text>
    </Text>
  );
}

/** The whole live view for one run: Static history + live line + summary. Mount with a fresh `key` per run. */
export function CheckView({ state, now, footer }: { state: CheckViewState; now: number; footer?: React.ReactNode }) {
  return (
    <>
      <Static items={state.finished}>{(item) => <FinishedItemView key={item.key} item={item} startCommand={state.startCommand} />}</Static>
      <Box flexDirection="column">
        <LiveLine state={state} now={now} />
        {state.result ? <Summary result={state.result} /> : null}
        {footer}
      </Box>
    </>
  );
}
