// `labs check` in a terminal: the live check view for one run. Loaded only in the TTY path.
import React, { useEffect } from 'react';
import { render, useApp } from 'ink';
import { CheckView } from './components/check-view.tsx';
import { useCheckView, useNow } from './hooks.ts';
import type { RunSource } from './run-source.ts';

export function CheckApp({ source, verbose = false }: { source: RunSource; verbose?: boolean }) {
  const state = useCheckView(source, verbose);
  const now = useNow(!state.result);
  const { exit } = useApp();
  useEffect(() => {
    if (state.result) exit();
  }, [state.result, exit]);
  return <CheckView state={state} now={now} />;
}

export interface RenderStreams {
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  stderr?: NodeJS.WriteStream;
}

/**
 * Renders a run live until its run-end event has been drawn. Pass the run's events buffered from its
 * creation (bufferRun), so nothing is missed while ink loads.
 */
export async function renderCheck(source: RunSource, options: RenderStreams & { verbose?: boolean } = {}): Promise<void> {
  const instance = render(<CheckApp source={source} verbose={options.verbose} />, {
    stdout: options.stdout ?? process.stdout,
    stdin: options.stdin ?? process.stdin,
    stderr: options.stderr ?? process.stderr,
    // No key handling here: Ctrl-C reaches `labs check` as SIGINT, which stops the run and tears down.
    exitOnCtrlC: false,
    patchConsole: false,
  });
  await instance.waitUntilExit();
}
