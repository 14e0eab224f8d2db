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
