// Another correct solution, with nothing but node:http: the multipart body is parsed by hand, and an
// upload that is obviously too large is cut off early (413, then the connection is closed).
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';

/** A path segment, percent-decoded; a malformed escape (`%zz`) is kept as it is instead of throwing. */
const decodeSegment = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

const port = Number(process.env.PORT ?? 3000);
const uploadDir = resolve(process.env.UPLOAD_DIR ?? 'uploads');
const maxBytes = Number(process.env.MAX_UPLOAD_BYTES ?? 1024 * 1024);
mkdirSync(uploadDir, { recursive: true });

/** Room for the multipart boundaries and part headers around the file itself. */
const OVERHEAD = 16 * 1024;

const TYPES: Record<string, { magic: Buffer[]; ext: string }> = {
  'image/png': { magic: [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])], ext: '.png' },
  'image/jpeg': { magic: [Buffer.from([0xff, 0xd8, 0xff])], ext: '.jpg' },
  'image/gif': { magic: [Buffer.from('GIF87a'), Buffer.from('GIF89a')], ext: '.gif' },
  'application/pdf': { magic: [Buffer.from('%PDF-')], ext: '.pdf' },
};

interface StoredFile {
  owner: string;
  name: string;
  type: string;
  size: number;
  path: string;
}
const files = new Map<string, StoredFile>();

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** 413 now, then drop the connection: no point receiving the rest of a body we will not use. */
function tooLarge(req: IncomingMessage, res: ServerResponse) {
  res.writeHead(413, { 'Content-Type': 'application/json', Connection: 'close' });
  res.end(JSON.stringify({ error: `files are limited to ${maxBytes} bytes` }), () => req.socket.destroy());
}

/** The request body, or 'too-large' as soon as it passes `cap` bytes (declared or actually received). */
function readCapped(req: IncomingMessage, cap: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolvePromise, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > cap) return resolvePromise('too-large');
    const chunks: Buffer[] = [];
    let total = 0;
    req.on('data', (c: Buffer) => {
      total += c.length;
      if (total > cap) {
        req.pause();
        req.removeAllListeners('data');
        return resolvePromise('too-large');
      }
      chunks.push(c);
    });
    req.on('end', () => resolvePromise(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface Part {
  name?: string;
  filename?: string;
  type: string;
  data: Buffer;
}

function param(header: string, name: string): string | undefined {
  const m = new RegExp(`;\\s*${name}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i').exec(header);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

/** multipart/form-data (RFC 7578): parts between `--boundary` lines, headers, a blank line, the bytes. */
function parseMultipart(body: Buffer, boundary: string): Part[] | undefined {
  const delimiter = Buffer.from(`--${boundary}`);
  const next = Buffer.from(`\r\n--${boundary}`);
  let pos = body.indexOf(delimiter);
  if (pos < 0) return undefined;
  pos += delimiter.length;
  const parts: Part[] = [];
  for (;;) {
    if (body.subarray(pos, pos + 2).toString('latin1') === '--') return parts;
    if (body.subarray(pos, pos + 2).toString('latin1') !== '\r\n') return undefined;
    pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) return undefined;
    const end = body.indexOf(next, headerEnd + 4);
    if (end < 0) return undefined;
    const part: Part = { type: 'text/plain', data: body.subarray(headerEnd + 4, end) };
    for (const line of body.subarray(pos, headerEnd).toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (key === 'content-disposition') {
        part.name = param(value, 'name');
        part.filename = param(value, 'filename');
      } else if (key === 'content-type') {
        part.type = value.split(';')[0].trim().toLowerCase();
      }
    }
    parts.push(part);
    pos = end + next.length;
  }
}

function displayName(original: string): string {
  const base = original.split(/[\\/]/).pop() ?? '';
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 200);
  return clean === '' || clean === '.' || clean === '..' ? 'file' : clean;
}

/** RFC 6266 + RFC 8187: an ASCII fallback and the real name, UTF-8 percent-encoded. */
function attachment(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

async function handleUpload(req: IncomingMessage, res: ServerResponse, user: string) {
  const contentType = req.headers['content-type'] ?? '';
  const boundary = /^multipart\/form-data/i.test(contentType) ? /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType) : null;
  if (!boundary) return send(res, 400, { error: 'send multipart/form-data with a part named "file"' });
  const body = await readCapped(req, maxBytes + OVERHEAD);
  if (body === 'too-large') return tooLarge(req, res);
  const parts = parseMultipart(body, boundary[1] ?? boundary[2]);
  const file = parts?.find((p) => p.name === 'file' && p.filename !== undefined);
  if (!file) return send(res, 400, { error: 'no part named "file" with a filename' });
  if (file.data.length > maxBytes) return send(res, 413, { error: `files are limited to ${maxBytes} bytes` });
  const allowed = TYPES[file.type];
  if (!allowed) return send(res, 415, { error: `only ${Object.keys(TYPES).join(', ')} are accepted` });
  if (!allowed.magic.some((m) => file.data.subarray(0, m.length).equals(m))) return send(res, 415, { error: `the content is not a ${file.type} file` });

  const id = randomUUID();
  const path = join(uploadDir, `${id}${allowed.ext}`);
  await writeFile(path, file.data, { flag: 'wx' });
  const stored: StoredFile = { owner: user, name: displayName(file.filename ?? ''), type: file.type, size: file.data.length, path };
  files.set(id, stored);
  const sha256 = createHash('sha256').update(file.data).digest('hex');
  send(res, 201, { id, name: stored.name, size: stored.size, type: stored.type, sha256 }, { Location: `/files/${id}` });
}

function handleDownload(res: ServerResponse, user: string, id: string) {
  const file = files.get(id);
  if (!file || file.owner !== user) return send(res, 404, { error: 'no such file' });
  res.writeHead(200, {
    'Content-Type': file.type,
    'Content-Length': String(file.size),
    'Content-Disposition': attachment(file.name),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'private, no-store',
  });
  createReadStream(file.path)
    .on('error', () => res.destroy())
    .pipe(res);
}

const server = createServer((req, res) => {
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const url = requestUrl;
  const user = req.headers['x-user'];
  const route = url.pathname === '/files' ? 'upload' : /^\/files\/[^/]+$/.test(url.pathname) ? 'download' : undefined;
  if (!route) return send(res, 404, { error: 'no such route' });
  if (typeof user !== 'string' || user === '') return send(res, 401, { error: 'send your user id in the X-User header' });
  const work =
    route === 'upload'
      ? req.method === 'POST'
        ? handleUpload(req, res, user)
        : send(res, 405, { error: 'use POST' }, { Allow: 'POST' })
      : req.method === 'GET'
        ? handleDownload(res, user, decodeSegment(url.pathname.slice('/files/'.length)))
        : send(res, 405, { error: 'use GET' }, { Allow: 'GET' });
  Promise.resolve(work).catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, 500, { error: 'internal error' });
    else res.destroy();
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}, storing uploads in ${uploadDir}`);
});
