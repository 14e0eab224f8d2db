/** Exit codes (DESIGN.md). */
export const EXIT = { pass: 0, fail: 1, setup: 2, usage: 3, bug: 4, interrupted: 130 } as const;
