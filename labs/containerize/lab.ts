// containerize: the learner writes the Dockerfile and .dockerignore for a given app. Every run builds the
// project's Dockerfile (runtime: 'docker', no init process of the grader's: the image's own PID 1 gets the
// signals) and the checks judge the image and the container from outside: `docker image inspect`, the build
// context, commands run in the container (`id -u`, `find`), its health status, `docker stop` timing, and a
// second build after a source change.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckFailure, defineLab, expectJson, expectThat, show, type CheckContext } from '../../grader/index.ts';

const BASE_IMAGE = 'node:20-slim';
/** What the image may add to the base, in MB (the app is a few KB; production dependencies: none). */
const SIZE_BUDGET_MB = 15;
const DEV_PACKAGES = ['typescript', 'tsx', '@types/node'];
const SLOW_MS = 1200;
const HEALTHY_WITHIN_MS = 20_000;

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

async function sh(ctx: CheckContext, script: string): Promise<{ code: number; output: string }> {
  return ctx.image.exec(['sh', '-c', script]);
}

export default defineLab(
  {
    id: 'containerize',
    title: 'Containerize: a Dockerfile done right',
    track: 'scaling',
    summary: 'Write the Dockerfile and .dockerignore for a given Node app: non-root, lean (no dev dependencies), no secrets, a HEALTHCHECK that turns healthy, SIGTERM reaching the app, dependencies cached across source changes.',
    difficulty: 'intermediate',
    estimatedMinutes: 60,
    questions: [10],
    runtime: 'docker',
    // The app is given: the learner writes its Dockerfile, not its request handling.
    malformedRequests: false,
    // The subject is the given Node app's image, whatever language the learner prefers.
    templates: ['typescript'],
    readyTimeoutMs: 30_000,
    env: {
      GREETING: { description: 'What GET / answers (configuration from the environment, never baked into the image).', value: (r) => `hello from ${r.word()}` },
    },
    checks: [
      {
        id: 'non-root',
        title: 'The container runs as a user other than root',
        hint: 'Add `USER node` (the node images have that user) after the steps that need root (installing), before CMD. Check with `docker run --rm <image> id -u`: anything but 0.',
        async run(ctx) {
          const facts = await ctx.image.facts();
          const id = await sh(ctx, 'id -u');
          const uid = id.output.trim();
          if (id.code !== 0 || uid === '0' || facts.user === '' || facts.user === 'root' || facts.user === '0' || facts.user.startsWith('0:') || facts.user.startsWith('root:')) {
            throw new CheckFailure({
              message: `Your container runs as root${facts.user ? ` (USER ${facts.user})` : ' (the Dockerfile sets no USER)'}: a process that is compromised, or a bug that writes where it should not, then owns the whole container. Switch to an unprivileged user with USER.`,
              expected: 'USER set to a non-root user; `id -u` in the container not 0',
              received: `USER ${show(facts.user || '(none)')}; id -u = ${uid || '?'}`,
            });
          }
          ctx.note(`runs as ${facts.user} (uid ${uid})`);
        },
      },
      {
        id: 'serves',
        title: 'The app answers from the container, configured from the environment',
        hint: 'CMD runs the app: ["node", "src/server.js"]. Do not bake configuration into the image (no ENV GREETING=..., no copied .env): the grader passes GREETING and PORT when it runs the container.',
        async run(ctx) {
          const health = await ctx.http.get('/health');
          expectJson(health, 200, 'GET /health from the container');
          const res = await ctx.http.get('/');
          const body = expectJson<{ greeting?: unknown }>(res, 200, 'GET / from the container');
          expectThat(body?.greeting === ctx.env.GREETING, `GET / must answer the GREETING the container was started with (${show(ctx.env.GREETING)}): configuration comes from the environment at run time.`, {
            expected: `{"greeting": ${show(ctx.env.GREETING)}}`,
            received: show(body),
            res,
          });
        },
      },
      {
        id: 'lean-image',
        title: `No dev dependencies in the image, and at most ${SIZE_BUDGET_MB} MB over ${BASE_IMAGE}`,
        hint: 'Install production dependencies only: `npm ci --omit=dev` (package.json and package-lock.json copied first), and copy only what runs (src/), not the whole folder.',
        timeoutMs: 20_000,
        async run(ctx) {
          const facts = await ctx.image.facts();
          const found = await sh(ctx, `for p in ${DEV_PACKAGES.join(' ')}; do for d in "$PWD" /app /usr/src/app /home/node/app; do [ -e "$d/node_modules/$p/package.json" ] && echo "$d/node_modules/$p"; done; done; true`);
          const devs = [...new Set(found.output.split('\n').map((l) => l.trim()).filter(Boolean))];
          if (devs.length > 0) {
            throw new CheckFailure({
              message: `The image contains dev dependencies (${devs.join(', ')}): they are for building and testing, not for running, and they make the image bigger and its attack surface wider. Install with \`npm ci --omit=dev\`.`,
              expected: `none of ${DEV_PACKAGES.join(', ')} in node_modules`,
              received: devs.join(', '),
            });
          }
          const base = await ctx.image.sizeOf(BASE_IMAGE);
          if (base === undefined) throw new Error(`the base image ${BASE_IMAGE} is not present locally`);
          const added = facts.sizeBytes - base;
          const biggest = [...facts.history].sort((a, b) => b.sizeBytes - a.sizeBytes).slice(0, 3).map((h) => `${mb(h.sizeBytes)} MB: ${h.createdBy.replace(/\s+/g, ' ').slice(0, 90)}`);
          ctx.note(`image ${mb(facts.sizeBytes)} MB, ${mb(added)} MB over ${BASE_IMAGE} (${facts.layers.length} layers)`);
          if (added > SIZE_BUDGET_MB * 1e6) {
            throw new CheckFailure({
              message: `Your image adds ${mb(added)} MB to ${BASE_IMAGE}; the app needs far less (budget ${SIZE_BUDGET_MB} MB). The biggest steps are listed below: copy only what runs and install production dependencies only.`,
              expected: `at most ${SIZE_BUDGET_MB} MB over the base`,
              received: biggest.join('; '),
            });
          }
        },
      },
      {
        id: 'no-secrets',
        title: 'No .env, tests or .git in the image',
        hint: 'List them in .dockerignore (.env, .git, test/, node_modules), and COPY only what the app needs. Anything in the build context can end up in a layer, and a layer is forever, even if a later step deletes the file.',
        async run(ctx) {
          const found = await sh(ctx, "find / -xdev \\( -name .env -o -name '.env.*' -o -name .git -o -name server.test.js \\) -not -path '/proc/*' 2>/dev/null; true");
          const paths = found.output.split('\n').map((l) => l.trim()).filter(Boolean);
          if (paths.length > 0) {
            throw new CheckFailure({
              message: `The image contains files that must never ship: ${paths.join(', ')}. ${paths.some((p) => p.endsWith('.env')) ? 'The .env file holds development secrets (API_SECRET): anyone who can pull the image can read them. ' : ''}Keep them out with .dockerignore and copy only what runs.`,
              expected: 'no .env, .git or test files anywhere in the image',
              received: paths.join(', '),
            });
          }
        },
      },
      {
        id: 'dockerignore',
        title: '.dockerignore keeps node_modules, .env and .git out of the build context',
        hint: 'A .dockerignore next to the Dockerfile with node_modules, .git, .env: the context is sent to Docker on every build (slow with node_modules), and whatever it holds can be copied into the image.',
        async run(ctx) {
          const files = ctx.image.context();
          const bad = files.filter((f) => /^(node_modules|\.git|\.env)(\/|$)/.test(f));
          if (bad.length > 0) {
            const tops = [...new Set(bad.map((f) => f.split('/')[0]))];
            throw new CheckFailure({
              message: `Your build context includes ${tops.join(', ')}: \`docker build\` sends all of it to the engine on every build, and a \`COPY . .\` puts it in the image. Add ${tops.join(', ')} to .dockerignore.`,
              expected: 'no node_modules, .git or .env in the context',
              received: `${bad.length} file(s), e.g. ${bad.slice(0, 5).join(', ')}`,
            });
          }
          ctx.note(`the build context holds ${files.length} file(s)`);
        },
      },
      {
        id: 'layer-cache',
        title: 'A source change rebuilds without reinstalling dependencies',
        hint: 'Order the Dockerfile from what changes least to most: COPY package.json package-lock.json, RUN npm ci, and only then COPY src. A `COPY . .` before the install invalidates the install on every edit.',
        timeoutMs: 120_000,
        async run(ctx) {
          const file = join(ctx.projectDir, 'src', 'server.js');
          const before = readFileSync(file, 'utf8');
          try {
            appendFileSync(file, `\n// edited by the grader at ${Date.now()}\n`);
            const { output, ms } = await ctx.image.rebuild();
            const steps = output.filter((l) => /^(CACHED )?\[[^\]]*\] RUN .*\bnpm (ci|install|i)\b/.test(l) || /^Step \d+\/\d+ : RUN .*\bnpm (ci|install|i)\b/.test(l));
            if (steps.length === 0) {
              ctx.note(`rebuilt in ${ms} ms; the Dockerfile runs no npm install (nothing to keep cached)`);
              return;
            }
            const classicCached = (line: string) => {
              const i = output.indexOf(line);
              return output.slice(i + 1, i + 3).some((l) => /Using cache/.test(l));
            };
            const rerun = steps.filter((l) => !l.startsWith('CACHED ') && !classicCached(l));
            if (rerun.length > 0) {
              throw new CheckFailure({
                message: `After a one-line change in src/server.js, the rebuild ran your dependency install again (${rerun[0]!.replace(/^\[[^\]]*\] /, '')}): every code change pays for a full install. COPY only package.json and package-lock.json before it, and the sources after it.`,
                expected: 'the npm install step CACHED on the rebuild',
                received: rerun.join('; ').slice(0, 200),
              });
            }
            ctx.note(`rebuilt in ${ms} ms after a source change, npm step cached (the run's own build took ${ctx.image.buildMs} ms)`);
          } finally {
            writeFileSync(file, before);
          }
        },
      },
      {
        id: 'healthcheck',
        title: 'The image has a HEALTHCHECK, and the container turns healthy',
        hint: 'HEALTHCHECK --interval=5s CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/health`).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]: the slim image has no curl or wget, but it has node.',
        timeoutMs: HEALTHY_WITHIN_MS + 5000,
        async run(ctx) {
          const facts = await ctx.image.facts();
          const test = facts.healthcheck;
          if (!test || test.length === 0 || test[0] === 'NONE') {
            throw new CheckFailure({
              message: 'Your image has no HEALTHCHECK: Docker (and Compose, Swarm) cannot tell a container that runs from one that serves. Add a HEALTHCHECK that asks GET /health.',
              expected: 'a HEALTHCHECK instruction',
              received: test ? show(test) : 'none',
            });
          }
          const t0 = performance.now();
          let status: string | undefined;
          while (performance.now() - t0 < HEALTHY_WITHIN_MS) {
            // 'unhealthy' can still turn healthy (Docker keeps probing): only the deadline ends the wait.
            status = await ctx.image.health();
            if (status === 'healthy') break;
            await ctx.sleep(250);
          }
          if (status !== 'healthy') {
            const probe = await ctx.image.exec(test[0] === 'CMD-SHELL' ? ['sh', '-c', test.slice(1).join(' ')] : test.slice(1)).catch((err: unknown) => ({ code: -1, output: String(err) }));
            throw new CheckFailure({
              message: `Your container did not turn healthy within ${HEALTHY_WITHIN_MS / 1000} s (status: ${status ?? 'none'}) although the app answers GET /health. Run the health command yourself in the container: it exited ${probe.code}${/not found/.test(probe.output) ? ' (a program the image does not have: node:20-slim has no curl or wget)' : ''}.`,
              expected: 'health status "healthy"',
              received: `${status ?? 'none'}; the command ${JSON.stringify(test)} printed ${show(probe.output.trim().slice(0, 200))}`,
            });
          }
          ctx.note(`healthy after ${Math.round(performance.now() - t0)} ms (${JSON.stringify(test).slice(0, 100)})`);
        },
      },
      {
        id: 'sigterm',
        title: '`docker stop` during a request: it completes, and the container exits within 2 s',
        hint: 'Use the exec form, CMD ["node", "src/server.js"], so node is PID 1 and gets SIGTERM (the app drains on it). The shell form or a start script without `exec` makes sh PID 1, which ignores SIGTERM: Docker waits, then kills everything.',
        timeoutMs: 20_000,
        async run(ctx) {
          const inflight = ctx.http.get(`/slow?ms=${SLOW_MS}`, { newConnection: true, timeoutMs: SLOW_MS + 8000 }).then(
            (res) => ({ res, at: performance.now() }),
            (err: unknown) => ({ err, at: performance.now() }),
          );
          await ctx.sleep(300);
          const t0 = performance.now();
          const limit = SLOW_MS + 1500;
          // Like `docker stop -t 2`: SIGTERM, and SIGKILL if the container is still there after the grace period.
          const stopped = ctx.server.kill('SIGTERM');
          let exit = await Promise.race([stopped, ctx.sleep(limit + 500).then(() => undefined)]);
          const graceOver = exit === undefined;
          if (graceOver) exit = await ctx.server.kill('SIGKILL');
          const stopMs = Math.round(performance.now() - t0);
          const done = await inflight;
          if (graceOver) {
            throw new CheckFailure({
              message: `The container was still running ${((limit + 500) / 1000).toFixed(1)} s after SIGTERM (\`docker stop\` would now kill it): SIGTERM never reached the app. PID 1 in your container is ${'err' in done ? 'not node' : 'probably a shell or a start script'}, which ignores SIGTERM and does not pass it on. Use the exec form, CMD ["node", "src/server.js"] (or \`exec node ...\` at the end of a script).`,
              expected: `exit within ${limit} ms of SIGTERM`,
              received: `still running; killed with SIGKILL after ${stopMs} ms`,
            });
          }
          if (!exit) throw new Error('unreachable');
          if ('err' in done) {
            throw new CheckFailure({
              message: `A request was in flight when the container got SIGTERM (\`docker stop\`), and it was cut: ${stopMs >= 1900 ? 'the app never got the signal (PID 1 is a shell or a script that does not pass it on), so Docker killed everything after its grace period' : 'the process died at once'}. Make node PID 1 with the exec form of CMD.`,
              expected: `200 {"done":true} after about ${SLOW_MS} ms, then the exit`,
              received: `${String(done.err instanceof Error ? done.err.message : done.err).slice(0, 160)}; stopped after ${stopMs} ms (${exit.signal ?? `code ${exit.code}`})`,
            });
          }
          expectThat(done.res.status === 200, 'The request in flight during `docker stop` must still get its answer.', { expected: '200', received: String(done.res.status), res: done.res });
          if (stopMs > limit || exit.signal === 'SIGKILL' || exit.code === 137) {
            throw new CheckFailure({
              message: `\`docker stop\` took ${stopMs} ms and the container ended with ${exit.signal ?? `code ${exit.code}`}: the app did not exit on SIGTERM by itself. With the exec form of CMD node is PID 1 and the app's SIGTERM handler runs.`,
              expected: `exit within ${limit} ms (the request in flight took ${SLOW_MS} ms)`,
              received: `${stopMs} ms, ${exit.signal ?? `code ${exit.code}`}`,
            });
          }
          ctx.note(`docker stop took ${stopMs} ms with a ${SLOW_MS} ms request in flight (exit ${exit.signal ?? `code ${exit.code}`})`);
        },
      },
    ],
  },
  import.meta.dirname,
);
