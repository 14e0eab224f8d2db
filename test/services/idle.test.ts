// Warm containers cost nothing while idle and stop themselves after a long idle while (no daemon of ours),
// and a warm PostgreSQL run starts its database in well under 0.2 s. Needs Docker (never skipped).
import { afterAll, describe, expect, it } from 'vitest';
import { dockerClient, listResources, removeResources } from '../../grader/services/docker.ts';
import { startServices } from '../../grader/services/index.ts';

const NS = 'labs-test-idle';

async function docker() {
  return (await dockerClient(() => 'Docker is required for this test')).container.dockerode;
}

/** Share of one core a container used over `ms`, from the engine's own CPU accounting (what docker stats shows). */
async function cpuShare(name: string, ms: number): Promise<number> {
  const c = (await docker()).getContainer(name);
  const usage = async () => ((await c.stats({ stream: false })) as { cpu_stats: { cpu_usage: { total_usage: number } } }).cpu_stats.cpu_usage.total_usage;
  const u0 = await usage();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, ms));
  const u1 = await usage();
  const t1 = process.hrtime.bigint();
  return (u1 - u0) / Number(t1 - t0);
}

async function state(name: string): Promise<{ running: boolean; id: string }> {
  const info = await (await docker()).getContainer(name).inspect();
  return { running: info.State.Running, id: info.Id };
}

afterAll(async () => {
  const client = await dockerClient(() => 'Docker is required for this test');
  await removeResources(client, await listResources(client, NS));
}, 60_000);

describe('warm service containers while idle', () => {
  it('use under 1% of a core between runs (no health check polling them), every service', { timeout: 120_000 }, async () => {
    const s = await startServices(['postgres', 'redis'], { labId: 'idle-test', runId: 'aaaa0001', namespace: NS, reuse: true });
    await s.stop();
    await new Promise((r) => setTimeout(r, 1000)); // the next run's database is made ahead, then all is quiet
    const shares = await Promise.all([`${NS}-postgres`, `${NS}-redis`].map((n) => cpuShare(n, 5000)));
    console.log(`idle CPU over 5 s: postgres ${(shares[0]! * 100).toFixed(2)}%, redis ${(shares[1]! * 100).toFixed(2)}% of a core`);
    expect(shares[0]).toBeLessThan(0.01);
    expect(shares[1]).toBeLessThan(0.01);
    const info = await (await docker()).getContainer(`${NS}-postgres`).inspect();
    expect(info.Config.Healthcheck?.Test).toEqual(['NONE']);
  });

  it('a warm PostgreSQL run gets its own empty database in under 0.2 s (made ahead by the previous run)', { timeout: 120_000 }, async () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const s = await startServices(['postgres'], { labId: 'idle-test', runId: `bbbb000${i}`, namespace: NS, reuse: true });
      times.push(performance.now() - t0);
      try {
        const { rows } = await s.db().query("SELECT current_database() AS db, (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace)::int AS tables");
        expect(rows[0]).toEqual({ db: `labs_idle_test_bbbb000${i}`, tables: 0 });
        await s.db().query('CREATE TABLE left_by_this_run (x int)');
      } finally {
        await s.stop();
      }
    }
    const median = [...times].sort((a, b) => a - b)[2]!;
    console.log(`warm PostgreSQL start: ${times.map((t) => t.toFixed(0)).join(', ')} ms (median ${median.toFixed(0)} ms)`);
    // `npm run bench` measures it on an idle machine against the 0.2 s goal; here, under the whole suite, a bound with room.
    expect(median).toBeLessThan(500);
  });

  it('stop themselves after LABS_SERVICE_IDLE_STOP_S without a connection, and the next run starts them again', { timeout: 120_000 }, async () => {
    const ns = `${NS}-short`;
    process.env.LABS_SERVICE_IDLE_STOP_S = '3';
    try {
      const s = await startServices(['postgres', 'redis'], { labId: 'idle-test', runId: 'cccc0001', namespace: ns, reuse: true });
      // While a run holds connections (as the learner's server does), nothing stops.
      await s.db().query('SELECT 1');
      expect(await s.redisClient().ping()).toBe('PONG');
      await new Promise((r) => setTimeout(r, 4500));
      expect((await state(`${ns}-postgres`)).running).toBe(true);
      expect((await state(`${ns}-redis`)).running).toBe(true);
      const before = (await state(`${ns}-postgres`)).id;
      await s.stop();
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && ((await state(`${ns}-postgres`)).running || (await state(`${ns}-redis`)).running)) await new Promise((r) => setTimeout(r, 500));
      expect((await state(`${ns}-postgres`)).running).toBe(false);
      expect((await state(`${ns}-redis`)).running).toBe(false);
      const again = await startServices(['postgres', 'redis'], { labId: 'idle-test', runId: 'cccc0002', namespace: ns, reuse: true });
      try {
        expect((await state(`${ns}-postgres`)).id).toBe(before);
        const { rows } = await again.db().query('SELECT current_database() AS db');
        expect(rows[0].db).toBe('labs_idle_test_cccc0002');
        expect(await again.redisClient().ping()).toBe('PONG');
      } finally {
        await again.stop();
      }
    } finally {
      delete process.env.LABS_SERVICE_IDLE_STOP_S;
      const client = await dockerClient(() => 'Docker is required for this test');
      await removeResources(client, await listResources(client, ns));
    }
  });

  it('docker stop (labs down) stops them at once: the wrapper forwards the signal', { timeout: 60_000 }, async () => {
    const t0 = performance.now();
    await (await docker()).getContainer(`${NS}-postgres`).stop({ t: 10 });
    await (await docker()).getContainer(`${NS}-redis`).stop({ t: 10 });
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(5000);
    const logs = (await (await docker()).getContainer(`${NS}-postgres`).logs({ stdout: true, stderr: true, tail: 20 })).toString('utf8');
    expect(logs).toMatch(/fast shutdown|shut down/);
  });
});
