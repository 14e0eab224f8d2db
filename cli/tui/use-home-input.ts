// Input for the home screen: keys become intents (pure, keyToIntent in home-state.ts); plain state changes
// go to the reducer, the rest (start, check, abort) to the handlers the app provides.
import type { Dispatch, RefObject } from 'react';
import { useInput } from 'ink';
import { keyToIntent, type HomeAction, type HomeState } from './home-state.ts';

export interface HomeHandlers {
  activate(): void;
  rerun(): void;
  nextHint(): void;
  abortAndQuit(): void;
}

/** `state` is a ref to the latest state (see HomeApp), so consecutive keys never see a stale one. */
export function useHomeInput(state: RefObject<HomeState>, dispatch: Dispatch<HomeAction>, handlers: HomeHandlers, isActive = true): void {
  useInput(
    (input, key) => {
      const intent = keyToIntent(state.current, input, key);
      if (!intent) return;
      switch (intent.type) {
        case 'activate':
          handlers.activate();
          return;
        case 'rerun':
          handlers.rerun();
          return;
        case 'next-hint':
          handlers.nextHint();
          return;
        case 'abort-and-quit':
          handlers.abortAndQuit();
          return;
        default:
          dispatch(intent);
      }
    },
    { isActive },
  );
}
