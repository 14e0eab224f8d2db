// Reference solution: Express 5 + multer 2. Uploads are held in memory (they are small: at most
// MAX_UPLOAD_BYTES), checked, and only then written to UPLOAD_DIR under a name the server generates.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import multer from 'multer';

const port = Number(process.env.PORT ?? 3000);
const uploadDir = resolve(process.env.UPLOAD_DIR ?? 'uploads');
const maxBytes = Number(process.env.MAX_UPLOAD_BYTES ?? 1024 * 1024);
await mkdir(uploadDir, { recursive: true });

// The allow-list: declared type -> the bytes such a file starts with, and the extension we store it under.
const TYPES: Record<string, { magic: Buffer[]; ext: string }> = {
  'image/png': { magic: [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])], ext: '.png' },
  'image/jpeg': { magic: [Buffer.from([0xff, 0xd8, 0xff])], ext: '.jpg' },
  'image/gif': { magic: [Buffer.from('GIF87a'), Buffer.from('GIF89a')], ext: '.gif' },
  'application/pdf': { magic: [Buffer.from('%PDF-')], ext: '.pdf' },
};

interface StoredFile {
  id: string;
  owner: string;
  name: string;
  type: string;
  size: number;
  sha256: string;
  path: string;
}
const files = new Map<string, StoredFile>();

/** The client's filename is only a label: no directories, no control characters, bounded length. */
function displayName(original: string): string {
  const base = original.split(/[\\/]/).pop() ?? '';
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 200);
  return clean === '' || clean === '.' || clean === '..' ? 'file' : clean;
}

function fail(res: Response, status: number, error: string) {
  res.status(status).json({ error });
}

const upload = multer({
  storage: multer.memoryStorage(),
  limits: { fileSize: maxBytes, files: 1, fields: 10 },
  // Browsers send filenames as UTF-8; multer's default (latin1) would garble "résumé.pdf".
  defParamCharset: 'utf8',
});

const app = express();
app.disable('x-powered-by');

// Pretend a gateway authenticated the user and passed their id in X-User.
function requireUser(req: Request, res: Response, next: NextFunction) {
  const user = req.get('x-user');
  if (!user) return fail(res, 401, 'send your user id in the X-User header');
  res.locals.user = user;
  next();
}

// Every problem reading the upload is the client's: 413 over the limit, 400 for anything malformed
// (busboy refuses part headers with control characters, e.g. a NUL in the filename).
function readUpload(req: Request, res: Response, next: NextFunction) {
  upload.single('file')(req, res, (err?: unknown) => {
    if (!err) return next();
    if (err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE') return fail(res, 413, `files are limited to ${maxBytes} bytes`);
    fail(res, 400, `could not read the upload: ${(err as Error)?.message ?? err}`);
  });
}

app.post('/files', requireUser, readUpload, async (req, res) => {
  const file = req.file;
  if (!file) return fail(res, 400, 'send the file as multipart/form-data in a part named "file"');
  const type = file.mimetype.toLowerCase();
  const allowed = TYPES[type];
  if (!allowed) return fail(res, 415, `only ${Object.keys(TYPES).join(', ')} are accepted`);
  if (!allowed.magic.some((m) => file.buffer.subarray(0, m.length).equals(m))) {
    return fail(res, 422, `the content is not a ${type} file`);
  }
  const id = randomUUID();
  const path = join(uploadDir, `${id}${allowed.ext}`);
  await writeFile(path, file.buffer, { flag: 'wx' });
  const stored: StoredFile = {
    id,
    owner: res.locals.user,
    name: displayName(file.originalname),
    type,
    size: file.size,
    sha256: createHash('sha256').update(file.buffer).digest('hex'),
    path,
  };
  files.set(id, stored);
  res.status(201).location(`/files/${id}`).json({ id, name: stored.name, size: stored.size, type, sha256: stored.sha256 });
});

app.get('/files/:id', requireUser, (req, res) => {
  const file = files.get(String(req.params.id));
  // Someone else's file is "not found": do not even confirm it exists.
  if (!file || file.owner !== res.locals.user) return fail(res, 404, 'no such file');
  res.attachment(file.name); // Content-Disposition: attachment; filename="..."; filename*=UTF-8''...
  res.set({
    'Content-Type': file.type,
    'Content-Length': String(file.size),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'private, no-store',
  });
  createReadStream(file.path)
    .on('error', () => res.destroy())
    .pipe(res);
});

app.use((_req: Request, res: Response) => fail(res, 404, 'no such route'));

app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
  // Express marks the client's errors with their status (a path parameter with a malformed escape, /files/%zz: 400).
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (!res.headersSent) fail(res, status, 'bad request');
    return;
  }
  console.error(err);
  if (!res.headersSent) fail(res, 500, 'internal error');
});

app.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}, storing uploads in ${uploadDir}`);
});
