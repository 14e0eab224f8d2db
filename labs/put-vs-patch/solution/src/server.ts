import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const port = Number(process.env.PORT ?? 3000);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Doc = { [key: string]: Json };

const documents = new Map<string, Doc>();

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------
const TITLES: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 412: 'Precondition Failed', 415: 'Unsupported Media Type', 422: 'Unprocessable Content' };

class HttpError extends Error {
  constructor(readonly status: number, readonly detail: string, readonly headers: Record<string, string> = {}) {
    super(detail);
  }
}

function sendProblem(res: ServerResponse, err: HttpError) {
  res.writeHead(err.status, { 'Content-Type': 'application/problem+json', ...err.headers });
  res.end(JSON.stringify({ type: 'about:blank', title: TITLES[err.status] ?? 'Error', status: err.status, detail: err.detail }));
}

function sendDoc(res: ServerResponse, status: number, doc: Doc, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ETag: etagOf(doc), ...headers });
  res.end(JSON.stringify(doc));
}

/** A strong ETag derived from the representation: identical documents have identical tags. */
function etagOf(doc: Doc): string {
  return `"${createHash('sha256').update(JSON.stringify(doc)).digest('base64url').slice(0, 22)}"`;
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readObject(req: IncomingMessage): Promise<Doc> {
  let value: unknown;
  try {
    value = JSON.parse(await readBody(req));
  } catch {
    throw new HttpError(400, 'The body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(422, 'The body must be a JSON object.');
  return value as Doc;
}

function isObject(v: Json | undefined): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7396 section 2: null removes a member, objects merge recursively, anything else (arrays too) replaces. */
function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result = new Map<string, Json>(isObject(target) ? Object.entries(target) : []);
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) result.delete(name);
    else result.set(name, mergePatch(result.get(name), value));
  }
  return Object.fromEntries(result);
}

/** If-Match (RFC 9110 section 13.1.1): "*" or a list of entity-tags, compared strongly. */
function checkIfMatch(req: IncomingMessage, current: Doc | undefined): void {
  const header = req.headers['if-match'];
  if (header === undefined) return;
  const ok =
    current !== undefined &&
    (header.trim() === '*' ||
      header
        .split(',')
        .map((t) => t.trim())
        .filter((t) => !t.startsWith('W/'))
        .includes(etagOf(current)));
  if (!ok) throw new HttpError(412, 'The document has changed since you read it (If-Match does not match its ETag). GET it again and retry.');
}

// ---------------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------------
async function put(req: IncomingMessage, res: ServerResponse, id: string) {
  if (mediaType(req) !== 'application/json') throw new HttpError(415, 'PUT takes the whole document as application/json.');
  const current = documents.get(id);
  checkIfMatch(req, current);
  const doc = await readObject(req);
  // PUT replaces: the new document is exactly the body, whatever was there before.
  documents.set(id, doc);
  if (current === undefined) return sendDoc(res, 201, doc, { Location: `/documents/${id}` });
  sendDoc(res, 200, doc);
}

async function patch(req: IncomingMessage, res: ServerResponse, id: string) {
  if (mediaType(req) !== 'application/merge-patch+json') {
    throw new HttpError(415, 'PATCH takes an application/merge-patch+json document (RFC 7396).', { 'Accept-Patch': 'application/merge-patch+json' });
  }
  const current = documents.get(id);
  checkIfMatch(req, current);
  if (current === undefined) throw new HttpError(404, `There is no document ${id}.`);
  const updated = mergePatch(current, await readObject(req)) as Doc;
  documents.set(id, updated);
  sendDoc(res, 200, updated);
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
  const url = requestUrl;
  if (url.pathname === '/health' && req.method === 'GET') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end('{"status":"ok"}');
  }
  const match = /^\/documents\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname);
  if (!match) throw new HttpError(404, `There is nothing at ${url.pathname}.`);
  const id = match[1];
  switch (req.method) {
    case 'GET': {
      const doc = documents.get(id);
      if (!doc) throw new HttpError(404, `There is no document ${id}.`);
      return sendDoc(res, 200, doc);
    }
    case 'PUT':
      return put(req, res, id);
    case 'PATCH':
      return patch(req, res, id);
    default:
      throw new HttpError(405, `${req.method} is not supported here.`, { Allow: 'GET, PUT, PATCH' });
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (err instanceof HttpError) return sendProblem(res, err);
    console.error(err);
    if (!res.headersSent) sendProblem(res, new HttpError(500, 'An unexpected error occurred.'));
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
