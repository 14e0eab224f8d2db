import { defineLab, expectJson, expectThat, HARD, mediaType, type CheckContext, type SseClient, type SseEvent } from '../../grader/index.ts';

// --- helpers -----------------------------------------------------------------------------------------

const num = (ctx: CheckContext, name: 'HEARTBEAT_MS' | 'HISTORY_SIZE') => Number(ctx.env[name]);

interface Item {
  id: number;
  text: string;
}

/** POST /items: the created item (201). */
async function post(ctx: CheckContext, text: string): Promise<{ item: Item; at: number }> {
  const res = await ctx.http.post('/items', { text });
  const body = expectJson(res, 201, `POST /items {"text": ${JSON.stringify(text)}} must create the item: 201 with {"id", "text"}.`);
  expectThat(Number.isSafeInteger(body?.id) && body.text === text, 'The created item is {"id": <integer>, "text": <the text sent>}.', { expected: `{"id": <integer>, "text": ${JSON.stringify(text)}}`, res });
  return { item: body as Item, at: ctx.sse.now() };
}

async function open(ctx: CheckContext, name: string, lastEventId?: string): Promise<SseClient> {
  const s = await ctx.sse.open('/events', { name, lastEventId });
  if (s.status !== 200 || mediaType(String(s.headers['content-type'] ?? '')) !== 'text/event-stream') {
    s.fail(`GET /events must answer 200 with \`Content-Type: text/event-stream\`.`, { expected: 'HTTP 200, Content-Type: text/event-stream', received: `HTTP ${s.status}, Content-Type: ${String(s.headers['content-type'] ?? '(none)')}` });
  }
  return s;
}

/** The event of `item` on `s`: `event: item`, `id:` the item's id, data its JSON. */
async function expectItem(s: SseClient, item: Item, timeoutMs: number, what = `the event of item ${item.id}`): Promise<SseEvent> {
  const e = await s.expectEvent((x) => x.event === 'item' && x.id === String(item.id), timeoutMs, what, `id: ${item.id}\nevent: item\ndata: ${JSON.stringify(item)}`);
  let data: unknown;
  try {
    data = JSON.parse(e.data);
  } catch {
    data = undefined;
  }
  if (JSON.stringify(data) !== JSON.stringify(item)) {
    s.fail(`The event of item ${item.id} must carry the item as JSON in \`data:\`, exactly as POST /items answered it.`, { expected: `data: ${JSON.stringify(item)}`, received: `data: ${e.data}` });
  }
  return e;
}

async function subscribers(ctx: CheckContext): Promise<number> {
  const res = await ctx.http.get('/stats');
  const body = expectJson(res, 200, 'GET /stats must answer {"subscribers": <number of open /events streams>}.');
  expectThat(Number.isInteger(body?.subscribers), 'GET /stats answers {"subscribers": <integer>}.', { expected: '{"subscribers": 0}', res });
  return body.subscribers as number;
}

function texts(ctx: CheckContext, n: number): string[] {
  // Texts that break naive framing: a newline (a raw one would end the data line), Unicode, a colon.
  const hard = ['line one\nline two', 'data: not a field', ...HARD.unicode];
  return Array.from({ length: n }, (_, i) => (i < 2 ? hard[i]! : `${ctx.random.pick(hard)} ${ctx.random.word()}`));
}

// --- the lab -----------------------------------------------------------------------------------------

export default defineLab(
  {
    id: 'live-updates',
    title: 'Live updates with Server-Sent Events',
    track: 'async',
    summary: 'A Server-Sent Events feed: an id on every event, resume with Last-Event-ID from a bounded history, heartbeat comments, no buffering, and subscribers cleaned up when they go.',
    difficulty: 'intermediate',
    estimatedMinutes: 75,
    questions: [13, 26],
    env: {
      HEARTBEAT_MS: {
        description: 'Send a comment line on every open stream this often, in ms. The grader picks 200 to 400.',
        value: (r) => String(r.int(200, 400)),
      },
      HISTORY_SIZE: {
        description: 'How many of the latest events to keep for clients that resume. The grader picks 10 to 20.',
        value: (r) => String(r.int(10, 20)),
      },
    },
    checks: [
      {
        id: 'stream-opens',
        title: 'GET /events is a text/event-stream whose headers arrive at once',
        hint: 'Answer 200 with `Content-Type: text/event-stream` and `Cache-Control: no-cache`, and send the headers right away (Node: res.flushHeaders() or a first `: connected` comment) instead of waiting for the first event.',
        async run(ctx) {
          const s = await open(ctx, 'first stream');
          const cache = String(s.headers['cache-control'] ?? '');
          if (!/\bno-cache\b|\bno-store\b/i.test(cache)) s.fail('An event stream must not be cached by proxies: send `Cache-Control: no-cache`.', { expected: 'Cache-Control: no-cache', received: `Cache-Control: ${cache || '(none)'}` });
          ctx.note(`headers after ${s.openedAt} ms`);
        },
      },
      {
        id: 'events',
        title: 'Each new item is an event: `id:` the item id, `event: item`, `data:` the item as JSON',
        hint: 'For every item created, write `id: <id>\\nevent: item\\ndata: <JSON of the item>\\n\\n` to every open stream. JSON.stringify escapes newlines, so the data stays on one line.',
        async run(ctx) {
          const s = await open(ctx, 'stream');
          const made: Item[] = [];
          for (const t of texts(ctx, 4)) made.push((await post(ctx, t)).item);
          let prev = -Infinity;
          for (const item of made) {
            await expectItem(s, item, 1000);
            expectThat(item.id > prev, 'Item ids (the event ids) must increase: a client resumes from the last id it saw.', { expected: `an id greater than ${prev}`, received: String(item.id) });
            prev = item.id;
          }
        },
      },
      {
        id: 'no-buffering',
        title: 'An event reaches the stream within 100 ms of the POST that caused it',
        hint: 'Write each event to the response as soon as the item exists, and do not let anything buffer it: no compression middleware on the stream, no waiting for more data (Node writes at once; some frameworks need an explicit flush).',
        async run(ctx) {
          const s = await open(ctx, 'stream');
          const delays: number[] = [];
          for (const t of texts(ctx, 8)) {
            const { item, at } = await post(ctx, t);
            const e = await expectItem(s, item, 1000);
            delays.push(Math.max(0, e.at - at));
            await ctx.sleep(30);
          }
          const worst = Math.max(...delays);
          ctx.note(`event after the POST's answer: median ${[...delays].sort((a, b) => a - b)[4]} ms, worst ${worst} ms`);
          if (worst > 100) s.fail(`An event arrived ${worst} ms after the POST that caused it had been answered: events must be sent at once, not buffered (limit 100 ms).`, { expected: 'every event within 100 ms', received: `delays: ${delays.join(', ')} ms` });
        },
      },
      {
        id: 'fan-out',
        title: 'Every open stream gets every event, once',
        hint: 'Keep the open responses in a Set and write each event to all of them.',
        async run(ctx) {
          const streams = await Promise.all([1, 2, 3].map((i) => open(ctx, `stream ${i}`)));
          const made: Item[] = [];
          for (const t of texts(ctx, 3)) made.push((await post(ctx, t)).item);
          for (const s of streams) for (const item of made) await expectItem(s, item, 1000);
          await ctx.sleep(200);
          for (const s of streams) {
            const extra = s.take().filter((e) => e.event === 'item');
            if (extra.length > 0) s.fail(`${s.name} received ${extra.length} item event(s) twice or unasked: each stream gets each event once.`, { expected: `${made.length} events`, received: extra.map((e) => `id: ${e.id} data: ${e.data}`).join('\n') });
          }
        },
      },
      {
        id: 'resume',
        title: 'Reconnecting with Last-Event-ID replays exactly the events missed, then goes on live',
        hint: 'Keep the latest HISTORY_SIZE events. When GET /events carries `Last-Event-ID: n`, first write every kept event with an id greater than n, in order, then add the stream to the live subscribers.',
        async run(ctx) {
          const first = await open(ctx, 'before the drop');
          const seen = (await post(ctx, texts(ctx, 1)[0]!)).item;
          await expectItem(first, seen, 1000);
          first.close();
          const missed: Item[] = [];
          for (const t of texts(ctx, 3)) missed.push((await post(ctx, t)).item);
          const again = await open(ctx, `resumed with Last-Event-ID: ${seen.id}`, String(seen.id));
          for (const item of missed) await expectItem(again, item, 1000, `the missed event ${item.id}, replayed after Last-Event-ID: ${seen.id}`);
          const live = (await post(ctx, 'after the replay')).item;
          await expectItem(again, live, 1000, `the live event ${live.id} after the replay`);
          const order = [...missed, live].map((i) => i.id);
          const extra = again.take().filter((e) => e.event === 'item');
          if (extra.length > 0) again.fail(`After Last-Event-ID: ${seen.id} the stream must replay only the events after it: ${extra.map((e) => e.id).join(', ')} came too (or twice).`, { expected: `ids ${order.join(', ')}`, received: extra.map((e) => `id: ${e.id}`).join(', ') });
        },
      },
      {
        id: 'bounded-history',
        title: 'History is bounded: resuming from too far back starts with `event: reset`, then the kept events',
        hint: 'Drop the oldest event once HISTORY_SIZE are kept. When Last-Event-ID is older than the oldest kept event minus one, some events are lost: send `event: reset` (with any data) first, so the client reloads, then the kept events.',
        async run(ctx) {
          const size = num(ctx, 'HISTORY_SIZE');
          const before = (await post(ctx, 'the last one this client saw')).item;
          const made: Item[] = [];
          for (const t of texts(ctx, size + 5)) made.push((await post(ctx, t)).item);
          const s = await open(ctx, `resumed with Last-Event-ID: ${before.id}`, String(before.id));
          const firstEvent = await s.expectEvent(() => true, 1000, 'the first event after resuming');
          if (firstEvent.event !== 'reset') s.fail(`${size + 5} events happened since id ${before.id} and only the last HISTORY_SIZE (${size}) are kept: the stream must start with \`event: reset\` to say some were lost.`, { expected: 'event: reset', received: `event: ${firstEvent.event} (id ${firstEvent.id})` });
          for (const item of made.slice(-size)) await expectItem(s, item, 1000, `kept event ${item.id}`);
          await ctx.sleep(150);
          const extra = s.take().filter((e) => e.event === 'item');
          if (extra.length > 0) s.fail(`Only the last HISTORY_SIZE (${size}) events may be replayed; the stream also sent ${extra.map((e) => e.id).join(', ')}.`, { expected: `ids ${made.slice(-size)[0]!.id} to ${made[made.length - 1]!.id}`, received: extra.map((e) => `id: ${e.id}`).join(', ') });
        },
      },
      {
        id: 'heartbeat',
        title: 'An idle stream gets a comment line every HEARTBEAT_MS',
        hint: 'setInterval(HEARTBEAT_MS): write a comment (`: heartbeat\\n\\n`, a line starting with a colon) to every open stream. Proxies close silent connections, and a failed write is how you learn a subscriber is gone.',
        async run(ctx) {
          const hb = num(ctx, 'HEARTBEAT_MS');
          const s = await open(ctx, 'idle stream');
          const from = ctx.sse.now();
          await ctx.sleep(3 * hb + 200);
          const comments = s.comments.filter((c) => c.at > from);
          const gaps = comments.map((c, i) => c.at - (i === 0 ? from : comments[i - 1]!.at));
          if (comments.length < 2 || Math.max(...gaps) > hb + 200) {
            s.fail(`In ${3 * hb + 200} ms without events (HEARTBEAT_MS is ${hb}) the stream must get a comment line about every ${hb} ms.`, { expected: `at least 2 comments, at most ${hb + 200} ms apart`, received: `${comments.length} comment(s)${gaps.length ? `, gaps ${gaps.join(', ')} ms` : ''}` });
          }
        },
      },
      {
        id: 'cleanup',
        title: 'Closed streams are forgotten: GET /stats counts the open ones',
        hint: 'Remove a stream from your subscribers when its connection closes (Node: req.on("close")); a failed write means it is gone too. GET /stats answers {"subscribers": <how many are open>}.',
        async run(ctx) {
          const hb = num(ctx, 'HEARTBEAT_MS');
          // A server may only learn that a stream was closed when a write to it fails (a heartbeat, on some
          // stacks the second one after the close): every count below is given two heartbeats to settle.
          const budget = 2 * hb + 500;
          const settle = async (want: number) => {
            const deadline = performance.now() + budget;
            let now = await subscribers(ctx);
            while (now !== want && performance.now() < deadline) {
              await ctx.sleep(50);
              now = await subscribers(ctx);
            }
            return now;
          };
          // Every stream of the earlier checks has been closed by the grader: none is open now.
          const before = await settle(0);
          expectThat(before === 0, `Every stream the grader opened before this check is closed: within ${budget} ms (2 x HEARTBEAT_MS + 0.5 s) GET /stats must count 0.`, { expected: '{"subscribers": 0}', received: `{"subscribers": ${before}}` });
          const streams = await Promise.all([1, 2, 3].map((i) => open(ctx, `stream ${i}`)));
          const open3 = await settle(3);
          expectThat(open3 === 3, 'With 3 streams open, GET /stats must count 3 subscribers.', { expected: '{"subscribers": 3}', received: `{"subscribers": ${open3}}` });
          streams[0]!.close();
          streams[1]!.close();
          const now = await settle(1);
          if (now !== 1) streams[2]!.fail(`Two of the 3 streams were closed by the client: within ${budget} ms (2 x HEARTBEAT_MS + 0.5 s) GET /stats must count 1.`, { expected: '{"subscribers": 1}', received: `{"subscribers": ${now}}` });
          streams[2]!.close();
        },
      },
    ],
  },
  import.meta.dirname,
);
