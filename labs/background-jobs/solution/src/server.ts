// Reference solution, the API: accepts report requests (202) and reports their status; never does the work.
import { createServer, type ServerResponse } from 'node:http';
import { ensureSchema, pool } from './db.ts';

const port = Number(process.env.PORT ?? 3000);

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

await ensureSchema();

const server = createServer(async (req, res) => {
  try {
    let requestUrl: URL;
    try {
      requestUrl = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
      return;
    }
    const path = requestUrl.pathname;
    if (req.method === 'POST' && path === '/reports') {
      let body: any;
      try {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return json(res, 400, { error: 'the body is not valid JSON' });
      }
      const n = body?.n;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1000) return json(res, 400, { error: '"n" must be an integer from 1 to 1000' });
      const { rows } = await pool.query<{ id: string }>('INSERT INTO reports (n) VALUES ($1) RETURNING id::text', [n]);
      const id = rows[0]!.id;
      return json(res, 202, { id, status: 'pending' }, { Location: `/reports/${id}` });
    }
    const m = /^\/reports\/(\d{1,18})$/.exec(path);
    if (req.method === 'GET' && m) {
      const { rows } = await pool.query('SELECT id::text, status, attempts, result, error FROM reports WHERE id = $1', [m[1]]);
      if (rows.length === 0) return json(res, 404, { error: `no report ${m[1]}` });
      const r = rows[0];
      return json(res, 200, { id: r.id, status: r.status, attempts: r.attempts, ...(r.status === 'done' ? { result: r.result } : {}), ...(r.status === 'failed' ? { error: r.error } : {}) });
    }
    json(res, 404, { error: 'not found' });
  } catch (err) {
    console.error(err);
    json(res, 500, { error: 'internal error' });
  }
});

server.listen(port, '0.0.0.0', () => {
  console.log(`api listening on http://localhost:${port}`);
});
