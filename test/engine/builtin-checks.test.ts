// The engine's own checks (grader/builtin-checks.ts), proven once here against servers with the classic
// mistakes, so that no lab needs a mutant of its own for them: every lab runs `malformed-requests` after its
// checks unless it opts out.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineLab, GraderError } from '../../grader/index.ts';
import { runLab } from '../../grader/run.ts';
import type { LabDefinition } from '../../grader/types.ts';
import { labIds, loadLab } from '../../labs/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'builtin-checks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const servers: Record<string, string> = {
  // new URL(req.url, base) unguarded: `//[` throws in the request listener and takes the process down.
  'crash.cjs': `require('node:http').createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    res.writeHead(url.pathname === '/' ? 200 : 404).end('ok');
  }).listen(process.env.PORT, '0.0.0.0');`,
  // The target guarded, but path parameters decoded with decodeURIComponent inside a catch-all 500.
  'decode-500.cjs': `require('node:http').createServer((req, res) => {
    let url;
    try { url = new URL(req.url, 'http://localhost'); } catch { return res.writeHead(400).end('bad target'); }
    try {
      const m = /^\\/items\\/([^/]+)$/.exec(url.pathname);
      if (m) { const id = decodeURIComponent(m[1]); return res.writeHead(404).end('no item ' + id); }
      res.writeHead(url.pathname === '/' ? 200 : 404).end('ok');
    } catch (err) { res.writeHead(500).end(String(err)); }
  }).listen(process.env.PORT, '0.0.0.0');`,
  // Careful: 400 for a target that is not a URL, a malformed escape kept as it is.
  'careful.cjs': `require('node:http').createServer((req, res) => {
    let url;
    try { url = new URL(req.url, 'http://localhost'); } catch { return res.writeHead(400).end('bad target'); }
    const m = /^\\/items\\/([^/]+)$/.exec(url.pathname);
    if (m) { let id = m[1]; try { id = decodeURIComponent(id); } catch {} return res.writeHead(404).end('no item ' + id); }
    res.writeHead(url.pathname === '/' ? 200 : 404).end('ok');
  }).listen(process.env.PORT, '0.0.0.0');`,
  // Python: urlsplit raises on http://[/ inside the handler (http.server itself turns //[ into /[); the handler's
  // exception is logged and the connection closed unanswered.
  'urlsplit.py': `import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        path = urlsplit(self.path).path
        self.send_response(200 if path == '/' else 404)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'ok')
    def log_message(self, *a):
        pass
ThreadingHTTPServer(('0.0.0.0', int(os.environ['PORT'])), H).serve_forever()
`,
};
for (const [name, text] of Object.entries(servers)) writeFileSync(join(dir, name), text);

function lab(extra: Partial<LabDefinition> = {}) {
  return defineLab(
    {
      id: 'builtin-probe',
      title: 'A lab with one check of its own',
      track: 'foundations',
      summary: 'Probes the engine-added checks.',
      difficulty: 'beginner',
      estimatedMinutes: 5,
      questions: [1],
      checks: [{ id: 'root', title: 'GET / answers', hint: 'Answer GET /.', run: async (ctx) => void (await ctx.http.get('/')) }],
      ...extra,
    },
    dir,
  );
}

async function run(server: string, extra: Partial<LabDefinition> = {}) {
  const command = server.endsWith('.py') ? `python3 -u ${server}` : `node ${server}`;
  const result = await runLab({ lab: lab(extra), dir, startCommand: command, seed: 3, all: true, readyTimeoutMs: 5000 }).result;
  return { result, check: result.checks.find((c) => c.id === 'malformed-requests') };
}

describe('malformed-requests, the engine check every lab gets', () => {
  it('is added after the lab\'s own checks, and only once', () => {
    expect(lab().checks.map((c) => c.id)).toEqual(['root', 'malformed-requests']);
    expect(lab({ malformedRequests: false }).checks.map((c) => c.id)).toEqual(['root']);
  });

  it('is in every lab but containerize (its app is given; contracts.test.ts holds each README to it)', async () => {
    for (const id of labIds()) {
      const l = await loadLab(id);
      expect(l.checks.some((c) => c.id === 'malformed-requests'), id).toBe(id !== 'containerize');
    }
  });

  it('runs before the check a lab names (a last check that stops the server), and rejects what it cannot use', () => {
    const stops = { id: 'stop', title: 'SIGTERM ends it', hint: 'Exit on SIGTERM.', run: async () => {} };
    const withStop = lab({ checks: [...lab().checks.slice(0, 1), stops], malformedRequests: { before: 'stop' } });
    expect(withStop.checks.map((c) => c.id)).toEqual(['root', 'malformed-requests', 'stop']);
    expect(() => lab({ malformedRequests: { before: 'nope' } })).toThrow(/malformedRequests.before/);
    expect(() => lab({ malformedRequests: { paths: ['items/'] } })).toThrow(GraderError);
  });

  it.concurrent('a Node server whose new URL(req.url) throws on //[ is told it exited, and why', { timeout: 30_000 }, async () => {
    const { result, check } = await run('crash.cjs');
    expect(result.checks[0].status).toBe('pass');
    expect(check?.status).toBe('fail');
    expect(check?.failure?.message).toMatch(/GET \/\/\[: your server exited|Your server exited during this check/);
    expect(check?.failure?.message).toMatch(/new URL|exited/);
    expect(result.serverOutput.join('\n')).toMatch(/Invalid URL/);
  });

  it.concurrent('a server that answers 500 when a path parameter has a bad escape fails only when the lab names that route', { timeout: 30_000 }, async () => {
    const named = await run('decode-500.cjs', { malformedRequests: { paths: ['/items/'] } });
    expect(named.check?.status).toBe('fail');
    expect(named.check?.failure?.message).toMatch(/GET \/items\/(%zz|%E0%A4%A): your server answered 500/);
    expect(named.check?.failure?.exchange?.request.curl).toMatch(/curl -i --path-as-is/);
    const unnamed = await run('decode-500.cjs');
    expect(unnamed.check?.status).toBe('pass');
  });

  it.concurrent('a Python server whose urlsplit raises on http://[/ gets a failure naming the unanswered request', { timeout: 30_000 }, async () => {
    const { check } = await run('urlsplit.py');
    expect(check?.status).toBe('fail');
    expect(check?.failure?.message).toMatch(/GET http:\/\/\[\/: .*closed or reset the connection without sending an HTTP response/);
    expect(check?.failure?.message).toMatch(/urlsplit/);
  });

  it.concurrent('a careful server passes, and the note lists what was sent', { timeout: 30_000 }, async () => {
    const { result, check } = await run('careful.cjs', { malformedRequests: { paths: ['/items/'] } });
    expect(result.status, JSON.stringify(result.checks, null, 1)).toBe('pass');
    expect(check?.notes?.join(' ')).toMatch(/7 malformed targets answered .*\/\/\[ http:\/\/\[\/ .*\/items\/%zz/);
  });
});
