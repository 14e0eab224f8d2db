// The engine's public API: what labs and front ends may import.
export { defineLab, validateLab } from './define.ts';
export { CheckFailure, GraderError, type FailureDetails, type GraderErrorCode } from './errors.ts';
export { runLab, selectChecks, type LabRun, type RunOptions } from './run.ts';
export type { CheckResult, RunEvent, RunResult, CheckStatus, RunStatus } from './events.ts';
export type * from './types.ts';
export { HttpResponse, HttpProbe, type RequestOptions } from './probe/http.ts';
export { toCurl, type Exchange } from './probe/exchange.ts';
export type { Hosted, HostedRequest, HostedHandler } from './probe/hosted.ts';
export { Random } from './random.ts';
export * from './expect.ts';
