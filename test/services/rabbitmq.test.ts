// RabbitMQ as a service: a warm container, a vhost per run (deleted at stop), AMQP_URL for the server, and
// the checks' view (a channel, queue counters). Needs Docker (never skipped).
import { afterAll, describe, expect, it } from 'vitest';
import { dockerClient, listResources, removeResources } from '../../grader/services/docker.ts';
import { startServices, type ServiceSet } from '../../grader/services/index.ts';

const NS = 'labs-test-mq';

afterAll(async () => {
  const client = await dockerClient(() => 'Docker is required for this test');
  await removeResources(client, await listResources(client, NS));
}, 60_000);

async function cpuShare(name: string, ms: number): Promise<number> {
  const c = (await dockerClient(() => 'Docker is required')).container.dockerode.getContainer(name);
  const usage = async () => ((await c.stats({ stream: false })) as { cpu_stats: { cpu_usage: { total_usage: number } } }).cpu_stats.cpu_usage.total_usage;
  const u0 = await usage();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, ms));
  return (await usage() - u0) / Number(process.hrtime.bigint() - t0);
}

describe('RabbitMQ, one vhost per run', () => {
  let a: ServiceSet;
  let b: ServiceSet;

  it('a cold start, then a warm one: each run its own vhost, AMQP_URL for the server', { timeout: 180_000 }, async () => {
    const t0 = performance.now();
    a = await startServices(['rabbitmq'], { labId: 'mq-test', runId: 'aaaa1111', namespace: NS, reuse: true });
    const cold = performance.now() - t0;
    const t1 = performance.now();
    b = await startServices(['rabbitmq'], { labId: 'mq-test', runId: 'bbbb2222', namespace: NS, reuse: true });
    const warm = performance.now() - t1;
    console.log(`RabbitMQ: cold start ${(cold / 1000).toFixed(1)} s, warm ${Math.round(warm)} ms`);
    expect(a.env('host').AMQP_URL).toMatch(/^amqp:\/\/guest:guest@[^/]+:\d+\/labs_mq_test_aaaa1111$/);
    expect(a.env('network')).toEqual({ AMQP_URL: 'amqp://guest:guest@rabbitmq:5672/labs_mq_test_aaaa1111' });
    expect(b.rabbitmq!.containerId).toBe(a.rabbitmq!.containerId);
    expect(warm).toBeLessThan(1500); // the goal is 0.5 s on an idle machine; this one runs the suite
  });

  it('messages stay in their run\'s vhost; the checks see queue counters', { timeout: 60_000 }, async () => {
    const ch = await a.amqp().channel();
    await ch.assertQueue('orders', { durable: true });
    ch.sendToQueue('orders', Buffer.from('{"id":1}'), { persistent: true });
    let stats = await a.amqp().queue('orders');
    for (let i = 0; i < 100 && stats?.messages !== 1; i++) {
      await new Promise((r) => setTimeout(r, 200)); // the management API's counters refresh every few seconds
      stats = await a.amqp().queue('orders');
    }
    expect(stats).toMatchObject({ name: 'orders', messages: 1, consumers: 0 });
    expect(await b.amqp().queue('orders')).toBeUndefined();
  });

  it('stop() deletes the run\'s vhost; the container stays warm and idles under 1% of a core', { timeout: 60_000 }, async () => {
    const vhost = a.rabbitmq!.vhost;
    const mgmt = a.rabbitmq!.managementUrl;
    await a.stop();
    await b.stop();
    const res = await fetch(`${mgmt}/api/vhosts/${vhost}`, { headers: { Authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
    expect(res.status).toBe(404);
    const left = await listResources(await dockerClient(() => 'Docker is required'), NS);
    expect(left.containers.map((c) => [c.name, c.state])).toEqual([[`${NS}-rabbitmq`, 'running']]);
    await new Promise((r) => setTimeout(r, 1000));
    const share = await cpuShare(`${NS}-rabbitmq`, 5000);
    console.log(`RabbitMQ idle CPU over 5 s: ${(share * 100).toFixed(2)}% of a core`);
    expect(share).toBeLessThan(0.01);
  });
});

describe('a broker restart for one run (ctx.amqp.restartBroker)', () => {
  it('cuts only that run\'s learner connections, refuses new ones while down, accepts them after; nothing of the run stays', { timeout: 120_000 }, async () => {
    const amqp = await import('amqplib');
    const { connect: tcpConnect } = await import('node:net');
    const c = await startServices(['rabbitmq'], { labId: 'mq-test', runId: 'cccc3333', namespace: NS, reuse: true });
    const d = await startServices(['rabbitmq'], { labId: 'mq-test', runId: 'dddd4444', namespace: NS, reuse: true });
    try {
      // The learner's AMQP_URL goes through the run's path; the grader's own URL does not.
      const learnerUrl = c.env('host').AMQP_URL!;
      expect(learnerUrl).not.toBe(c.rabbitmq!.url);
      expect(learnerUrl).toMatch(/^amqp:\/\/guest:guest@127\.0\.0\.1:\d+\/labs_mq_test_cccc3333$/);
      const learner = await amqp.connect(learnerUrl);
      learner.on('error', () => {});
      const closed = new Promise<number>((r) => learner.once('close', () => r(performance.now())));
      const other = await amqp.connect(d.env('host').AMQP_URL!); // another run, same warm broker
      other.on('error', () => {});
      let otherClosed = false;
      other.once('close', () => (otherClosed = true));
      const graderCh = await c.amqp().channel();
      await graderCh.assertQueue('orders', { durable: true });
      expect(c.amqp().learnerConnections()).toBe(1);

      let duringDown: unknown;
      const restarted = c.amqp().restartBroker({
        downMs: 800,
        sleep: async (ms) => {
          // While it is down: a new connection is refused, and the grader's own channel still works.
          duringDown = await amqp.connect(learnerUrl).then((x) => (x.close(), 'connected'), (e: Error) => e.message);
          expect((await graderCh.checkQueue('orders')).queue).toBe('orders');
          await new Promise((r) => setTimeout(r, ms));
        },
      });
      const { cut } = await restarted;
      expect(cut).toBe(1);
      expect(await closed).toBeGreaterThan(0);
      expect(duringDown).toMatch(/ECONNRESET|socket closed|closed/i);
      const again = await amqp.connect(learnerUrl);
      expect((await (await again.createChannel()).checkQueue('orders')).queue).toBe('orders');
      expect(otherClosed).toBe(false);
      expect(c.amqp().transcript()).toMatch(/reset your processes -> RabbitMQ[\s\S]*RabbitMQ accepts connections again/);
      await again.close();
      await other.close();
    } finally {
      await c.stop();
      await d.stop();
    }
    // Nothing of the run left: its vhost is gone and so is its path.
    const res = await fetch(`${c.rabbitmq!.managementUrl}/api/vhosts/${c.rabbitmq!.vhost}`, { headers: { Authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
    expect(res.status).toBe(404);
    const port = Number(new URL(c.env('host').AMQP_URL!).port);
    const refused = await new Promise<string>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve('connected')));
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});
