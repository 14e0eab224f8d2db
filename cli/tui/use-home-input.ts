// Input for the home screen: keys become intents (pure, keyToIntent in home-state.ts); plain state changes
// go to the reducer, the rest (start, check, abort) to the handlers the app provides.
import type { Dispatch } from 'react';
import { useInput } from 'ink';
import { keyToIntent, type HomeAction, type HomeState } from './home-state.ts';

export interface HomeHandlers {
  activate(): void;
  rerun(): void;
  nextHint(): void;
  abortAndQuit(): void;
}

export function useHomeInput(state: HomeState, dispatch: Dispatch<HomeAction>, handlers: HomeHandlers, isActive = true): void {
  useInput(
    (input, key) => {
      const intent = keyToIntent(state, input, key);
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
