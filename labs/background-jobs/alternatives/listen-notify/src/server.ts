import { createServer, type ServerResponse } from 'node:http';
import { CHANNEL, migrate, pool } from './schema.ts';

/** A path segment, percent-decoded; a malformed escape (`%zz`) is kept as it is instead of throwing. */
const decodeSegment = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

await migrate();
const port = Number(process.env.PORT ?? 3000);

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

createServer(async (req, res) => {
  try {
    let requestUrl: URL;
    try {
      requestUrl = new URL(req.url ?? '/', 'http://x');
    } catch {
      // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
      return;
    }
    const url = requestUrl;
    if (req.method === 'POST' && url.pathname === '/reports') {
      let body = '';
      for await (const chunk of req) body += chunk;
      let n: unknown;
      try {
        n = (JSON.parse(body) as { n?: unknown })?.n;
      } catch {
        return reply(res, 400, { error: 'the body must be JSON: {"n": <integer 1 to 1000>}' });
      }
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1000) return reply(res, 400, { error: '"n" must be an integer from 1 to 1000' });
      // The insert and the notification commit together: the worker never hears of a job it cannot see.
      const client = await pool.connect();
      let id: string;
      try {
        await client.query('BEGIN');
        id = (await client.query<{ id: string }>('INSERT INTO jobs (n) VALUES ($1) RETURNING id', [n])).rows[0]!.id;
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, id]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
      return reply(res, 202, { id, status: 'pending' }, { Location: `/reports/${id}` });
    }
    const m = /^\/reports\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      const id = decodeSegment(m[1]!);
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return reply(res, 404, { error: 'no such report' });
      const { rows } = await pool.query('SELECT id, state, tries, value, last_error FROM jobs WHERE id = $1', [id]);
      const j = rows[0];
      if (!j) return reply(res, 404, { error: 'no such report' });
      return reply(res, 200, { id: j.id, status: j.state, attempts: j.tries, result: j.value, error: j.last_error });
    }
    reply(res, 404, { error: 'not found' });
  } catch (err) {
    console.error(err);
    reply(res, 500, { error: 'internal error' });
  }
}).listen(port, '0.0.0.0', () => console.log(`api on :${port}`));
