// expectHeader must name the expected value in the report: against a real server, and, for every call
// in the labs, statically (a predicate cannot describe itself, so its call must pass `expected`).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckFailure } from '../../grader/errors.ts';
import { HttpProbe } from '../../grader/probe/http.ts';

const LABS = join(import.meta.dirname, '..', '..', 'labs');

describe('expectHeader names the expected value', () => {
  let server: Server;
  let probe: HttpProbe;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    probe = new HttpProbe({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 3000 });
  });
  afterAll(async () => {
    await probe.close();
    await new Promise((r) => server.close(r));
  });

  const failureOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof CheckFailure) return e.details;
      throw e;
    }
    throw new Error('expected a CheckFailure');
  };

  it('a predicate with `expected`: "Expected: content-type: text/html", the received header shown', async () => {
    const res = await probe.get('/');
    const f = failureOf(() => res.expectHeader('content-type', (v) => v.startsWith('text/html'), 'The home page must be HTML.', 'text/html'));
    expect(f.expected).toBe('content-type: text/html');
    expect(f.message).toBe('The home page must be HTML.');
    expect(f.received).toContain('content-type: application/json');
  });

  it('a string or a RegExp describes itself; a missing header says it must be present', async () => {
    const res = await probe.get('/');
    expect(failureOf(() => res.expectHeader('content-type', 'text/plain')).expected).toBe('content-type: text/plain');
    expect(failureOf(() => res.expectHeader('content-type', /^text\//)).expected).toBe('content-type: a value matching /^text\\//');
    const missing = failureOf(() => res.expectHeader('location'));
    expect(missing.expected).toBe('location: (any value: the header must be present)');
    expect(missing.message).toBe('The response has no `location` header.');
    expect(res.expectHeader('content-type', (v) => v === 'application/json', undefined, 'application/json')).toBe('application/json');
  });

  it('every expectHeader call in labs/*/lab.ts with a function predicate passes the expected value', () => {
    const offenders: string[] = [];
    let calls = 0;
    for (const id of readdirSync(LABS)) {
      const file = join(LABS, id, 'lab.ts');
      if (!existsSync(file)) continue;
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node) => {
        if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'expectHeader') {
          calls++;
          const match = node.arguments[1];
          const isFunction = match && (ts.isArrowFunction(match) || ts.isFunctionExpression(match));
          if (isFunction && node.arguments.length < 4) {
            const { line } = source.getLineAndCharacterOfPosition(node.getStart());
            offenders.push(`labs/${id}/lab.ts:${line + 1}`);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(calls).toBeGreaterThan(10);
    expect(offenders, 'expectHeader(name, predicate, why) without `expected`: the report would not say what was expected').toEqual([]);
  });
});
