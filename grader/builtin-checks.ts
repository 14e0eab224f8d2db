// Checks the engine adds to every lab (unless the lab opts out), built once here: the bugs no lab's author
// has to imagine again. Each is proven by the engine's own tests (test/engine/builtin-checks.test.ts) against
// servers with the classic mistakes, so a lab's verification does not need a mutant of its own for it.
import { CheckFailure } from './errors.ts';
import { rawHttp, type RawResponse } from './probe/raw-http.ts';
import type { CheckContext, CheckDefinition, LabDefinition } from './types.ts';

export const MALFORMED_REQUESTS = 'malformed-requests';
/** The ids of every check the engine may add. */
export const BUILTIN_CHECKS = [MALFORMED_REQUESTS];

/**
 * Request targets that a real network sends and that throw in the usual parsing code: `//[` is a
 * scheme-relative URL with an invalid host (WHATWG `new URL(target, base)` throws), `http://[/` an absolute-form
 * target (which servers must accept, RFC 9112 3.2.2) with one (Python's `urlsplit` raises), `%zz` and a cut UTF-8
 * escape make `decodeURIComponent` (and strict decoders) throw, and so does an empty query field for a strict
 * query parser.
 */
const TARGETS = ['//[', 'http://[/', '/%zz', '/%E0%A4%A', '/?q=%E0%A4%A&%zz=1&&='];
const BAD_ESCAPES = ['%zz', '%E0%A4%A'];

/** The sentence every lab's README carries for this check (quoted by its contract.json). */
export const MALFORMED_CLAUSE = 'A request whose target is malformed';

function malformedRequests(paths: string[]): CheckDefinition {
  return {
    id: MALFORMED_REQUESTS,
    title: 'Malformed request targets get an answer below 500, and the server keeps running',
    hint: 'Everything in a request comes from the network. `new URL(req.url, base)` throws on a target such as `//[` and `decodeURIComponent` on `%zz`; in Python `urlsplit` raises on `http://[/` and `unquote(..., errors="strict")` on a cut escape. Catch what parsing the target raises and answer 400 (or 404); one bad request must never take the server down.',
    timeoutMs: 15_000,
    async run(ctx: CheckContext) {
      const targets = [...TARGETS, ...paths.flatMap((p) => BAD_ESCAPES.map((e) => `${p}${e}`))];
      for (const path of targets) {
        let answer: RawResponse;
        try {
          answer = await rawHttp({ port: ctx.server.port, signal: ctx.signal }, { path, timeoutMs: 5000 });
        } catch (err) {
          if (!(err instanceof CheckFailure)) throw err;
          // A connection closed without an answer may be a server on its way down: give it a moment to say so.
          const exit = ctx.server.running ? await ctx.server.waitForExit(500) : undefined;
          const down = exit || !ctx.server.running;
          throw new CheckFailure({
            message: `${down ? `GET ${path}: your server exited${exit ? ` (${exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`})` : ''}.` : (err.details.received ?? err.message)} A malformed request target is the client's error: answer it with a 4xx (400, or 404) and keep serving. Most likely the code that parses the target threw (\`new URL(req.url, base)\` on \`//[\`, \`decodeURIComponent\` on \`%zz\`, Python's \`urlsplit\` or \`unquote(errors="strict")\`) and nothing caught it.${down ? ' Its last lines are below.' : ''}`,
            expected: 'an HTTP answer with a status below 500 (400 or 404), the server still running',
            received: down ? 'the server exited' : (err.details.received ?? err.message),
            exchange: err.details.exchange,
          });
        }
        if (answer.status >= 500) {
          throw new CheckFailure({
            message: `GET ${path}: your server answered ${answer.status}. A malformed request target is the client's error, a 4xx (400, or 404 when no route matches); a 5xx says your code threw on it (\`new URL\` on \`//[\`, \`decodeURIComponent\` on \`%zz\`...).`,
            expected: 'a status below 500 (400 or 404)',
            received: `HTTP ${answer.status}`,
            exchange: answer.exchange,
          });
        }
      }
      // Still running, and still answering on a fresh connection.
      const alive = await rawHttp({ port: ctx.server.port, signal: ctx.signal }, { path: '/', timeoutMs: 5000 }).catch((err: unknown) => err as CheckFailure);
      if (alive instanceof CheckFailure) {
        throw new CheckFailure({
          message: `After ${targets.length} malformed requests, GET / got no answer: ${alive.details.received ?? alive.message}. One bad request must not leave the server unable to serve the next ones.`,
          expected: 'an HTTP answer (any status)',
          received: alive.details.received ?? alive.message,
          exchange: alive.details.exchange,
        });
      }
      ctx.note(`${targets.length} malformed targets answered (${targets.join(' ')}), then GET / answered ${alive.status}`);
    },
  };
}

/** The lab's own checks followed by the engine's (those the lab did not opt out of). */
export function withBuiltinChecks(def: LabDefinition): CheckDefinition[] {
  const checks = [...def.checks];
  const m = def.malformedRequests;
  if (m !== false && !checks.some((c) => c.id === MALFORMED_REQUESTS)) {
    const at = m?.before === undefined ? checks.length : checks.findIndex((c) => c.id === m.before);
    checks.splice(at < 0 ? checks.length : at, 0, malformedRequests(m?.paths ?? []));
  }
  return checks;
}
