// The home screen's view: the labs grouped by track with their status, a details pane, the filter,
// messages, help and the key line. Pure components of HomeState.
import React from 'react';
import { Box, Text } from 'ink';
import { question, QUESTIONS } from '../../questions.ts';
import { statusLabel, type LabStatus } from '../../progress.ts';
import { counts, listRows, selectedLab, TRACK_TITLES, type HomeState, type LabItem, type Message } from '../home-state.ts';
import type { Hint } from '../hints.ts';

export function StatusText({ status }: { status: LabStatus }) {
  switch (status.kind) {
    case 'new':
      return <Text dimColor>new</Text>;
    case 'started':
      return <Text color="yellow">started</Text>;
    case 'partial':
      return <Text color="cyan">{statusLabel(status)}</Text>;
    case 'passed':
      return <Text color="green">✓ passed</Text>;
  }
}

export function LabList({ state, maxRows, width }: { state: HomeState; maxRows: number; width: number }) {
  const rows = listRows(state, maxRows);
  const idWidth = Math.min(24, Math.max(8, ...state.labs.map((l) => l.id.length)));
  if (rows.length === 0) {
    return (
      <Box width={width} flexDirection="column">
        <Text dimColor>No lab matches “{state.filter}”.</Text>
        <Text dimColor>Esc clears the filter.</Text>
      </Box>
    );
  }
  return (
    <Box width={width} flexDirection="column">
      {rows.map((row) => {
        if (row.kind === 'track') {
          return (
            <Text key={`t-${row.track}`} bold>
              {row.title}
            </Text>
          );
        }
        if (row.kind === 'more') {
          return (
            <Text key="more" dimColor>
              {'  '}
              {row.above ? `↑ ${row.above} more` : ''}
              {row.above && row.below ? ' · ' : ''}
              {row.below ? `↓ ${row.below} more` : ''}
            </Text>
          );
        }
        return (
          <Text key={row.lab.id} wrap="truncate-end">
            <Text color={row.selected ? 'cyan' : undefined}>{row.selected ? '❯ ' : '  '}</Text>
            <Text bold={row.selected} color={row.selected ? 'cyan' : undefined}>
              {row.lab.id.padEnd(idWidth)}
            </Text>{' '}
            <StatusText status={row.lab.status} />
          </Text>
        );
      })}
    </Box>
  );
}

function Field({ name, children }: { name: string; children: React.ReactNode }) {
  return (
    <Text wrap="wrap">
      <Text dimColor>{name.padEnd(11)}</Text>
      {children}
    </Text>
  );
}

export function Details({
  lab,
  hints,
  shownHints,
  showDir,
  compact = false,
}: {
  lab: LabItem;
  hints: Hint[];
  shownHints: number;
  showDir: (dir: string) => string;
  /** A short terminal: questions by number only. */
  compact?: boolean;
}) {
  const rec = lab.record;
  const where = rec?.dir ? showDir(rec.dir) : undefined;
  const action = lab.status.kind === 'new' || !where ? `start it in ./${lab.id}` : `check it in ${where}`;
  return (
    <Box flexDirection="column" flexGrow={1}>
      <Text bold wrap="wrap">
        {lab.title}
      </Text>
      <Text wrap="wrap">{lab.summary}</Text>
      <Box marginTop={1} flexDirection="column">
        <Field name="Track">{TRACK_TITLES[lab.track]}</Field>
        <Field name="Difficulty">
          {lab.difficulty}, about {lab.estimatedMinutes} min
        </Field>
        <Field name="Runs">{lab.runs}</Field>
        <Field name="Services">{lab.services.length ? lab.services.join(', ') : 'none'}</Field>
        <Field name="Checks">{String(lab.checks)}</Field>
        <Field name="Status">
          <StatusText status={lab.status} />
          {where ? <Text dimColor> · in {where}</Text> : null}
          {rec && rec.attempts > 0 ? (
            <Text dimColor>
              {' '}
              · {rec.attempts} run{rec.attempts === 1 ? '' : 's'}
            </Text>
          ) : null}
        </Field>
        {rec?.last ? (
          <Field name="Last run">
            {rec.last.status === 'pass' ? <Text color="green">passed</Text> : rec.last.status === 'fail' ? <Text color="red">failed</Text> : <Text color="red">could not run</Text>}
            <Text dimColor>
              {' '}
              · {rec.last.passed} of {rec.last.total} checks passed
              {rec.last.failed.length ? ` · failing: ${rec.last.failed.join(', ')}` : ''}
            </Text>
          </Field>
        ) : null}
      </Box>
      {compact ? (
        <Field name="Questions">
          {lab.questions.join(', ')} <Text dimColor>(labs questions)</Text>
        </Field>
      ) : (
        <Box marginTop={1} flexDirection="column">
          <Text dimColor>Interview questions it covers ({lab.questions.length}):</Text>
          {lab.questions.map((n) => (
            <Text key={n} wrap="truncate-end">
              {'  '}
              <Text dimColor>{String(n).padStart(2)}.</Text> {n >= 1 && n <= QUESTIONS.length ? question(n) : '?'}
            </Text>
          ))}
        </Box>
      )}
      {shownHints > 0 ? <HintsPanel hints={hints} shown={shownHints} /> : null}
      <Box marginTop={1}>
        <Text>
          <Text color="cyan">Enter</Text> {action}
          {hints.length ? <Text dimColor> · h hint {Math.min(shownHints + 1, hints.length)} of {hints.length}</Text> : null}
        </Text>
      </Box>
    </Box>
  );
}

/** The latest hint revealed (one at a time keeps the screen within the terminal's height). */
export function HintsPanel({ hints, shown }: { hints: Hint[]; shown: number }) {
  const i = Math.min(shown, hints.length) - 1;
  const h = hints[i];
  if (!h) return null;
  return (
    <Box marginTop={1} flexDirection="column">
      <Text>
        <Text color="yellow">
          Hint {i + 1} of {hints.length}:
        </Text>{' '}
        <Text bold>{h.title}</Text>
      </Text>
      <Box paddingLeft={2}>
        <Text wrap="wrap">{h.body}</Text>
      </Box>
    </Box>
  );
}

export function Help() {
  const row = (keys: string, what: string) => (
    <Box>
      <Box width={28} flexShrink={0} paddingLeft={2}>
        <Text color="cyan">{keys}</Text>
      </Box>
      <Box flexGrow={1}>
        <Text wrap="wrap">{what}</Text>
      </Box>
    </Box>
  );
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold>Keys</Text>
      {row('↑ ↓  PgUp PgDn  Home End', 'move')}
      {row('letters, digits', 'filter the list (q, h and ? are commands: type / first to filter with them)')}
      {row('/', 'filter with any character')}
      {row('Esc', 'clear the filter')}
      {row('Enter', 'start the selected lab (creates ./<lab>), or check it when it is started')}
      {row('h', 'next hint for the selected lab')}
      {row('?', 'this help')}
      {row('q  Ctrl-C', 'quit')}
      <Text bold>During a check</Text>
      {row('Enter  Esc', 'back to the list (when it has finished)')}
      {row('r', 'run the checks again')}
      {row('h', 'next hint')}
      {row('q  Ctrl-C', 'stop the run and quit')}
      <Text dimColor>Any key closes this help.</Text>
    </Box>
  );
}

export function MessageLine({ message }: { message?: Message }) {
  if (!message) return null;
  const colour = { info: undefined, success: 'green', error: 'red', warning: 'yellow' }[message.tone];
  const mark = { info: 'ℹ', success: '✓', error: '✗', warning: '!' }[message.tone];
  return (
    <Text color={colour} wrap="wrap">
      {mark} {message.text}
    </Text>
  );
}

export function HomeView({
  state,
  width,
  rows,
  hints,
  showDir,
  busyLine,
  questionsReady,
}: {
  state: HomeState;
  width: number;
  rows: number;
  hints: Hint[];
  showDir: (dir: string) => string;
  busyLine?: React.ReactNode;
  questionsReady: number;
}) {
  const sel = selectedLab(state);
  const c = counts(state);
  const wide = width >= 90;
  const listWidth = Math.min(46, Math.max(30, Math.floor(width * 0.38)));
  const maxRows = Math.max(6, rows - (wide ? 8 : 24));
  return (
    <Box flexDirection="column" width={width}>
      <Text>
        <Text bold>backend-labs</Text>
        <Text dimColor>
          {' '}
          · {c.shown === c.total ? `${c.total} lab${c.total === 1 ? '' : 's'}` : `${c.shown} of ${c.total} labs`} · {c.passed} passed · {questionsReady}/{QUESTIONS.length} interview questions ready
        </Text>
      </Text>
      {state.help ? (
        <Help />
      ) : (
        <Box flexDirection={wide ? 'row' : 'column'} marginTop={1} gap={wide ? 3 : 1}>
          <LabList state={state} maxRows={maxRows} width={wide ? listWidth : width} />
          {sel ? <Details lab={sel} hints={hints} shownHints={state.hints[sel.id] ?? 0} showDir={showDir} compact={rows < 34} /> : null}
        </Box>
      )}
      <Box marginTop={1} flexDirection="column">
        {state.filtering || state.filter ? (
          <Text>
            <Text dimColor>Filter: </Text>
            <Text color="cyan">{state.filter}</Text>
            {state.filtering ? <Text inverse> </Text> : null}
            <Text dimColor>
              {'  '}
              {c.shown} match{c.shown === 1 ? '' : 'es'} · Esc clears
            </Text>
          </Text>
        ) : null}
        {busyLine}
        <MessageLine message={state.message} />
        <Text dimColor>
          type to filter · ↑↓ move · Enter start/check · h hint · ? keys · q quit
        </Text>
      </Box>
    </Box>
  );
}
