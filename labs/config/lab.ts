import { createHmac } from 'node:crypto';
import { defineLab, expectEqual, expectJson, expectThat, type CheckContext, type HttpResponse } from '../../grader/index.ts';

// The grader waits this long for a misconfigured server to exit. The README promises 5 s; the rest is
// slack for a slow, loaded machine (a server that does not check its config never exits at all).
const EXIT_BUDGET_MS = 8_000;

/** Any `size` characters in a row of the secret count as revealing it. */
function revealsSecret(text: string, secret: string, size = 10): boolean {
  for (let i = 0; i + size <= secret.length; i++) if (text.includes(secret.slice(i, i + size))) return true;
  return false;
}

function outputTail(ctx: CheckContext, n = 10): string {
  const out = ctx.server.output();
  return out.length ? out.slice(-n).join('\n') : '(nothing)';
}

async function readConfig(ctx: CheckContext): Promise<{ res: HttpResponse; body: any }> {
  const res = await ctx.http.get('/api/config');
  const body = expectJson(res, 200, 'GET /api/config must answer 200 with the public configuration as JSON.');
  expectThat(body && typeof body === 'object' && !Array.isArray(body), 'GET /api/config must answer a JSON object.', { res });
  return { res, body };
}

/**
 * Restarts the server with `env` changes, expects it to exit non-zero within the budget and to name
 * `variable` in its output. A server that exited is started normally again by the runner before the next
 * check; one that did not exit is restarted normally here.
 */
async function expectConfigExit(ctx: CheckContext, env: Record<string, string | undefined>, variable: string, situation: string): Promise<string[]> {
  const shown = Object.entries(env)
    .map(([k, v]) => (v === undefined ? `without ${k}` : `${k}=${JSON.stringify(v)}`))
    .join(', ');
  ctx.note(`starting your server ${shown}`);
  const started = performance.now();
  await ctx.server.restart({ env, waitReady: false });
  const exit = await ctx.server.waitForExit(EXIT_BUDGET_MS);
  const ms = Math.round(performance.now() - started);
  const output = ctx.server.output();
  if (exit === undefined) {
    await ctx.server.restart(); // leave a normally configured server for the next check
    ctx.fail({
      message: `Started ${shown} (${situation}), your server was still running after ${EXIT_BUDGET_MS / 1000} s: it must refuse to start, exiting with a non-zero code and a message naming ${variable}.`,
      expected: `exit code != 0 within 5 s, output mentioning ${variable}`,
      received: `still running; its output:\n${output.slice(-10).join('\n') || '(nothing)'}`,
      hint: `Read and validate all configuration at start-up, before listening; on a problem print which variable is wrong and call process.exit(1).`,
    });
  }
  expectThat(exit!.code !== 0, `Started ${shown}, your server exited with code 0: a configuration error must exit with a non-zero code so the platform sees the deploy failed.`, {
    expected: 'a non-zero exit code',
    received: `exit code ${exit!.code}${exit!.signal ? ` (signal ${exit!.signal})` : ''} after ${ms} ms`,
  });
  expectThat(output.some((l) => l.includes(variable)), `Started ${shown}, your server exited (good) but its output does not name ${variable}: say which variable is wrong, so whoever deploys can fix it.`, {
    expected: `a line mentioning ${variable}`,
    received: outputTail(ctx),
  });
  return output;
}

export default defineLab(
  {
    id: 'config',
    title: 'Configuration: twelve-factor environment variables',
    track: 'foundations',
    summary: 'Read configuration from the environment, with defaults and strict parsing; refuse to start without required variables; use a secret without ever revealing it.',
    difficulty: 'beginner',
    estimatedMinutes: 30,
    questions: [24],
    env: {
      APP_NAME: { description: 'Required: the service name shown by GET /api/config.', value: (r) => `${r.word()}-${r.word(3, 5)}-service` },
      GREETING: { description: 'Optional (default "Hello"): the greeting shown by GET /api/config.', value: (r) => r.pick(['Hi', 'Howdy', 'Ahoy', 'Servus', 'Hej', 'Ciao', 'Salut']) },
      SIGNING_SECRET: { description: 'Required, secret: the HMAC key of POST /api/sign. Never revealed.', value: (r) => `sk_${r.string(32)}` },
      FEATURE_REPORTS: { description: 'Optional feature flag, "true" or "false" (default false): GET /api/reports exists only when true.', value: 'false' },
    },
    checks: [
      {
        id: 'reads-env',
        title: 'GET /api/config shows APP_NAME and GREETING from the environment',
        hint: 'Read process.env.APP_NAME and process.env.GREETING at start-up instead of hard-coding them.',
        async run(ctx) {
          const { res, body } = await readConfig(ctx);
          expectEqual({ app_name: body.app_name, greeting: body.greeting }, { app_name: ctx.env.APP_NAME, greeting: ctx.env.GREETING }, 'GET /api/config must show the values of APP_NAME and GREETING your server was started with.', res);
        },
      },
      {
        id: 'uses-secret',
        title: 'POST /api/sign signs with SIGNING_SECRET from the environment',
        hint: 'signature = HMAC-SHA256 of the message with the key process.env.SIGNING_SECRET, as lowercase hex; never a key written in the code.',
        async run({ http, random, env }) {
          for (const message of [`${random.word()} ${random.word()} ${random.int(1, 1e6)}`, `ünïcødé ✓ ${random.string(8)}`]) {
            const res = await http.post('/api/sign', { message });
            const body = expectJson(res, 200, 'POST /api/sign with {"message": "..."} must answer 200 {"signature": "<hex>"}.');
            const expected = createHmac('sha256', env.SIGNING_SECRET).update(message, 'utf8').digest('hex');
            expectThat(typeof body?.signature === 'string' && body.signature.toLowerCase() === expected, 'The signature must be the HMAC-SHA256 of the message (UTF-8) keyed with SIGNING_SECRET, in hex: the key must come from the environment.', {
              expected: `{"signature": "${expected}"}`,
              received: JSON.stringify(body),
              res,
            });
          }
          // No string message: 400 (a number or `true` is not text to sign; String(x) would sign "123").
          for (const bad of [JSON.stringify({ message: random.pick([123, true, null]) }), '{}', `${random.word()} is not json`]) {
            const res = await http.request('/api/sign', { method: 'POST', body: bad, headers: { 'Content-Type': 'application/json' } });
            res.expectStatus(400, `POST /api/sign with ${bad} has no string \`message\`: answer 400 (never sign something that is not text, never a 500).`);
          }
        },
      },
      {
        id: 'feature-flag',
        title: 'FEATURE_REPORTS="false" turns the feature off, "true" turns it on',
        timeoutMs: 25_000,
        hint: 'Parse the flag explicitly: value === "true". Boolean("false") is true, because any non-empty string is truthy.',
        async run(ctx) {
          const off = await readConfig(ctx);
          expectEqual(off.body.features, { reports: false }, `Started with FEATURE_REPORTS=${ctx.env.FEATURE_REPORTS}, GET /api/config must show "features": {"reports": false}.`, off.res);
          (await ctx.http.get('/api/reports')).expectStatus(404, `With FEATURE_REPORTS=${ctx.env.FEATURE_REPORTS} the feature is off: GET /api/reports must be 404.`);
          ctx.note('restarting your server with FEATURE_REPORTS=true');
          await ctx.server.restart({ env: { FEATURE_REPORTS: 'true' } });
          const on = await readConfig(ctx);
          expectEqual(on.body.features, { reports: true }, 'Started with FEATURE_REPORTS=true, GET /api/config must show "features": {"reports": true}.', on.res);
          const res = await ctx.http.get('/api/reports');
          const body = expectJson(res, 200, 'With FEATURE_REPORTS=true, GET /api/reports must answer 200 with JSON.');
          expectThat(Array.isArray(body?.reports), 'GET /api/reports must answer {"reports": [...]}.', { res });
        },
      },
      {
        id: 'defaults',
        title: 'Optional variables fall back to their defaults when unset',
        timeoutMs: 25_000,
        hint: 'Give optional settings a default in one place: GREETING ?? "Hello"; an unset FEATURE_REPORTS means false.',
        async run(ctx) {
          ctx.note('restarting your server without GREETING and FEATURE_REPORTS');
          await ctx.server.restart({ env: { GREETING: undefined, FEATURE_REPORTS: undefined } });
          const { res, body } = await readConfig(ctx);
          expectEqual({ greeting: body.greeting, features: body.features }, { greeting: 'Hello', features: { reports: false } }, 'Without GREETING and FEATURE_REPORTS, GET /api/config must show the defaults: greeting "Hello", reports false.', res);
          const reports = await ctx.http.get('/api/reports');
          reports.expectStatus(404, 'Without FEATURE_REPORTS the reports feature is off: GET /api/reports must be 404.');
        },
      },
      {
        id: 'invalid-value-exits',
        title: 'A malformed FEATURE_REPORTS stops the server with a message naming it',
        timeoutMs: 30_000,
        hint: 'Accept exactly "true" and "false" (or unset); anything else is a typo to report at start-up, not something to guess about.',
        async run(ctx) {
          const value = ctx.random.pick(['yes', '1', 'on', 'enabled', 'ture', 'flase']);
          await expectConfigExit(ctx, { FEATURE_REPORTS: value }, 'FEATURE_REPORTS', 'a value that is neither "true" nor "false"');
        },
      },
      {
        id: 'missing-required-exits',
        title: 'Without APP_NAME or SIGNING_SECRET the server exits non-zero, naming the variable',
        timeoutMs: 45_000,
        hint: 'Check required variables before listening: if one is unset or empty, print its name (not values) and process.exit(1).',
        async run(ctx) {
          await expectConfigExit(ctx, { APP_NAME: undefined }, 'APP_NAME', 'APP_NAME is required');
          await expectConfigExit(ctx, { SIGNING_SECRET: '' }, 'SIGNING_SECRET', 'SIGNING_SECRET is required; empty counts as missing');
        },
      },
      {
        id: 'secret-not-revealed',
        title: 'SIGNING_SECRET appears in no response and no output line',
        timeoutMs: 25_000,
        hint: 'Never return or log the whole config or process.env; pick the public fields. A masked form may keep at most the first 6 characters.',
        async run(ctx) {
          const secret = ctx.env.SIGNING_SECRET;
          // ctx.server.output() holds everything since the server (with the lab's env) last started, start-up lines included.
          const responses: HttpResponse[] = [
            await ctx.http.get('/health'),
            await ctx.http.get('/api/config'),
            await ctx.http.get('/api/config?debug=true&verbose=1'),
            await ctx.http.get('/api/reports'),
            await ctx.http.post('/api/sign', { message: ctx.random.word() }),
            await ctx.http.post('/api/sign', { text: 'no message field' }),
            await ctx.http.request('/api/sign', { method: 'POST', body: '{"message": ', headers: { 'Content-Type': 'application/json' } }),
            await ctx.http.get(`/${ctx.random.word()}`),
            await ctx.http.get('/env'),
          ];
          for (const res of responses) {
            const headerText = Object.entries(res.headers).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('\n');
            expectThat(!revealsSecret(`${headerText}\n${res.text}`, secret), `The response to ${res.exchange.request.method} ${new URL(res.exchange.request.url).pathname} reveals SIGNING_SECRET: a secret is for your server to use, never to show.`, {
              expected: `no trace of "${secret}"`,
              res,
            });
          }
          const leaked = ctx.server.output().find((l) => revealsSecret(l, secret));
          expectThat(leaked === undefined, 'Your server printed SIGNING_SECRET: logs are read by many people and kept for a long time, so secrets must never reach them.', {
            expected: `no output line containing "${secret}" (or a large part of it)`,
            received: leaked && (leaked.length > 600 ? `${leaked.slice(0, 600)}...` : leaked),
          });
        },
      },
    ],
  },
  import.meta.dirname,
);
