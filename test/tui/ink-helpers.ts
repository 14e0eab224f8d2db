// Awaiting what an ink app shows, without sleeps: every frame ink writes to ink-testing-library's stdout
// is checked against the predicate as it is written.
import { EventEmitter } from 'node:events';
import type React from 'react';
import { render as inkRender } from 'ink';
import { stripVTControlCharacters as stripAnsi } from 'node:util';
import type { RunEvent } from '../../grader/events.ts';
import type { LabRun } from '../../grader/run.ts';
import type { RunResult } from '../../grader/events.ts';

interface Rendered {
  stdout: { write: (frame: string) => void; lastFrame: () => string | undefined };
  stdin: EventEmitter & { write: (data: string) => void };
}

const watchers = new WeakMap<object, Set<() => void>>();

function onFrame(r: Rendered, listener: () => void): () => void {
  let set = watchers.get(r.stdout);
  if (!set) {
    const listeners = new Set<() => void>();
    set = listeners;
    watchers.set(r.stdout, listeners);
    const original = r.stdout.write;
    r.stdout.write = (frame: string) => {
      original(frame);
      for (const l of [...listeners]) l();
    };
  }
  set.add(listener);
  return () => set.delete(listener);
}

export function frame(r: Rendered): string {
  return stripAnsi(r.stdout.lastFrame() ?? '');
}

/** Resolves with the first frame (ANSI stripped) for which `predicate` holds; fails with the last frame after `timeoutMs`. */
export function waitForFrame(r: Rendered, predicate: (frame: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const f = frame(r);
      if (predicate(f)) {
        done();
        resolve(f);
        return true;
      }
      return false;
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for the frame. Last frame:\n${frame(r)}`));
    }, timeoutMs);
    const off = onFrame(r, check);
    const done = () => {
      clearTimeout(timer);
      off();
    };
    check();
  });
}

export const waitForText = (r: Rendered, text: string, timeoutMs?: number) => waitForFrame(r, (f) => f.includes(text), timeoutMs);

/** Resolves once ink listens to stdin (useInput attaches after the first render). */
export function inputReady(r: Rendered): Promise<void> {
  if (r.stdin.listenerCount('readable') > 0) return Promise.resolve();
  return new Promise((resolve) => {
    const on = (name: string | symbol) => {
      if (name !== 'readable') return;
      r.stdin.off('newListener', on);
      // 'newListener' fires before the listener is added: resolve on the next microtask.
      queueMicrotask(resolve);
    };
    r.stdin.on('newListener', on);
  });
}

export const KEYS = { enter: '\r', escape: '\u001B', up: '\u001B[A', down: '\u001B[B', backspace: '\u007F', ctrlC: '\u0003' };

/** A LabRun the test drives by hand: emit events, then finish with a result. */
export class FakeRun implements LabRun {
  private readonly emitter = new EventEmitter();
  private resolveResult!: (r: RunResult) => void;
  readonly result: Promise<RunResult> = new Promise((resolve) => (this.resolveResult = resolve));
  aborted?: string;
  onAbort?: (reason: string) => void;
  on(listener: (event: RunEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
  emit(event: RunEvent): void {
    this.emitter.emit('event', event);
  }
  end(result: RunResult): void {
    this.emit({ type: 'run-end', result });
    this.resolveResult(result);
  }
  abort(reason = 'interrupted'): void {
    this.aborted = reason;
    this.onAbort?.(reason);
  }
}

/**
 * Like ink-testing-library's render (injected streams, debug mode: every frame written whole), but also
 * exposes `exited`, which resolves when the app exits by itself (useApp().exit()).
 */
export function renderApp(tree: React.ReactElement, options: { columns?: number; rows?: number } = {}) {
  const frames: string[] = [];
  const stdout = Object.assign(new EventEmitter(), {
    columns: options.columns ?? 110,
    rows: options.rows ?? 40,
    isTTY: true,
    frames,
    write(chunk: string) {
      frames.push(chunk);
      return true;
    },
    lastFrame: () => frames.at(-1),
  });
  let pending: string | null = null;
  const stdin = Object.assign(new EventEmitter(), {
    isTTY: true,
    setEncoding() {},
    setRawMode() {},
    resume() {},
    pause() {},
    ref() {},
    unref() {},
    read() {
      const data = pending;
      pending = null;
      return data;
    },
    write(data: string) {
      pending = data;
      stdin.emit('readable');
      stdin.emit('data', data);
    },
  });
  const instance = inkRender(tree, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    stderr: stdout as unknown as NodeJS.WriteStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  return { stdout, stdin, frames, lastFrame: stdout.lastFrame, exited: instance.waitUntilExit(), unmount: () => instance.unmount() };
}
