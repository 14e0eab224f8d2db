// Labs with replicas: N instances of the learner's start command, each with its own PORT and INSTANCE_ID,
// started together, driven one by one, with the grader's balancer in front; and the faults: a replica that
// never listens, one that crashes during a check. Nothing is left running after any of them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectPortsRefuse } from '../helpers/ports.ts';
import { defineLab } from '../../grader/define.ts';
import { runLab } from '../../grader/run.ts';
import { groupAlive } from '../../grader/runtime/process-group.ts';
import type { CheckDefinition } from '../../grader/types.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// Answers its INSTANCE_ID; starts after `START_DELAY_MS` (so parallel start can be measured).
const SERVER = `
const id = process.env.INSTANCE_ID;
if (process.env.BROKEN_INSTANCE === id) { console.log('instance', id, 'will not listen'); setInterval(() => {}, 1000); return; }
setTimeout(() => {
  require('http').createServer((q, s) => { if (q.url === '/crash' && id !== '1') process.exit(1); s.setHeader('content-type', 'text/plain'); s.end(id); })
    .listen(Number(process.env.PORT), '0.0.0.0', () => console.log('instance', id, 'on', process.env.PORT));
}, Number(process.env.START_DELAY_MS || 0));
`;

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'labs-replicas-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'server.js'), `(() => {${SERVER}})()`);
  return dir;
}

function lab(dir: string, checks: CheckDefinition[], env: Record<string, string> = {}) {
  return defineLab(
    {
      id: 'replicas-demo',
      title: 'Replicas demo',
      track: 'scaling',
      summary: 'Three instances.',
      difficulty: 'beginner',
      estimatedMinutes: 1,
      questions: [5],
      replicas: 3,
      readyTimeoutMs: 4000,
      env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, { description: k, value: () => v }])),
      malformedRequests: false, // the engine's own check is tested in builtin-checks.test.ts
      checks,
    },
    dir,
  );
}

describe('a run with replicas', () => {
  it('starts 3 instances in parallel with their own PORT and INSTANCE_ID; the balancer spreads requests; kill, pause and restart work; nothing left after', { timeout: 60_000 }, async () => {
    const dir = project();
    const seen: Record<string, unknown> = {};
    const pids: number[] = [];
    const l = lab(
      dir,
      [
        {
          id: 'replicas',
          title: 'each instance answers its id; the balancer sends requests to each in turn',
          hint: '-',
          async run(ctx) {
            seen.direct = await Promise.all(ctx.instances.map(async (i) => (await ctx.http.get(`${i.url}/`)).text));
            seen.ports = new Set(ctx.instances.map((i) => i.port)).size;
            ctx.balancer.resetCounts();
            const via: string[] = [];
            for (let k = 0; k < 9; k++) via.push((await ctx.http.get(`${ctx.balancer.url}/`, { newConnection: k % 2 === 0 })).text);
            seen.via = via;
            seen.counts = ctx.balancer.counts();
            pids.push(...ctx.instances.map((i) => i.pid!));
            // a killed instance is skipped by the balancer; a paused one too
            await ctx.instances[1]!.kill('SIGKILL');
            ctx.instances[2]!.pause();
            const after: string[] = [];
            for (let k = 0; k < 4; k++) after.push((await ctx.http.get(`${ctx.balancer.url}/`)).text);
            seen.afterKill = after;
            ctx.instances[2]!.resume();
            await ctx.instances[1]!.restart();
            seen.restarted = (await ctx.http.get(`${ctx.instances[1]!.url}/`)).text;
            await ctx.instances[1]!.kill('SIGKILL'); // left dead: the runner restarts it before the next check
          },
        },
        {
          id: 'back',
          title: 'a replica a check left dead is running again for the next check',
          hint: '-',
          async run(ctx) {
            seen.backAgain = (await ctx.http.get(`${ctx.instances[1]!.url}/`)).text;
            pids.push(ctx.instances[1]!.pid!);
          },
        },
      ],
      { START_DELAY_MS: '300' },
    );
    const lines: string[] = [];
    const run = runLab({ lab: l, dir, startCommand: 'node server.js', all: true });
    run.on((e) => {
      if (e.type === 'server-output') lines.push(e.line);
    });
    const result = await run.result;
    expect(result.status, JSON.stringify(result.checks)).toBe('pass');
    expect(seen.direct).toEqual(['1', '2', '3']);
    expect(seen.ports).toBe(3);
    expect(seen.counts).toEqual([3, 3, 3]);
    expect([...(seen.via as string[])].sort()).toEqual(['1', '1', '1', '2', '2', '2', '3', '3', '3']);
    expect(seen.afterKill).toEqual(['1', '1', '1', '1']);
    expect(seen.restarted).toBe('2');
    expect(seen.backAgain).toBe('2');
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^\[instance 1\] instance 1 on \d+$/), expect.stringMatching(/^\[instance 3\] instance 3 on \d+$/)]));
    // parallel start: three servers that each take 300 ms to listen are ready in well under 3 x 300 ms more than one
    expect(result.timings.readyMs!).toBeLessThan(300 + 900);
    for (const pid of pids) expect(groupAlive(pid)).toBe(false);
  });

  it('a replica that never listens: a clear error naming the instance and its PORT within the ready budget; nothing left', { timeout: 30_000 }, async () => {
    const dir = project();
    const l = lab(dir, [{ id: 'never', title: 'never runs', hint: '-', async run() {} }], { BROKEN_INSTANCE: '3' });
    const t0 = performance.now();
    const lines: string[] = [];
    let pgids: number[] = [];
    const run = runLab({ lab: l, dir, startCommand: 'node server.js', all: true });
    run.on((e) => {
      if (e.type === 'server-output') lines.push(e.line);
      if (e.type === 'server-start' && e.pid) pgids.push(e.pid);
    });
    const result = await run.result;
    expect(result.status).toBe('error');
    expect(result.exitCode).toBe(2);
    expect(result.message).toMatch(/Instance 3 of your server \(INSTANCE_ID=3\) did not listen on its PORT \d+ within 4 s/);
    expect(performance.now() - t0).toBeLessThan(8000);
    expect(lines).toContain('[instance 3] instance 3 will not listen');
    pgids = pgids.filter(Boolean);
    for (const pid of pgids) expect(groupAlive(pid)).toBe(false);
  });

  it('replicas that crash during a check: the balancer answers 502 naming each, then skips them; the next check has them back', { timeout: 30_000 }, async () => {
    const dir = project();
    const seen: Record<string, unknown> = {};
    const l = lab(dir, [
      {
        id: 'crash',
        title: 'instance 2 crashes behind the balancer',
        hint: '-',
        async run(ctx) {
          const answers: string[] = [];
          for (let k = 0; k < 6; k++) {
            const res = await ctx.http.get(`${ctx.balancer.url}/crash`);
            answers.push(`${res.status} ${res.text.trim()}`);
          }
          seen.answers = answers;
          if (answers.some((a) => a.startsWith('502'))) ctx.fail('an instance crashed');
        },
      },
      {
        id: 'after',
        title: 'the instances are back',
        hint: '-',
        async run(ctx) {
          seen.after = await Promise.all(ctx.instances.map(async (i) => (await ctx.http.get(`${i.url}/`)).text));
        },
      },
    ]);
    const lines: string[] = [];
    const run = runLab({ lab: l, dir, startCommand: 'node server.js', all: true });
    run.on((e) => {
      if (e.type === 'server-output') lines.push(e.line);
    });
    const result = await run.result;
    expect(result.checks.map((c) => c.status)).toEqual(['fail', 'pass']);
    // instances 2 and 3 crash on their turn (502 naming them); once they exited, the balancer skips them
    const answers = seen.answers as string[];
    expect(answers.slice(0, 3)).toEqual(['200 1', ...[2, 3].map((i) => expect.stringMatching(new RegExp(`^502 grader balancer: instance ${i} \\(port \\d+\\) failed the request`)))]);
    expect(answers.slice(3)).toEqual(Array(3).fill('200 1'));
    expect(seen.after).toEqual(['1', '2', '3']);
    expect(lines.some((l) => /^\[instance 2\] \(exited on its own: code 1\)$/.test(l))).toBe(true);
  });
});

describe('Ctrl-C with several learner processes', () => {
  it('replicas behind the fault network: abort during a check stops every instance, the balancer and the proxies; exit 130', { timeout: 30_000 }, async () => {
    const dir = project();
    const pids: number[] = [];
    const ports: number[] = [];
    const l = defineLab(
      {
        id: 'replicas-abort',
        title: 'Replicas abort',
        track: 'scaling',
        summary: 'Three instances, a partition, and Ctrl-C.',
        difficulty: 'beginner',
        estimatedMinutes: 1,
        questions: [1],
        replicas: 3,
        network: true,
        checks: [
          {
            id: 'hang',
            title: 'waits forever with a partition in place',
            hint: '-',
            timeoutMs: 60_000,
            async run(ctx) {
              pids.push(...ctx.instances.map((i) => i.pid!));
              ports.push(new URL(ctx.balancer.url).port as unknown as number, Number(ctx.net.clientUrl(2).split(':').pop()));
              ctx.net.partition([1], [2, 3]);
              await new Promise(() => {});
            },
          },
        ],
      },
      dir,
    );
    const run = runLab({ lab: l, dir, startCommand: 'node server.js', all: true });
    run.on((e) => {
      if (e.type === 'check-start') setTimeout(() => run.abort('Ctrl-C'), 300);
    });
    const t0 = performance.now();
    const result = await run.result;
    expect(result.exitCode).toBe(130);
    expect(result.message).toMatch(/Ctrl-C/);
    expect(performance.now() - t0).toBeLessThan(6000);
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(groupAlive(pid)).toBe(false);
    // the balancer and the proxies no longer listen
    await expectPortsRefuse(ports.map(Number));
  });
});
