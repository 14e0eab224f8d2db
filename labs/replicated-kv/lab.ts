// replicated-kv: three nodes (replicas) that reach each other only through the grader's fault network
// (PEERS). Two stores in one server, graded in their own checks: /cp (consistent under partitions: a majority
// or 503; histories checked for linearizability) and /ap (available under partitions: counters accepted on
// both sides, converging to the sum of acknowledged increments after heal). Every check records the client
// operations as a history; a violation prints the smallest history that shows it, as a timeline, with the
// faults and their times; every run writes .labs/history.html.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckFailure, defineLab, describeOps, expectJson, expectThat, History, linearizable, renderTimeline, show, type CheckContext, type Op } from '../../grader/index.ts';

const SLACK_MS = 1500;
const CONVERGE_MS = 3000;

const cpTimeout = (ctx: CheckContext) => Number(ctx.env.CP_TIMEOUT_MS);
const node = (ctx: CheckContext, id: number) => ctx.instances[id - 1]!;

/** When each check began (network clock): its transcript shows only its own faults. */
const began = new WeakMap<CheckContext, number>();
const faultsOf = (ctx: CheckContext) => ctx.net.transcript(began.get(ctx) ?? 0) || '(none)';
function begin(ctx: CheckContext): void {
  began.set(ctx, ctx.net.now());
}

/** History of this run, across checks, for .labs/history.html. */
const runs = new WeakMap<CheckContext['server'], History>();
function historyOf(ctx: CheckContext): History {
  let h = runs.get(ctx.server);
  if (!h) runs.set(ctx.server, (h = new History(() => ctx.net.now())));
  return h;
}

function writeTimeline(ctx: CheckContext, title: string): void {
  const h = historyOf(ctx);
  const dir = join(ctx.projectDir, '.labs');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'history.html'), renderTimeline(title, h.ops, ctx.net.events));
}

async function cpPut(ctx: CheckContext, h: History, client: string, id: number, key: string, value: string): Promise<Op> {
  return h.run(client, String(id), 'write', key, value, async () => {
    const res = await ctx.http.request(`${node(ctx, id).url}/cp/kv/${key}`, { method: 'PUT', body: value, headers: { 'Content-Type': 'text/plain' }, timeoutMs: cpTimeout(ctx) + SLACK_MS });
    if (res.status === 204 || res.status === 200) return { ok: true };
    // A refused write may still have reached some nodes: its outcome is unknown (info), not "did not happen".
    if (res.status === 503) throw new Error('503');
    throw new Error(`unexpected ${res.status}`);
  });
}

async function cpGet(ctx: CheckContext, h: History, client: string, id: number, key: string): Promise<Op> {
  return h.run(client, String(id), 'read', key, null, async () => {
    const res = await ctx.http.get(`${node(ctx, id).url}/cp/kv/${key}`, { timeoutMs: cpTimeout(ctx) + SLACK_MS });
    if (res.status === 200) return { ok: true, value: res.text };
    if (res.status === 404) return { ok: true, value: null };
    if (res.status === 503) return { ok: false, note: '503' };
    throw new Error(`unexpected ${res.status}`);
  });
}

function opFailure(ctx: CheckContext, o: Op, message: string, expected: string): never {
  throw new CheckFailure({
    message,
    expected,
    received: `${o.type === 'ok' ? `ok${o.f === 'read' ? ` ${show(o.value)}` : ''}` : o.note ?? o.type}${o.complete === Infinity ? '' : ` after ${Math.round(o.complete - o.invoke)} ms`}`,
    transcript: `${describeOps(historyOf(ctx).ops.filter((o) => o.invoke >= (began.get(ctx) ?? 0)).slice(-8))}\n\nfaults:\n${faultsOf(ctx)}`,
    transcriptTitle: 'History of this check (ms since the run began; ? = no answer) and the faults the grader injected',
  });
}

function expectLinearizable(ctx: CheckContext, ops: Op[], what: string): void {
  const r = linearizable(ops);
  ctx.note(`${what}: ${r.checked} operations checked for linearizability in ${r.ms} ms`);
  if (!r.ok) {
    throw new CheckFailure({
      message: `${what}: the history of key ${r.key} is not linearizable: no order of these operations, each taking effect between its start and its answer, explains what the reads returned. Below, the smallest part of the history that shows it . A read must never return a value older than a write that completed before the read began: answer only what a majority confirms, and write back what you read.`,
      expected: 'a linearizable history',
      received: `${r.witness!.length} operations (below)`,
      transcript: `${describeOps(r.witness!)}\n\nfaults:\n${faultsOf(ctx)}`,
      transcriptTitle: 'The smallest history that shows it (ms since the run began; ? = no answer) and the faults the grader injected',
    });
  }
}

async function apIncrement(ctx: CheckContext, id: number, name: string): Promise<{ ok: boolean; ms: number; status: number | string }> {
  const t0 = performance.now();
  try {
    const res = await ctx.http.post(`${node(ctx, id).url}/ap/counters/${name}/increment`, undefined, { timeoutMs: cpTimeout(ctx) + SLACK_MS });
    return { ok: res.status === 200, ms: Math.round(performance.now() - t0), status: res.status };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - t0), status: err instanceof CheckFailure ? (err.details.transport ?? 'error') : 'error' };
  }
}

async function apRead(ctx: CheckContext, id: number, name: string): Promise<number | undefined> {
  const res = await ctx.http.get(`${node(ctx, id).url}/ap/counters/${name}`, { timeoutMs: cpTimeout(ctx) + SLACK_MS });
  const body = expectJson<{ value?: unknown }>(res, 200, `GET /ap/counters/${name} on node ${id}`);
  return typeof body?.value === 'number' ? body.value : undefined;
}

export default defineLab(
  {
    id: 'replicated-kv',
    title: 'Replicated key-value store: CP and AP under partitions',
    track: 'scaling',
    summary: 'Three nodes behind a network the grader breaks on purpose: a register that stays linearizable (a majority or 503) and counters that stay available and converge after the partition heals.',
    difficulty: 'advanced',
    estimatedMinutes: 180,
    questions: [1, 2],
    replicas: 3,
    network: true,
    env: {
      CP_TIMEOUT_MS: { description: 'How long a node waits for its peers before answering 503 (CP store), in ms (300 to 500).', value: (r) => String(r.int(300, 500)) },
      GOSSIP_MS: { description: 'How often a node sends its AP state to its peers, in ms (the grader uses 200).', value: () => '200' },
    },
    checks: [
      {
        id: 'cp-read-write',
        title: 'CP: a write on one node is read on every node, even from a replica that got it late',
        hint: 'Quorums: a write stores (version+1) on a majority before answering; a read asks a majority and answers the highest version. A node that answers from its own copy returns what a slow link has not delivered yet.',
        async run(ctx) {
          begin(ctx);
          const h = historyOf(ctx);
          const key = `k${ctx.random.string(6)}`;
          const v1 = `v1-${ctx.random.string(8)}`;
          const v2 = `v2-${ctx.random.string(8)}`;
          const ops: Op[] = [];
          const missing = await cpGet(ctx, h, 'c1', 2, key);
          ops.push(missing);
          if (missing.type !== 'ok' || missing.value !== null) opFailure(ctx, missing, `GET /cp/kv/{key} of a key never written must be 404 (node 2 answered ${missing.note ?? show(missing.value)}).`, '404');
          ctx.net.delay(1, 3, 600); // node 3 gets node 1's messages late
          const w = await cpPut(ctx, h, 'c1', 1, key, v1);
          ops.push(w);
          if (w.type !== 'ok') opFailure(ctx, w, 'PUT /cp/kv/{key} on node 1 with every node up must answer 204 (or 200).', '204');
          for (const id of [3, 2]) {
            const r = await cpGet(ctx, h, 'c2', id, key);
            ops.push(r);
            if (r.type !== 'ok') opFailure(ctx, r, `GET on node ${id} with every node up must answer 200.`, `200 ${show(v1)}`);
          }
          ctx.net.heal();
          ops.push(await cpPut(ctx, h, 'c3', 3, key, v2));
          for (const id of [1, 2, 3]) ops.push(await cpGet(ctx, h, 'c1', id, key));
          writeTimeline(ctx, 'replicated-kv');
          expectLinearizable(ctx, ops, 'Writes on node 1 and node 3, reads on every node (node 1 -> node 3 delayed 600 ms at first)');
        },
      },
      {
        id: 'cp-majority-side',
        title: 'CP: during a partition the majority side keeps accepting writes and reads',
        hint: 'A majority of three is two: node 2 and node 3 together can write and read without node 1. Wait for a majority of answers, not for every node.',
        async run(ctx) {
          begin(ctx);
          const h = historyOf(ctx);
          const key = `k${ctx.random.string(6)}`;
          ctx.net.partition([1], [2, 3]);
          const value = `maj-${ctx.random.string(8)}`;
          const w = await cpPut(ctx, h, 'c1', 2, key, value);
          if (w.type !== 'ok') opFailure(ctx, w, `With node 1 cut off, node 2 and node 3 are a majority: PUT on node 2 must succeed (it answered ${w.note ?? w.type}). Do not wait for every node.`, '204');
          const r = await cpGet(ctx, h, 'c2', 3, key);
          if (r.type !== 'ok' || r.value !== value) opFailure(ctx, r, 'On the majority side, a read on node 3 must return the write just made on node 2.', `200 ${show(value)}`);
          writeTimeline(ctx, 'replicated-kv');
        },
      },
      {
        id: 'cp-minority-refuses',
        title: 'CP: the minority side refuses (503) within CP_TIMEOUT_MS, and never serves a stale value',
        hint: 'Without answers from a majority within CP_TIMEOUT_MS, answer 503: availability is what a CP store gives up during a partition. Reads too: node 1 alone cannot know whether the others wrote something newer.',
        timeoutMs: 20_000,
        async run(ctx) {
          begin(ctx);
          const h = historyOf(ctx);
          const key = `k${ctx.random.string(6)}`;
          const ops: Op[] = [];
          const before = `before-${ctx.random.string(6)}`;
          ops.push(await cpPut(ctx, h, 'c1', 1, key, before));
          if (ops[0]!.type !== 'ok') opFailure(ctx, ops[0]!, 'PUT on node 1 with every node up must answer 204.', '204');
          ctx.net.partition([1], [2, 3]);
          const after = `after-${ctx.random.string(6)}`;
          const w2 = await cpPut(ctx, h, 'c2', 2, key, after);
          ops.push(w2);
          if (w2.type !== 'ok') opFailure(ctx, w2, 'The majority side (nodes 2 and 3) must accept a write during the partition.', '204');
          const budget = cpTimeout(ctx) + SLACK_MS;
          const peerBytes = ctx.net.peerBytes();
          const t1 = performance.now();
          const w = await cpPut(ctx, h, 'c3', 1, key, `minority-${ctx.random.string(6)}`);
          ops.push(w);
          if (w.type === 'ok') {
            opFailure(ctx, w, `Node 1 is cut off from both peers, yet it accepted a write${ctx.net.peerBytes() === peerBytes ? ' without a single byte reaching its peers through PEERS: does it talk to them by another way?' : ''}. A CP store must refuse (503) without a majority.`, '503');
          }
          const took = performance.now() - t1;
          if (w.note !== '503' || took > budget) opFailure(ctx, w, `During the partition, PUT on node 1 must answer 503 within CP_TIMEOUT_MS (${cpTimeout(ctx)} ms, the grader allows ${budget}): a CP store says no, it does not hang.`, `503 within ${budget} ms`);
          const r = await cpGet(ctx, h, 'c3', 1, key);
          ops.push(r);
          if (r.type === 'info' || (r.type === 'fail' && r.complete - r.invoke > budget)) opFailure(ctx, r, `During the partition, GET on node 1 must answer 503 within ${budget} ms.`, '503');
          writeTimeline(ctx, 'replicated-kv');
          expectLinearizable(ctx, ops, 'A write before the partition, one on the majority side, a write and a read on node 1 alone');
          if (r.type === 'ok') opFailure(ctx, r, 'During the partition node 1 answered a read alone: a CP store refuses (503) without a majority, even if its own copy happened to be current.', '503');
        },
      },
      {
        id: 'cp-heal',
        title: 'CP: after the partition heals, the node that was cut off reads the latest value and writes again',
        hint: 'Nothing special to do if reads and writes always use a majority: after heal node 1 is part of one again. Make sure a peer call that hung during the partition does not stay stuck (timeouts on every call).',
        timeoutMs: 20_000,
        async run(ctx) {
          begin(ctx);
          const h = historyOf(ctx);
          const key = `k${ctx.random.string(6)}`;
          const ops: Op[] = [];
          ctx.net.partition([1], [2, 3]);
          const v = `during-${ctx.random.string(6)}`;
          ops.push(await cpPut(ctx, h, 'c1', 3, key, v));
          ctx.net.heal();
          const r = await cpGet(ctx, h, 'c2', 1, key);
          ops.push(r);
          if (r.type !== 'ok') opFailure(ctx, r, 'After the partition healed, GET on node 1 must answer 200 again.', `200 ${show(v)}`);
          const v2 = `healed-${ctx.random.string(6)}`;
          const w = await cpPut(ctx, h, 'c2', 1, key, v2);
          ops.push(w);
          if (w.type !== 'ok') opFailure(ctx, w, 'After the partition healed, PUT on node 1 must succeed again.', '204');
          ops.push(await cpGet(ctx, h, 'c1', 2, key));
          writeTimeline(ctx, 'replicated-kv');
          expectLinearizable(ctx, ops, 'A write during a partition, then reads and a write on the node that was cut off');
        },
      },
      {
        id: 'ap-available',
        title: 'AP: during a partition both sides accept increments at once, and each node counts its own',
        hint: 'An AP increment never waits for a peer: count it locally (per node) and answer. Peers learn about it later by gossip.',
        async run(ctx) {
          begin(ctx);
          const name = `c${ctx.random.string(6)}`;
          ctx.net.partition([1], [2, 3]);
          const plan = [1, 1, 2, 3, 1, 2, 3, 1, 2, 1];
          const results = [];
          for (const id of plan) results.push({ id, ...(await apIncrement(ctx, id, name)) });
          const bad = results.find((r) => !r.ok || r.ms > cpTimeout(ctx));
          if (bad) {
            throw new CheckFailure({
              message: `During a partition an AP increment must be accepted at once on either side; node ${bad.id} answered ${bad.status} after ${bad.ms} ms. Do not wait for peers: count locally and gossip later.`,
              expected: `200 within ${cpTimeout(ctx)} ms on every node`,
              received: results.map((r) => `node ${r.id}: ${r.status} ${r.ms} ms`).join('; '),
              transcript: faultsOf(ctx),
              transcriptTitle: 'Faults the grader injected (ms since the run began)',
            });
          }
          const n1 = plan.filter((p) => p === 1).length;
          const v1 = await apRead(ctx, 1, name);
          expectThat(v1 === n1, `During the partition node 1 must count the ${n1} increments it accepted itself.`, { expected: String(n1), received: show(v1) });
          ctx.note(`${plan.length} increments accepted during the partition, each in at most ${Math.max(...results.map((r) => r.ms))} ms`);
        },
      },
      {
        id: 'ap-converge',
        title: `AP: after heal every node converges to the sum of acknowledged increments within ${CONVERGE_MS / 1000} s`,
        hint: 'A G-counter: each node keeps one count per node; it gossips its map every GOSSIP_MS and merges what it receives by taking, per node, the highest count. The value is the sum. Overwriting the map (last writer wins) loses increments; adding the counts counts them twice.',
        timeoutMs: 20_000,
        async run(ctx) {
          begin(ctx);
          const name = `c${ctx.random.string(6)}`;
          ctx.net.partition([1], [2, 3]);
          const plan = [1, 2, 3, 1, 2, 2, 3, 1, 3, 2, 1, 1];
          let acked = 0;
          for (const id of plan) if ((await apIncrement(ctx, id, name)).ok) acked++;
          ctx.net.heal();
          const t0 = performance.now();
          let values: (number | undefined)[] = [];
          while (performance.now() - t0 < CONVERGE_MS) {
            values = await Promise.all([1, 2, 3].map((id) => apRead(ctx, id, name)));
            if (values.every((v) => v === acked)) break;
            await ctx.sleep(100);
          }
          if (!values.every((v) => v === acked)) {
            const over = values.some((v) => (v ?? 0) > acked);
            throw new CheckFailure({
              message: `${CONVERGE_MS / 1000} s after the partition healed, the nodes must all report the ${acked} acknowledged increments, but they report ${values.map((v, i) => `node ${i + 1}: ${show(v)}`).join(', ')}. ${over ? 'More than were made: merging adds counts that were already counted. Merge by taking the highest count per node.' : values.every((v) => v === values[0]) ? 'They agree on a smaller number: a merge that replaces one node\'s state with another\'s loses increments.' : 'They do not exchange their state: gossip it to every peer every GOSSIP_MS.'}`,
              expected: `${acked} on every node within ${CONVERGE_MS} ms`,
              received: values.map((v, i) => `node ${i + 1}: ${show(v)}`).join(', '),
              transcript: faultsOf(ctx),
              transcriptTitle: 'Faults the grader injected (ms since the run began)',
            });
          }
          ctx.note(`converged to ${acked} on all three nodes ${Math.round(performance.now() - t0)} ms after heal`);
        },
      },
    ],
  },
  import.meta.dirname,
);
