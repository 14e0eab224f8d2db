// `labs` in a terminal: browse the labs, start one, check it, read hints. Loaded only in the TTY path.
import React, { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { Box, render, Text, useApp, useStdout } from 'ink';
import type { LabRun } from '../../grader/run.ts';
import type { Lab } from '../../grader/types.ts';
import { loadLabs } from '../../labs/index.ts';
import { readyQuestions } from '../progress.ts';
import { CheckView } from './components/check-view.tsx';
import { HintsPanel, HomeView, MessageLine } from './components/home-view.tsx';
import { hintsFor, type Hint } from './hints.ts';
import { homeReducer, initialHome, selectedLab, toItem, type HomeAction, type HomeState } from './home-state.ts';
import { spinnerFrame, useCheckView, useNow } from './hooks.ts';
import { bufferRun, type RunSource } from './run-source.ts';
import { createServices, showDir, type HomeServices } from './services.ts';
import { useHomeInput } from './use-home-input.ts';
import type { RenderStreams } from './check.tsx';

interface ActiveRun {
  labId: string;
  dir: string;
  run: LabRun;
  source: RunSource;
}

function CheckScreen({ active, state, hints, cwd }: { active: ActiveRun; state: HomeState; hints: Hint[]; cwd: string }) {
  const view = useCheckView(active.source);
  const now = useNow(!view.result);
  const done = state.screen.kind === 'check' && state.screen.done;
  const shown = state.hints[active.labId] ?? 0;
  const footer = (
    <Box flexDirection="column" marginTop={1}>
      {shown > 0 ? <HintsPanel hints={hints} shown={shown} /> : null}
      <MessageLine message={state.message} />
      <Text dimColor>
        {done ? 'Enter back to the list · r run again · h next hint · q quit' : `checking ${showDir(active.dir, cwd)} · q stop and quit`}
      </Text>
    </Box>
  );
  return <CheckView state={view} now={now} footer={footer} />;
}

export interface HomeAppProps {
  labs: Lab[];
  services: HomeServices;
}

export function HomeApp({ labs, services }: HomeAppProps) {
  const byId = useMemo(() => new Map(labs.map((l) => [l.id, l])), [labs]);
  const [state, reactDispatch] = useReducer(homeReducer, undefined, () => {
    const records = services.records();
    const warnings = services.drainWarnings();
    return initialHome(
      labs.map((l) => toItem(l, records[l.id])),
      warnings.length ? { tone: 'warning', text: warnings.join(' ') } : undefined,
    );
  });
  // Key handlers read the latest state from a mirror kept in step with the reducer, so two keys pressed
  // before React re-renders (fast typing, key repeat) are each judged on the state the previous one made.
  const latest = useRef(state);
  const dispatch = useCallback((action: HomeAction) => {
    latest.current = homeReducer(latest.current, action);
    reactDispatch(action);
  }, []);
  const [active, setActive] = useState<ActiveRun>();
  const activeRef = useRef(active);
  activeRef.current = active;
  const startAbort = useRef<AbortController>(undefined);
  const quitAfterRun = useRef(false);
  const { exit } = useApp();
  const { stdout } = useStdout();
  const now = useNow(Boolean(state.busy));

  useEffect(() => {
    if (state.quit) exit();
  }, [state.quit, exit]);

  const refresh = useCallback(() => {
    dispatch({ type: 'records', records: services.records() });
    const warnings = services.drainWarnings();
    if (warnings.length) dispatch({ type: 'message', message: { tone: 'warning', text: warnings.join(' ') } });
  }, [services, dispatch]);

  const hintsOf = (labId: string | undefined): Hint[] => {
    const lab = labId ? byId.get(labId) : undefined;
    if (!lab) return [];
    return hintsFor(lab, services.readmeHints(lab));
  };

  const startCheck = (lab: Lab, dir: string) => {
    const run = services.check(lab, dir);
    const source = bufferRun(run);
    const next = { labId: lab.id, dir, run, source };
    activeRef.current = next;
    setActive(next);
    dispatch({ type: 'check-begin', labId: lab.id, dir });
    void run.result.then((result) => {
      services.finished(lab, result, dir);
      refresh();
      dispatch({ type: 'check-done' });
      if (quitAfterRun.current) dispatch({ type: 'quit' });
    });
  };

  const handlers = {
    activate() {
      const item = selectedLab(latest.current);
      const lab = item && byId.get(item.id);
      if (!item || !lab) return;
      dispatch({ type: 'filter-accept' });
      const dir = item.record?.dir;
      if (dir && services.isLabFolder(dir, lab.id)) {
        startCheck(lab, dir);
        return;
      }
      const note = dir ? `${showDir(dir, services.cwd)} no longer holds this lab, so it starts afresh. ` : '';
      const controller = new AbortController();
      startAbort.current = controller;
      dispatch({ type: 'busy', text: `Starting ${lab.title}` });
      dispatch({ type: 'message', message: undefined });
      services
        .start(lab, (text) => dispatch({ type: 'busy', text }), controller.signal)
        .then((out) => {
          const where = showDir(out.dir, services.cwd);
          const text = out.adopted
            ? `${where} already holds ${lab.id}: recorded it as started. Press Enter again to check it.`
            : `${note}Started ${lab.title} in ${where} (${out.files} files${out.installed ? ', dependencies installed' : ''}). Next: cd ${where}, read README.md (the contract), write your server, then press Enter here or run \`labs check\` there.`;
          dispatch({ type: 'message', message: { tone: 'success', text } });
        })
        .catch((err: Error) => dispatch({ type: 'message', message: { tone: 'error', text: err.message } }))
        .finally(() => {
          startAbort.current = undefined;
          dispatch({ type: 'busy', text: undefined });
          refresh();
        });
    },
    rerun() {
      const current = activeRef.current;
      const lab = current && byId.get(current.labId);
      if (lab && current) startCheck(lab, current.dir);
    },
    nextHint() {
      const s = latest.current;
      const labId = s.screen.kind === 'check' ? s.screen.labId : selectedLab(s)?.id;
      dispatch({ type: 'hint', labId, available: hintsOf(labId).length });
    },
    abortAndQuit() {
      quitAfterRun.current = true;
      const s = latest.current;
      const current = activeRef.current;
      if (s.screen.kind === 'check' && !s.screen.done && current) {
        current.run.abort('quit');
        return;
      }
      startAbort.current?.abort();
      dispatch({ type: 'quit' });
    },
  };
  useHomeInput(latest, dispatch, handlers);

  if (state.screen.kind === 'check' && active) {
    return <CheckScreen key={state.screen.run} active={active} state={state} hints={hintsOf(active.labId)} cwd={services.cwd} />;
  }
  const width = stdout.columns || 100;
  const rows = stdout.rows || 30;
  const sel = selectedLab(state);
  const ready = readyQuestions(labs, Object.fromEntries(state.labs.map((l) => [l.id, l.record]))).size;
  return (
    <HomeView
      state={state}
      width={width}
      rows={rows}
      hints={hintsOf(sel?.id)}
      showDir={(d) => showDir(d, services.cwd)}
      questionsReady={ready}
      busyLine={
        state.busy ? (
          <Text>
            <Text color="cyan">{spinnerFrame(now)}</Text> {state.busy}…
          </Text>
        ) : undefined
      }
    />
  );
}

export async function runHomeTui(options: RenderStreams & { cwd: string; env?: NodeJS.ProcessEnv }): Promise<number> {
  const labs = await loadLabs();
  const services = createServices({ cwd: options.cwd, env: options.env });
  const instance = render(<HomeApp labs={labs} services={services} />, {
    stdout: options.stdout ?? process.stdout,
    stdin: options.stdin ?? process.stdin,
    stderr: options.stderr ?? process.stderr,
    exitOnCtrlC: false, // Ctrl-C is a key here: it stops a running check (tearing the server down) before quitting
  });
  await instance.waitUntilExit();
  // ink leaves the cursor at the end of the last line after a keyboard-driven exit: end it, so the
  // shell's prompt starts on a line of its own.
  (options.stdout ?? process.stdout).write('\n');
  return 0;
}
