// The engine's public API: what labs and front ends may import.
export { defineLab, validateLab, describeRuns } from './define.ts';
export { CheckFailure, GraderError, type FailureDetails, type GraderErrorCode } from './errors.ts';
// runLab lives in ./run.ts (front ends import it from there): labs must load without the runtime.
export type { LabRun, RunOptions } from './run.ts';
export type { CheckResult, RunEvent, RunResult, CheckStatus, RunStatus } from './events.ts';
export type * from './types.ts';
export { HttpResponse, type HttpProbe, type RequestOptions } from './probe/http.ts';
export { describeTiming, acceptQueueLength, type SimultaneousTiming } from './probe/simultaneous.ts';
export { toCurl, type Exchange } from './probe/exchange.ts';
export type { Hosted, HostedRequest, HostedHandler } from './probe/hosted.ts';
export { Random } from './random.ts';
export { GRADER_APPLICATION_NAME } from './services/service.ts';
export * from './expect.ts';
export { expectProblem, problemErrors, PROBLEM_JSON, PROBLEM_SCHEMA, type Problem, type ProblemOptions } from './problem-details.ts';
export { parseHttpDate, formatHttpDate, type HttpDateFormat } from './http-date.ts';
export { encodeMultipart, uploadFiles, curlUpload, describeUpload, seededBytes, leadingBytes, type UploadFile, type UploadOptions } from './probe/multipart.ts';
export { streamUpload, type StreamUploadOptions, type StreamUploadResult } from './probe/stream-upload.ts';
export { snapshotDir, addedEntries, isInside, fileSha256, sha256Hex, type DirEntry } from './probe/files.ts';
export { webhookSecret, signWebhook, webhookHeaders, verifyWebhook, type WebhookVerification } from './probe/webhooks.ts';
export { expectSfList, expectSfDictionary, expectSfItem, parseSfList, parseSfDictionary, parseSfItem, showSfValue, SfToken, type SfMember, type SfBareItem } from './structured-fields.ts';
export { parseContentDisposition, type ParsedDisposition, type DispositionResult } from './probe/disposition.ts';
export { Cookies, parseSetCookie, setCookies, findSetCookie, expectSetCookie, isCookieRemoval, type SetCookie } from './probe/cookies.ts';
export { sendChunked, type ChunkedRequestOptions } from './probe/chunked.ts';
export { HostedByEnv } from './probe/hosted-by-env.ts';
export { WsProbe, WsClient, rawFrame, type WsConnectOptions, type WsMessage, type WsClose, type WsRefusal } from './probe/ws.ts';
export { SseProbe, SseClient, type SseEvent, type SseOpenOptions } from './probe/sse.ts';
export { HARD, boundaries, sized, mixHard, centsOf } from './hard-inputs.ts';
export { Backend, BackendPool, BackendsByEnv, hostBackends, type Behaviour, type BackendRequest, type HostBackendsOptions } from './probe/backends.ts';
