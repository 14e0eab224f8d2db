// Two kinds of error leave the engine:
// - CheckFailure: the learner's server did not behave as the contract says (learner-facing, status "fail").
// - GraderError: something about the environment or usage (stable `code`, keeps `cause`).
import type { Exchange } from './probe/exchange.ts';

export interface FailureDetails {
  /** One sentence: what went wrong, in the learner's terms. */
  message: string;
  expected?: string;
  received?: string;
  /** The HTTP exchange that shows the problem (request, response, curl). */
  exchange?: Exchange;
  /** Overrides the check's own hint for this failure. */
  hint?: string;
  /** Set when the request itself failed (timeout, refused, reset, invalid-http). */
  transport?: string;
  /** Frames of a long-lived connection both ways, with their times (WebSocket, SSE). */
  transcript?: string;
  /** What the transcript is, when it is not frames of a connection (e.g. "History (ms since the run began)"). */
  transcriptTitle?: string;
  /** A command that reproduces the connection when there is no HTTP exchange to turn into curl (e.g. `npx wscat -c ...`). */
  reproduce?: string;
}

export class CheckFailure extends Error {
  readonly details: FailureDetails;
  constructor(details: FailureDetails | string) {
    const d = typeof details === 'string' ? { message: details } : details;
    super(d.message);
    this.name = 'CheckFailure';
    this.details = d;
  }
}

export type GraderErrorCode =
  | 'LAB_INVALID'
  | 'LAB_UNKNOWN'
  | 'MANIFEST_NOT_FOUND'
  | 'MANIFEST_INVALID'
  | 'USAGE'
  | 'ENVIRONMENT'
  | 'NO_DOCKER'
  | 'INTERNAL';

export class GraderError extends Error {
  readonly code: GraderErrorCode;
  constructor(code: GraderErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GraderError';
    this.code = code;
  }
}

/** Small named validators, execa-style messages: "Expected `x` to be ..., got `y` (type)". */
export function describeValue(value: unknown): string {
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  let shown: string;
  try {
    shown = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  if (shown.length > 60) shown = shown.slice(0, 57) + '...';
  return `\`${shown}\` (${type})`;
}
