import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** A path segment, percent-decoded; a malformed escape (`%zz`) is kept as it is instead of throwing. */
const decodeSegment = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

const port = Number(process.env.PORT ?? 3000);

interface Todo {
  id: string;
  title: string;
  completed: boolean;
}

// In memory: a Map keeps insertion order, so GET /todos lists the oldest first.
const todos = new Map<string, Todo>();

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
};

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** RFC 9457 problem details: the `status` member and the status line come from the same value. */
function sendProblem(res: ServerResponse, status: number, detail: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/problem+json', ...headers });
  res.end(JSON.stringify({ type: 'about:blank', title: REASONS[status] ?? 'Error', status, detail }));
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The body as a JSON object: 400 when it is not JSON at all, 422 when it is JSON but not an object. */
async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'The request body is not valid JSON.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(422, 'The request body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

function validTitle(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new HttpError(422, '`title` must be a non-empty string.');
  if (value.length > 200) throw new HttpError(422, '`title` must be at most 200 characters.');
  return value;
}

function validCompleted(value: unknown): boolean {
  if (typeof value !== 'boolean') throw new HttpError(422, '`completed` must be true or false.');
  return value;
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const { pathname } = requestUrl;
  const method = req.method ?? 'GET';

  if (pathname === '/todos') {
    if (method === 'GET') return sendJson(res, 200, [...todos.values()]);
    if (method === 'POST') {
      const body = await readJsonObject(req);
      const todo: Todo = {
        id: randomUUID(), // the server picks the id: random, never the client's `id`
        title: validTitle(body.title),
        completed: body.completed === undefined ? false : validCompleted(body.completed),
      };
      todos.set(todo.id, todo);
      return sendJson(res, 201, todo, { Location: `/todos/${todo.id}` });
    }
    return sendProblem(res, 405, `${method} is not allowed on /todos.`, { Allow: 'GET, POST' });
  }

  const match = /^\/todos\/([^/]+)$/.exec(pathname);
  if (match) {
    const id = decodeSegment(match[1]);
    if (!['GET', 'PUT', 'PATCH', 'DELETE'].includes(method)) {
      return sendProblem(res, 405, `${method} is not allowed on a todo.`, { Allow: 'GET, PUT, PATCH, DELETE' });
    }
    const todo = todos.get(id);
    if (!todo) return sendProblem(res, 404, `There is no todo with id "${id}".`);

    switch (method) {
      case 'GET':
        return sendJson(res, 200, todo);
      case 'PUT': {
        // Full replacement: every field is required.
        const body = await readJsonObject(req);
        const replaced: Todo = { id, title: validTitle(body.title), completed: validCompleted(body.completed) };
        todos.set(id, replaced);
        return sendJson(res, 200, replaced);
      }
      case 'PATCH': {
        // Partial update: only the members present change.
        const body = await readJsonObject(req);
        const next: Todo = { ...todo };
        if (body.title !== undefined) next.title = validTitle(body.title);
        if (body.completed !== undefined) next.completed = validCompleted(body.completed);
        todos.set(id, next);
        return sendJson(res, 200, next);
      }
      case 'DELETE':
        todos.delete(id);
        res.writeHead(204);
        return res.end();
    }
  }

  return sendProblem(res, 404, `No route for ${pathname}.`);
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (err instanceof HttpError) return sendProblem(res, err.status, err.message);
    console.error(err);
    if (!res.headersSent) sendProblem(res, 500, 'Something went wrong on our side.');
    else res.end();
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
