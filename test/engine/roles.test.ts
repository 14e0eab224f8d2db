// Labs with more than one learner process: labs.json's commands per role, and the processes the run starts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineLab } from '../../grader/define.ts';
import { GraderError } from '../../grader/errors.ts';
import { readManifest } from '../../grader/manifest.ts';
import { runLab } from '../../grader/run.ts';
import { roleCommands } from '../../grader/runtime/roles.ts';
import { groupAlive } from '../../grader/runtime/process-group.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('roleCommands', () => {
  it('one process: a string; several: one command per role, the first is the server', () => {
    expect(roleCommands('npm start', [])).toEqual({ main: 'npm start', others: [] });
    expect(roleCommands({ api: 'a', worker: 'w' }, ['api', 'worker'])).toEqual({ main: 'a', others: [{ role: 'worker', command: 'w' }] });
  });

  it('says what labs.json must look like when a role has no command', () => {
    const err = (() => {
      try {
        roleCommands('npm start', ['api', 'worker']);
      } catch (e) {
        return e as GraderError;
      }
    })();
    expect(err).toBeInstanceOf(GraderError);
    expect(err!.message).toContain('{"start": {"api": "npm run api", "worker": "npm run worker"}}');
    expect(() => roleCommands({ api: 'a' }, ['api', 'worker'])).toThrow(/no command for "worker"/);
  });

  it('labs.json may name a command per role, each non-empty', () => {
    const dir = mkdtempSync(join(tmpdir(), 'labs-roles-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'labs.json'), JSON.stringify({ lab: 'x', template: 'typescript', start: { api: 'npm start', worker: '' } }));
    expect(() => readManifest(join(dir, 'labs.json'))).toThrow(/start\.worker/);
    writeFileSync(join(dir, 'labs.json'), JSON.stringify({ lab: 'x', template: 'typescript', start: { api: 'npm start', worker: 'node w.js' } }));
    expect(readManifest(join(dir, 'labs.json')).start).toEqual({ api: 'npm start', worker: 'node w.js' });
  });
});

describe('a run with a worker role', () => {
  it('starts the worker with the env and LABS_ROLE, prefixes its output, and lets a check pause, kill and restart it; nothing left after', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'labs-roles-run-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'server.js'), "require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT, '0.0.0.0', () => console.log('api up'))");
    writeFileSync(join(dir, 'worker.js'), "console.log('worker', process.env.LABS_ROLE, process.env.GREETING); setInterval(() => console.log('tick'), 50)");
    const seen: Record<string, unknown> = {};
    const lab = defineLab(
      {
        id: 'roles-demo',
        title: 'Roles demo',
        track: 'async',
        summary: 'A server and a worker.',
        difficulty: 'beginner',
        estimatedMinutes: 1,
        questions: [26],
        roles: ['api', 'worker'],
        env: { GREETING: { description: 'a value both get', value: () => 'hello' } },
        checks: [
          {
            id: 'worker',
            title: 'the worker runs and can be driven',
            hint: '-',
            async run(ctx) {
              const w = ctx.process('worker');
              seen.first = await w.waitForOutput(/^worker /, 5000);
              w.pause();
              await ctx.sleep(100);
              const before = w.output().length;
              await ctx.sleep(300);
              seen.whilePaused = w.output().length - before;
              w.resume();
              seen.afterResume = await w.waitForOutput(/tick/, 2000);
              seen.killed = await w.kill('SIGKILL');
              seen.runningAfterKill = w.running;
              await w.restart();
              seen.again = await w.waitForOutput(/^worker /, 5000);
              seen.pid = w.pid;
            },
          },
        ],
      },
      dir,
    );
    const events: string[] = [];
    const run = runLab({ lab, dir, startCommand: 'node server.js', roles: [{ role: 'worker', command: 'node worker.js' }], all: true });
    run.on((e) => {
      if (e.type === 'server-output') events.push(e.line);
    });
    const result = await run.result;
    expect(result.status, JSON.stringify(result.checks)).toBe('pass');
    expect(seen.first).toBe('worker worker hello');
    expect(seen.whilePaused).toBe(0);
    expect(seen.afterResume).toBe('tick');
    expect(seen.killed).toMatchObject({ signal: 'SIGKILL' });
    expect(seen.runningAfterKill).toBe(false);
    expect(seen.again).toBe('worker worker hello');
    expect(events).toContain('[worker] worker worker hello');
    // teardown: the worker's process group is gone
    expect(groupAlive(seen.pid as number)).toBe(false); // zombies left to an init that does not reap do not count
  });
});

describe('a worker that cannot run', () => {
  it('a worker that exits at once is reported in the log, the check gets a clear verdict, and nothing is left', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'labs-roles-dead-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'server.js'), "require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT, '0.0.0.0')");
    const lab = defineLab(
      {
        id: 'roles-dead',
        title: 'Roles: a dead worker',
        track: 'async',
        summary: 'A worker that cannot start.',
        difficulty: 'beginner',
        estimatedMinutes: 1,
        questions: [26],
        roles: ['api', 'worker'],
        checks: [
          {
            id: 'needs-worker',
            title: 'the worker must print "ready"',
            hint: 'Start the worker.',
            async run(ctx) {
              const line = await ctx.process('worker').waitForOutput(/ready/, 1500);
              if (!line) ctx.fail({ message: 'The worker never said "ready".', expected: 'a line "ready"', received: ctx.process('worker').running ? 'still running, silent' : 'the worker is not running' });
            },
          },
        ],
      },
      dir,
    );
    const lines: string[] = [];
    const t0 = performance.now();
    const run = runLab({ lab, dir, startCommand: 'node server.js', roles: [{ role: 'worker', command: 'node -e "console.error(\'boom\'); process.exit(3)"' }], all: true });
    run.on((e) => {
      if (e.type === 'server-output') lines.push(e.line);
    });
    const result = await run.result;
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(result.exitCode).toBe(1);
    expect(result.checks[0]).toMatchObject({ status: 'fail' });
    expect(result.checks[0]!.failure?.received).toBe('the worker is not running');
    expect(lines).toContain('[worker] boom');
    expect(lines.some((l) => /^\[worker\] \(exited on its own: code 3\)$/.test(l))).toBe(true);
  });
});

describe('Ctrl-C with roles', () => {
  it('abort during a check stops the server and every role; exit 130, nothing left', { timeout: 30_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'labs-roles-abort-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'server.js'), "require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT, '0.0.0.0')");
    writeFileSync(join(dir, 'worker.js'), "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"); // ignores SIGTERM: teardown must escalate
    const pids: number[] = [];
    const lab = defineLab(
      {
        id: 'roles-abort',
        title: 'Roles: Ctrl-C',
        track: 'async',
        summary: 'A server and a worker that ignores SIGTERM.',
        difficulty: 'beginner',
        estimatedMinutes: 1,
        questions: [26],
        roles: ['api', 'worker'],
        checks: [
          {
            id: 'hang',
            title: 'waits forever',
            hint: '-',
            timeoutMs: 60_000,
            async run(ctx) {
              pids.push(ctx.process('worker').pid!);
              await new Promise(() => {});
            },
          },
        ],
      },
      dir,
    );
    const run = runLab({ lab, dir, startCommand: 'node server.js', roles: [{ role: 'worker', command: 'node worker.js' }], all: true });
    run.on((e) => {
      if (e.type === 'check-start') setTimeout(() => run.abort('Ctrl-C'), 300);
      if (e.type === 'server-start' && e.pid) pids.push(e.pid);
    });
    const t0 = performance.now();
    const result = await run.result;
    expect(result.exitCode).toBe(130);
    expect(performance.now() - t0).toBeLessThan(8000);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(groupAlive(pid)).toBe(false);
  });
});
