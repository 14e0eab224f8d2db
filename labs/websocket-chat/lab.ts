import { CheckFailure, defineLab, expectThat, HARD, rawFrame, type CheckContext, type WsClient } from '../../grader/index.ts';

// --- helpers -----------------------------------------------------------------------------------------

const NAMED = ['ada', 'bob', 'cyd', 'dee', 'eve', 'fay'] as const;
type Named = (typeof NAMED)[number];
const FANOUT = 200;

function tokens(ctx: CheckContext): Record<string, string> {
  return JSON.parse(ctx.env.CHAT_TOKENS) as Record<string, string>;
}

function tokenOf(ctx: CheckContext, user: string): string {
  const found = Object.entries(tokens(ctx)).find(([, u]) => u === user);
  if (!found) throw new Error(`no token for ${user}`);
  return found[0];
}

const ms = (ctx: CheckContext, name: 'HEARTBEAT_MS' | 'MAX_MESSAGE_BYTES' | 'MAX_BUFFERED_BYTES') => Number(ctx.env[name]);

function connect(ctx: CheckContext, user: string, origin?: string): Promise<WsClient> {
  return ctx.ws.connect(`/chat?token=${encodeURIComponent(tokenOf(ctx, user))}`, { name: user, origin });
}

/**
 * Servers now running with a heartbeat of a minute. Checks that open many connections or stop a client
 * reading run with it: on a busy machine the grader itself can take longer than a 250 ms heartbeat to
 * answer a ping, and your server would rightly drop members for what the grader's machine did. One restart
 * serves consecutive checks; the heartbeat check (and sigterm, which restarts) go back to the run's value.
 */
const longHeartbeat = new WeakSet<CheckContext['server']>();

async function useLongHeartbeat(ctx: CheckContext, why: string): Promise<void> {
  if (longHeartbeat.has(ctx.server)) {
    ctx.note(`your server still runs with HEARTBEAT_MS=60000 (${why})`);
    return;
  }
  ctx.note(`your server is restarted with HEARTBEAT_MS=60000 for this check (${why})`);
  await ctx.server.restart({ env: { HEARTBEAT_MS: '60000' } });
  longHeartbeat.add(ctx.server);
}

async function useRunHeartbeat(ctx: CheckContext): Promise<void> {
  if (!longHeartbeat.has(ctx.server)) return;
  longHeartbeat.delete(ctx.server);
  await ctx.server.restart();
}

function roomName(ctx: CheckContext): string {
  return `room-${ctx.random.string(8)}`;
}

/** Joins `room` and returns the `joined` answer's members. */
async function join(c: WsClient, room: string): Promise<string[]> {
  c.send({ type: 'join', room });
  const joined = await c.expectMessage((m) => m?.type === 'joined' && m.room === room, 2000, `{"type":"joined","room":"${room}",...} after {"type":"join","room":"${room}"}`);
  if (!Array.isArray(joined.members)) c.fail(`The "joined" answer must carry the room's \`members\`: an array of user names.`, { expected: `{"type":"joined","room":"${room}","members":[...]}`, received: JSON.stringify(joined) });
  return joined.members as string[];
}

/** Every client joins `room`, one after the other, and its presence events are taken away. */
async function joinAll(room: string, clients: WsClient[]): Promise<void> {
  for (const c of clients) await join(c, room);
  for (const c of clients) c.take((m) => m?.type === 'presence');
}

const isMessage = (room: string, ref: string) => (m: any) => m?.type === 'message' && m.room === room && m.ref === ref;

function shownMessage(room: string, from: string, text: string, ref: string): string {
  return JSON.stringify({ type: 'message', room, from, text, ref });
}

/** `c` receives the message once: it arrives within 2 s, and no copy follows within `quietMs`. */
async function expectOnce(c: WsClient, room: string, from: string, text: string, ref: string, quietMs = 250): Promise<void> {
  const m = await c.expectMessage(isMessage(room, ref), 2000, `the message "${ref}" of ${from} in ${room}`, shownMessage(room, from, text, ref));
  if (m.from !== from || m.text !== text) {
    c.fail(`${c.name} received message ${ref} with the wrong \`from\` or \`text\`: \`from\` is the sender's user name (from its token), and \`text\` is exactly what was sent.`, { expected: shownMessage(room, from, text, ref), received: JSON.stringify(m) });
  }
  await c.expectNoMessage(quietMs, `message ${ref} a second time (each member gets each message once)`, isMessage(room, ref));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The slow-consumer scenario on a server whose heartbeat will not interfere. */
async function slowConsumer(ctx: CheckContext, max: number, room: string): Promise<void> {
  const [ada, bob, dee] = await Promise.all((['ada', 'bob', 'dee'] as Named[]).map((u) => connect(ctx, u)));
  await joinAll(room, [ada!, bob!, dee!]);
  dee!.stopReading();
  // Far more than the kernel's socket buffers hold (a few MB each way on loopback), so what your server
  // queues for dee must pass MAX_BUFFERED_BYTES.
  const size = max - 200;
  const n = Math.ceil((24 * 1024 * 1024) / size);
  const text = 'y'.repeat(size - 80);
  const t0 = performance.now();
  // In batches, ada reading its own copies between them: the sender must not become a slow reader itself.
  for (let i = 0; i < n; i += 32) {
    const end = Math.min(n, i + 32);
    for (let j = i; j < end; j++) ada!.send({ type: 'say', room, text, ref: `s${j}` });
    await ada!.expectMessage((m) => m?.type === 'message' && m.ref === `s${end - 1}`, 5000, `ada's own message s${end - 1}`);
    ada!.take();
    if (i % 512 === 0) bob!.take((m) => m?.type === 'message' && m.ref !== `s${n - 1}`);
  }
  const last = await bob!.nextMatching((m) => m.json?.type === 'message' && m.json.ref === `s${n - 1}`, 10_000);
  const took = Math.round(performance.now() - t0);
  if (!last) bob!.fail(`While dee did not read, bob did not get all of ada's ${n} messages within 10 s: a client that does not read must not hold up the others.`, { expected: `all ${n} messages`, received: `${bob!.received} message(s) in all` });
  ctx.note(`${n} messages of ${size} bytes reached bob in ${took} ms while dee did not read`);
  dee!.resumeReading();
  const closed = await dee!.waitClosed(3000);
  const got = dee!.received;
  if (!closed || got >= n) {
    dee!.fail(`dee stopped reading while ${((n * size) / 1048576).toFixed(0)} MB were sent to its room: your server must drop it once more than MAX_BUFFERED_BYTES (${ms(ctx, 'MAX_BUFFERED_BYTES')}) bytes wait for it, instead of holding the whole backlog in memory.`, {
      expected: 'dee dropped (its connection closed) before it got every message',
      received: `${got} of ${n} messages delivered, connection ${closed ? 'closed' : 'still open'}`,
    });
  }
}

// --- the lab -----------------------------------------------------------------------------------------

export default defineLab(
  {
    id: 'websocket-chat',
    title: 'WebSocket chat: rooms, presence, heartbeats',
    track: 'async',
    summary: 'Chat rooms over WebSocket: auth and Origin checked before the upgrade, broadcast to room members once each in order, presence, heartbeats that drop dead peers, size and buffer limits, a clean shutdown.',
    difficulty: 'intermediate',
    estimatedMinutes: 120,
    questions: [13],
    // The engine's malformed-requests check runs before the last check (which stops the server: it would be started again for it).
    malformedRequests: { before: 'sigterm' },
    env: {
      CHAT_TOKENS: {
        description: `JSON object of access tokens to user names: {"<token>": "<user>", ...}. The users are ${NAMED.join(', ')} and u000 to u${FANOUT - 1}; the tokens are random.`,
        value: (r) => {
          const out: Record<string, string> = {};
          for (const u of NAMED) out[`tk_${r.string(24)}`] = u;
          for (let i = 0; i < FANOUT; i++) out[`tk_${r.string(24)}`] = `u${String(i).padStart(3, '0')}`;
          return JSON.stringify(out);
        },
      },
      ALLOWED_ORIGINS: {
        description: 'Comma-separated origins whose pages may open a connection (e.g. `https://chat.example.org,http://localhost:5173`).',
        value: (r) => `https://${r.word()}.example.org,http://localhost:${r.int(3001, 9999)}`,
      },
      HEARTBEAT_MS: {
        description: 'Ping every client this often, in ms; drop one that has not answered within two intervals. The grader picks 250 to 400.',
        value: (r) => String(r.int(250, 400)),
      },
      MAX_MESSAGE_BYTES: {
        description: 'The largest message a client may send, in bytes (a bigger one closes its connection with 1009). The grader picks 4096 to 8192.',
        value: (r) => String(r.int(4096, 8192)),
      },
      MAX_BUFFERED_BYTES: {
        description: 'How many bytes may wait in your server for one client that does not read; past that, drop the client. The grader uses 262144.',
        value: () => '262144',
      },
    },
    checks: [
      {
        id: 'handshake-auth',
        title: 'The upgrade needs a valid token: 401 before the upgrade otherwise',
        hint: 'Authenticate in the HTTP upgrade request, before accepting it: read `token` from the query string, look it up as an own key of CHAT_TOKENS (exact match), and answer `HTTP/1.1 401` on the raw socket (with `ws`: handle the server\'s `upgrade` event yourself, `noServer: true`). Accepting first and closing after is too late: the connection was open.',
        async run(ctx) {
          const room = roomName(ctx);
          const ada = await connect(ctx, 'ada');
          const members = await join(ada, room);
          expectThat(members.length === 1 && members[0] === 'ada', 'The token in `?token=` names the user: a first member of a fresh room sees only itself, as "ada" (the name CHAT_TOKENS gives that token).', {
            expected: `{"type":"joined","room":"${room}","members":["ada"]}`,
            received: JSON.stringify({ type: 'joined', room, members }),
          });
          const valid = tokenOf(ctx, 'bob');
          const refusals: [string, string][] = [
            ['/chat', 'Without a token'],
            ['/chat?token=', 'With an empty token'],
            [`/chat?token=tk_${ctx.random.string(24)}`, 'With a token that is in no list'],
            [`/chat?token=${encodeURIComponent(valid.slice(0, -1))}`, 'With a valid token missing its last character (a prefix is not the token)'],
            [`/chat?token=${encodeURIComponent(`${valid}x`)}`, 'With a valid token and one more character'],
            [`/chat?token=${ctx.random.pick(['constructor', 'toString', '__proto__', 'hasOwnProperty'])}`, 'With a token that is the name of a built-in object property (CHAT_TOKENS[token] is then not undefined in JavaScript: look up own keys only)'],
          ];
          for (const [path, why] of refusals) await ctx.ws.expectRefused(path, { status: 401, why });
        },
      },
      {
        id: 'origin',
        title: 'An Origin that is not allowed is refused with 403 before the upgrade',
        hint: 'Browsers send `Origin` on every WebSocket handshake and do not apply CORS to it: check it yourself. If present, it must be exactly one of ALLOWED_ORIGINS (otherwise 403, before the upgrade); without an Origin (not a browser) the token alone decides.',
        async run(ctx) {
          const allowed = ctx.env.ALLOWED_ORIGINS.split(',');
          const bad = [`https://evil-${ctx.random.word()}.example`, 'null', `${allowed[0]}.evil.example`, allowed[0]!.replace('https://', 'http://')];
          const token = tokenOf(ctx, 'cyd');
          for (const origin of bad) await ctx.ws.expectRefused(`/chat?token=${token}`, { origin, status: 403, why: `With \`Origin: ${origin}\` (not exactly one of ALLOWED_ORIGINS)` });
          for (const origin of allowed) {
            const c = await connect(ctx, 'cyd', origin);
            c.close();
          }
        },
      },
      {
        id: 'handshake-garbage',
        title: 'Broken upgrade requests are refused and never crash the server; clients that connect and never send hold up nobody',
        hint: 'Everything in an upgrade request comes from the network: `new URL(req.url, base)` throws on a target like `//[` (wrap it and answer 400), and a socket can be reset mid-handshake (give it an `error` listener). A handshake without Sec-WebSocket-Key or with another Sec-WebSocket-Version is refused with 400 (ws\'s handleUpgrade does it). Connections that never send a request cost a socket, nothing more: never wait on one.',
        async run(ctx) {
          // Clients that connect and never send anything, and one that stops after half a request line.
          const silent = await Promise.all(Array.from({ length: 20 }, () => ctx.ws.silent()));
          await ctx.ws.silent('GET /chat?tok');
          const token = encodeURIComponent(tokenOf(ctx, 'eve'));
          const key = Buffer.from(ctx.random.string(16)).toString('base64');
          const upgrade = (target: string, headers: string) => `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${headers}\r\n`;
          const badTarget = ctx.random.pick(['//[', '//[::1/chat', 'http://[/chat', '//x:99999/chat']);
          const cases: [string, string | Buffer][] = [
            [`A request target that is not a URL (\`GET ${badTarget}\`)`, upgrade(badTarget, `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n`)],
            ['A handshake without Sec-WebSocket-Key (a valid token)', upgrade(`/chat?token=${token}`, 'Sec-WebSocket-Version: 13\r\n')],
            ['A handshake with `Sec-WebSocket-Version: 99` (a valid token)', upgrade(`/chat?token=${token}`, `Sec-WebSocket-Version: 99\r\nSec-WebSocket-Key: ${key}\r\n`)],
            ['Bytes that are not HTTP (a TLS ClientHello: a wss:// client on a ws:// port)', Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]), Buffer.from(ctx.random.string(32))])],
          ];
          for (const [what, request] of cases) {
            const a = await ctx.ws.rawHandshake(request, 2000);
            // A connection closed without an answer may be a server on its way down: give it a moment to say so.
            const exit = !ctx.server.running || a.kind === 'closed' || a.kind === 'refused' ? await ctx.server.waitForExit(500) : undefined;
            if (exit || !ctx.server.running) {
              throw new CheckFailure({ message: `${what}: your server exited${exit ? ` (${exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`})` : ''}. One broken request from the network must never take the server down (and every client on it). Its last lines are below.`, expected: 'an HTTP 400 answer (or the connection closed), the server still running', received: 'the server exited', reproduce: a.reproduce });
            }
            if (a.kind === 'answer' && a.status === 101) {
              throw new CheckFailure({ message: `${what}: the server answered 101 Switching Protocols. A handshake that is not a valid WebSocket handshake must be refused before the upgrade.`, expected: 'HTTP 400 (any 4xx), or the connection closed', received: a.statusLine, reproduce: a.reproduce });
            }
            if (a.kind === 'answer' && a.status === undefined) {
              throw new CheckFailure({ message: `${what}: the answer does not start with an HTTP status line.`, expected: 'HTTP/1.1 400 Bad Request (any 4xx), or the connection closed', received: a.statusLine, reproduce: a.reproduce });
            }
            if (a.kind === 'silent') {
              throw new CheckFailure({ message: `${what}: no answer within 2 s, and the connection stays open. Refuse it (HTTP 400) or close it: a half-open handshake holds a socket forever.`, expected: 'HTTP 400 (any 4xx), or the connection closed', received: 'nothing for 2 s', reproduce: a.reproduce });
            }
            if (a.kind === 'refused') {
              throw new CheckFailure({ message: `${what}: the next connection was refused (${a.message}): is the server still listening?`, expected: 'an HTTP answer', received: a.message, reproduce: a.reproduce });
            }
          }
          // With the silent ones still connected, a real client is served as usual.
          const eve = await connect(ctx, 'eve');
          await join(eve, roomName(ctx));
          ctx.note(`${cases.length} broken handshakes refused; ${silent.filter((x) => !x.closed).length + 1} silent connections open meanwhile`);
        },
      },
      {
        id: 'rooms',
        title: 'A message reaches every member of its room once, sender included, and nobody else',
        hint: 'Keep a Set of connections per room (a Set, so joining twice does not add twice). On "say", check the sender is a member, then send {"type":"message","room","from","text","ref"} to every member of that room, the sender too, and to no one else.',
        async run(ctx) {
          const room = roomName(ctx);
          const other = roomName(ctx);
          const [ada, bob, cyd] = await Promise.all((['ada', 'bob', 'cyd'] as Named[]).map((u) => connect(ctx, u)));
          await join(ada!, room);
          const members = await join(bob!, room);
          expectThat(JSON.stringify([...members].sort()) === JSON.stringify(['ada', 'bob']), `When bob joins ${room} where ada already is, "joined" lists both members.`, { expected: '"members": ["ada", "bob"]', received: `"members": ${JSON.stringify(members)}` });
          await ada!.expectMessage((m) => m?.type === 'presence' && m.room === room && m.user === 'bob' && m.status === 'joined', 2000, `{"type":"presence","room":"${room}","user":"bob","status":"joined"} when bob joins`);
          await join(cyd!, other);

          const text = `${ctx.random.pick(HARD.unicode)} ${ctx.random.word()}`;
          const ref = `r-${ctx.random.string(6)}`;
          ada!.send({ type: 'say', room, text, ref });
          await Promise.all([expectOnce(ada!, room, 'ada', text, ref), expectOnce(bob!, room, 'ada', text, ref)]);
          await cyd!.expectNoMessage(100, `ada's message to ${room}, a room cyd is not in`, (m) => m?.type === 'message');

          // Joining twice is still one membership.
          await join(bob!, room);
          await ada!.expectNoMessage(150, 'a second "joined" presence for bob (bob was already a member)', (m) => m?.type === 'presence' && m.user === 'bob' && m.status === 'joined');
          const ref2 = `r-${ctx.random.string(6)}`;
          ada!.send({ type: 'say', room, text, ref: ref2 });
          await expectOnce(bob!, room, 'ada', text, ref2, 300);

          bob!.send({ type: 'leave', room });
          await bob!.expectMessage((m) => m?.type === 'left' && m.room === room, 2000, `{"type":"left","room":"${room}"} after {"type":"leave"}`);
          await ada!.expectMessage((m) => m?.type === 'presence' && m.room === room && m.user === 'bob' && m.status === 'left', 2000, `{"type":"presence","room":"${room}","user":"bob","status":"left"} when bob leaves`);
          const ref3 = `r-${ctx.random.string(6)}`;
          ada!.send({ type: 'say', room, text, ref: ref3 });
          await ada!.expectMessage(isMessage(room, ref3), 2000, `ada's own message ${ref3}`);
          await bob!.expectNoMessage(200, `a message of ${room} after leaving it`, (m) => m?.type === 'message');
        },
      },
      {
        id: 'order',
        title: 'Two members talking at once: everyone sees each sender\'s messages in the order sent, once',
        hint: 'Handle each connection\'s messages in the order they arrive and broadcast synchronously (or through one queue per room): an `await` between receiving and broadcasting (a database write, a timer) lets a later message overtake an earlier one.',
        async run(ctx) {
          const room = roomName(ctx);
          const [ada, bob] = await Promise.all((['ada', 'bob'] as Named[]).map((u) => connect(ctx, u)));
          await joinAll(room, [ada!, bob!]);
          const n = 40;
          for (let i = 0; i < n; i++) {
            ada!.send({ type: 'say', room, text: `ada ${i}`, ref: `a${i}` });
            bob!.send({ type: 'say', room, text: `bob ${i}`, ref: `b${i}` });
          }
          const seenBy = new Map<WsClient, any[]>();
          for (const c of [ada!, bob!]) {
            const seen: any[] = [];
            // expectMessage takes the oldest unread match: `seen` is the order of arrival.
            for (let k = 0; k < 2 * n; k++) seen.push(await c.expectMessage((m) => m?.type === 'message' && m.room === room, 3000, `${2 * n} messages (${n} from each sender), got ${k}`));
            seenBy.set(c, seen);
          }
          await ctx.sleep(200);
          for (const c of [ada!, bob!]) {
            const extra = c.take((m) => m?.type === 'message' && m.room === room);
            expectThat(extra.length === 0, `${c.name} received ${extra.length} message(s) more than the ${2 * n} sent: each member gets each message once.`, { expected: `${2 * n} messages`, received: `${2 * n + extra.length}: ${JSON.stringify(extra.slice(0, 3))}` });
          }
          for (const c of [ada!, bob!]) {
            const seen = seenBy.get(c)!;
            for (const sender of ['a', 'b']) {
              const refs = seen.map((m) => m.ref as string).filter((r) => r.startsWith(sender));
              const want = Array.from({ length: n }, (_, i) => `${sender}${i}`);
              if (JSON.stringify(refs) !== JSON.stringify(want)) {
                const at = refs.findIndex((r, i) => r !== want[i]);
                c.fail(`${c.name} received ${sender === 'a' ? 'ada' : 'bob'}'s messages out of order or not exactly once: position ${at} is ${refs[at]}, expected ${want[at]}.`, {
                  expected: want.join(' '),
                  received: refs.join(' '),
                });
              }
            }
          }
        },
      },
      {
        id: 'bad-input',
        title: 'Invalid JSON and messages to a room not joined get an error, and the connection stays open',
        hint: 'Wrap JSON.parse in try/catch: on failure send {"type":"error","code":"bad-json"} and carry on (one bad message is no reason to drop a user). A "say" to a room the sender has not joined: {"type":"error","code":"not-in-room","ref":...}.',
        async run(ctx) {
          const room = roomName(ctx);
          const dee = await connect(ctx, 'dee');
          for (const junk of ['{"type":"say", "room": ', 'hello', '\u0000{}', '{"type":"join","room":"x"']) {
            dee.send(junk);
            await dee.expectMessage((m) => m?.type === 'error' && m.code === 'bad-json', 2000, `{"type":"error","code":"bad-json"} after the text ${JSON.stringify(junk)}, which is not JSON`);
          }
          const ref = `r-${ctx.random.string(6)}`;
          dee.send({ type: 'say', room, text: 'hello?', ref });
          await dee.expectMessage((m) => m?.type === 'error' && m.code === 'not-in-room' && m.ref === ref, 2000, `{"type":"error","code":"not-in-room","ref":"${ref}"} for a "say" to a room dee has not joined`);
          await join(dee, room);
          const ref2 = `r-${ctx.random.string(6)}`;
          dee.send({ type: 'say', room, text: 'still here', ref: ref2 });
          await dee.expectMessage(isMessage(room, ref2), 2000, `dee's own message ${ref2}: after the errors the connection must still work`);
          dee.close(1000, 'bye');
          await dee.expectClose(1000, 2000, 'dee sent a close frame (1000), which the server answers with a close frame');
        },
      },
      {
        id: 'presence-on-drop',
        title: 'A member that vanishes (TCP reset, no close frame) is announced as left',
        hint: 'Announce departures from the connection\'s `close` event, whatever its code: a phone that loses its network never sends a close frame (1006 is what you see then).',
        async run(ctx) {
          const room = roomName(ctx);
          const [ada, eve] = await Promise.all((['ada', 'eve'] as Named[]).map((u) => connect(ctx, u)));
          await joinAll(room, [ada!, eve!]);
          const t0 = performance.now();
          eve!.reset();
          await ada!.expectMessage((m) => m?.type === 'presence' && m.room === room && m.user === 'eve' && m.status === 'left', 1500, `{"type":"presence","room":"${room}","user":"eve","status":"left"} after eve's connection was reset`);
          ctx.note(`eve's reset announced after ${Math.round(performance.now() - t0)} ms`);
        },
      },
      {
        id: 'heartbeat',
        title: 'Pings every HEARTBEAT_MS; a client that stops answering is dropped within two intervals',
        hint: 'setInterval(HEARTBEAT_MS): for each client, if it has not answered the previous ping (no `pong` since), terminate() it; else mark it and ping() again. A terminated client is a departure: announce it like any other.',
        timeoutMs: 15_000,
        async run(ctx) {
          await useRunHeartbeat(ctx);
          const hb = ms(ctx, 'HEARTBEAT_MS');
          const room = roomName(ctx);
          const [ada, fay] = await Promise.all((['ada', 'fay'] as Named[]).map((u) => connect(ctx, u)));
          await joinAll(room, [ada!, fay!]);
          await ctx.sleep(3 * hb + 150);
          if (ada!.pings < 2 || !ada!.open) {
            ada!.fail(`In ${3 * hb + 150} ms (HEARTBEAT_MS is ${hb}) a client must get a ping about every ${hb} ms and stay connected while it answers them.`, {
              expected: 'at least 2 pings, the connection open',
              received: `${ada!.pings} ping(s), the connection ${ada!.open ? 'open' : 'closed'}`,
            });
          }
          fay!.stopAnsweringPings();
          const t0 = performance.now();
          const budget = 2 * hb + 400;
          await fay!.expectClose(undefined, budget, `fay stopped answering pings, so your server must drop it within 2 x HEARTBEAT_MS (${2 * hb} ms; the grader allows ${budget})`);
          ctx.note(`the silent client was dropped ${Math.round(performance.now() - t0)} ms after it stopped answering (HEARTBEAT_MS ${hb})`);
          await ada!.expectMessage((m) => m?.type === 'presence' && m.room === room && m.user === 'fay' && m.status === 'left', 1000, `{"type":"presence","room":"${room}","user":"fay","status":"left"} once fay was dropped`);
          expectThat(ada!.open, 'ada answered every ping and must still be connected.', { expected: 'open', received: 'closed' });
        },
      },
      {
        id: 'oversize',
        title: 'A message of MAX_MESSAGE_BYTES is fine; one byte more closes the connection with 1009',
        hint: 'Set the WebSocket server\'s maximum payload to MAX_MESSAGE_BYTES (`new WebSocketServer({ maxPayload })`): a bigger message is refused while it is read, with close code 1009 (Message Too Big), before it fills your memory.',
        async run(ctx) {
          const max = ms(ctx, 'MAX_MESSAGE_BYTES');
          const room = roomName(ctx);
          const cyd = await connect(ctx, 'cyd');
          await join(cyd, room);
          const sized = (bytes: number, ref: string) => {
            const base = { type: 'say', room, text: '', ref };
            const text = 'x'.repeat(bytes - Buffer.byteLength(JSON.stringify(base)));
            return { ...base, text };
          };
          const exact = sized(max, 'exact');
          cyd.send(exact);
          await cyd.expectMessage(isMessage(room, 'exact'), 2000, `its own message of exactly MAX_MESSAGE_BYTES (${max}) bytes: that size is allowed`);
          cyd.send(sized(max + 1, 'over'));
          await cyd.expectClose(1009, 2000, `a message of ${max + 1} bytes (MAX_MESSAGE_BYTES + 1) must close the connection with 1009 (Message Too Big)`);
          // A frame that announces 10 MB: the server must refuse it from its header, not wait for (or buffer) the 10 MB.
          const big = await connect(ctx, 'cyd');
          const frame = rawFrame(0x1, Buffer.alloc(10 * 1024 * 1024, 0x78));
          big.sendRaw(frame.subarray(0, 64 * 1024), 'the first 64 KB of a text frame announcing 10 MB');
          // 1009, or the connection cut (a server that refuses mid-frame cannot always complete the closing handshake).
          const ended = await big.waitClosed(2000);
          if (!ended || (!ended.abrupt && ended.code !== 1009)) {
            big.fail('A frame announcing 10 MB (the grader sent only its first 64 KB) must be refused from its length, without waiting for the rest: close 1009 (or the connection cut).', {
              expected: 'close 1009 within 2 s',
              received: !ended ? 'the connection still open after 2 s: the server waits for (and would buffer) the 10 MB' : `close ${ended.code} ${ended.reason}`,
            });
          }
        },
      },
      {
        id: 'slow-consumer',
        title: 'A client that stops reading does not hold up the others, and is dropped past MAX_BUFFERED_BYTES',
        hint: 'Sending never waits for a slow client: after each send look at its `bufferedAmount` (bytes queued in your process), and terminate it once that passes MAX_BUFFERED_BYTES. Never await one client\'s send before serving the next.',
        timeoutMs: 30_000,
        async run(ctx) {
          const max = ms(ctx, 'MAX_MESSAGE_BYTES');
          const room = roomName(ctx);
          // A client that does not read does not answer pings either, and the heartbeat would drop it too: for
          // this check the server runs with a heartbeat of a minute, so only the buffer limit can drop dee.
          await useLongHeartbeat(ctx, 'dee stops reading, and so stops answering pings: only the buffer limit may drop it');
          await slowConsumer(ctx, max, room);
        },
      },
      {
        id: 'fanout',
        title: `One message to a room of ${FANOUT}: every member gets it, quickly`,
        hint: 'Broadcast is a loop over the room\'s members with a non-blocking send each; nothing per member should take more than microseconds (no JSON.stringify per member, no await).',
        timeoutMs: 30_000,
        async run(ctx) {
          await useLongHeartbeat(ctx, `on a busy machine the grader may answer some of ${FANOUT} clients' pings late`);
          const room = roomName(ctx);
          const users = Array.from({ length: FANOUT }, (_, i) => `u${String(i).padStart(3, '0')}`);
          const clients = await ctx.ws.connectMany(FANOUT, (i) => ({ path: `/chat?token=${encodeURIComponent(tokenOf(ctx, users[i]!))}`, name: users[i] }));
          for (const c of clients) c.send({ type: 'join', room });
          await Promise.all(clients.map((c) => c.expectMessage((m) => m?.type === 'joined' && m.room === room, 10_000, `"joined" for ${room}`)));
          await ctx.sleep(300);
          for (const c of clients) c.take();
          const ref = `f-${ctx.random.string(6)}`;
          const sender = clients[0]!;
          const sentAt = ctx.ws.now();
          sender.send({ type: 'say', room, text: 'to everyone', ref });
          const arrivals = await Promise.all(clients.map((c) => c.nextMatching((m) => m.json?.type === 'message' && m.json.ref === ref, 5000)));
          const missing = clients.filter((_, i) => !arrivals[i]);
          if (missing.length > 0) missing[0]!.fail(`${missing.length} of the ${FANOUT} members of ${room} did not get the message within 5 s.`, { expected: `${FANOUT} deliveries`, received: `${FANOUT - missing.length}` });
          const lat = arrivals.map((m) => m!.at - sentAt).sort((a, b) => a - b);
          const p50 = percentile(lat, 50);
          const p99 = percentile(lat, 99);
          ctx.note(`${FANOUT} members: latency p50 ${p50} ms, p99 ${p99} ms, max ${lat[lat.length - 1]} ms`);
          if (p99 > 1000) throw new CheckFailure({ message: `The message reached 99% of the ${FANOUT} members only after ${p99} ms (p50 ${p50} ms): a broadcast should take milliseconds.`, expected: 'p99 under 1000 ms', received: `p50 ${p50} ms, p99 ${p99} ms` });
        },
      },
      {
        id: 'sigterm',
        title: 'On SIGTERM every client gets close 1001, then the server exits',
        hint: 'process.on("SIGTERM", ...): close every connection with 1001 (Going Away), stop listening, and exit once they are closed (or after a short grace period). Without a handler Node exits at once and clients see the connection drop without a close frame.',
        timeoutMs: 20_000,
        async run(ctx) {
          const room = roomName(ctx);
          const [ada, bob] = await Promise.all((['ada', 'bob'] as Named[]).map((u) => connect(ctx, u)));
          await joinAll(room, [ada!, bob!]);
          const closes = Promise.all([ada!.waitClosed(8000), bob!.waitClosed(8000)]);
          const exit = await ctx.server.kill('SIGTERM');
          longHeartbeat.delete(ctx.server);
          const [a, b] = await closes;
          for (const [c, info] of [[ada!, a], [bob!, b]] as const) {
            if (!info || info.abrupt || info.code !== 1001) {
              c.fail(`On SIGTERM your server must close every connection with code 1001 (Going Away) before it exits; ${c.name} saw ${!info ? 'no close at all' : info.abrupt ? 'the connection drop without a close frame' : `close ${info.code}`}.`, {
                expected: 'close 1001',
                received: !info ? 'still open' : info.abrupt ? 'no close frame' : `close ${info.code} ${info.reason}`,
              });
            }
          }
          ctx.note(`the server exited (${exit.signal ?? `code ${exit.code}`}) after closing both clients with 1001`);
          await ctx.server.restart();
        },
      },
    ],
  },
  import.meta.dirname,
);
