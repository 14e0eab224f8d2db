import { relative, resolve } from 'node:path';
import {
  addedEntries,
  defineLab,
  encodeMultipart,
  expectJson,
  expectThat,
  fileSha256,
  isInside,
  leadingBytes,
  mediaType,
  parseContentDisposition,
  seededBytes,
  sha256Hex,
  snapshotDir,
  streamUpload,
  curlUpload,
  describeUpload,
  uploadFiles,
  type CheckContext,
  type DirEntry,
  type HttpResponse,
  type Random,
  type StreamUploadResult,
  type UploadFile,
} from '../../grader/index.ts';

// The grader gives the server UPLOAD_DIR three levels below a folder of its own, and watches that whole
// folder: a traversal name with up to three `../` lands somewhere the grader can see.
const UPLOAD_SUBDIR = 'home/app/uploads';
const rootOf = (uploadDir: string) => resolve(uploadDir, '../../..');

const MAGIC = {
  png: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]),
  gif: Buffer.from('GIF89a'),
  pdf: Buffer.from('%PDF-1.7\n'),
  elf: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]),
};

/** `size` bytes starting with `magic`, the rest seeded random. */
function fileBytes(random: Random, magic: Buffer, size: number): Buffer {
  return Buffer.concat([magic, seededBytes(random, Math.max(0, size - magic.length))]);
}

function userName(random: Random): string {
  return `${random.word()}-${random.string(5)}`;
}

function limitOf(ctx: CheckContext): number {
  return Number(ctx.env.MAX_UPLOAD_BYTES);
}

function fileUrl(id: string): string {
  return `/files/${encodeURIComponent(id)}`;
}

function show(entries: DirEntry[], root: string): string {
  return entries.map((e) => `${e.kind} ${relative(root, e.path) || '.'} (${e.size} bytes)`).join('\n');
}

/** Uploads one file as `user`; returns the response. */
function upload(ctx: CheckContext, user: string | undefined, file: UploadFile, timeoutMs?: number): Promise<HttpResponse> {
  return uploadFiles(ctx.http, '/files', [file], { headers: user === undefined ? {} : { 'X-User': user }, timeoutMs });
}

/** Expects 201 + {id, size, sha256} matching `file`; returns the id. */
function expectCreated(res: HttpResponse, file: UploadFile, why: string): string {
  const body = expectJson(res, 201, why);
  const id = body?.id;
  expectThat((typeof id === 'string' && id.length > 0) || typeof id === 'number', 'The 201 body must carry the new file\'s `id` (a string).', {
    expected: '{"id": "...", "name": "...", "size": ..., "type": "...", "sha256": "..."}',
    res,
  });
  expectThat(body.size === file.data.length, `The 201 body must give the stored size in bytes: ${file.data.length}.`, {
    expected: `"size": ${file.data.length}`,
    received: `"size": ${JSON.stringify(body.size)}`,
    res,
  });
  const sha = sha256Hex(file.data);
  expectThat(typeof body.sha256 === 'string' && body.sha256.toLowerCase() === sha, 'The 201 body must give the sha256 of the stored bytes, in hex.', {
    expected: `"sha256": "${sha}"`,
    received: `"sha256": ${JSON.stringify(body.sha256)}`,
    res,
  });
  return String(id);
}

/**
 * Sends an upload on a socket of its own, reading the answer while still sending: a server may answer 413
 * early and then close or reset the connection, which counts as the 413 it sent.
 */
async function uploadStreamed(ctx: CheckContext, user: string, file: UploadFile): Promise<StreamUploadResult> {
  const { body, contentType } = await encodeMultipart([file]);
  const headers = { 'X-User': user };
  return streamUpload({
    url: ctx.http.url('/files'),
    headers: { ...headers, 'Content-Type': contentType },
    body,
    timeoutMs: 12_000,
    signal: ctx.signal,
    bodyNote: describeUpload([file]),
    curl: curlUpload(ctx.http.url('/files'), headers, [file]),
  });
}

/** Fails unless the streamed upload got a 413 (a close or reset after it is fine). */
function expect413(ctx: CheckContext, result: StreamUploadResult, file: UploadFile, what: string): void {
  const max = limitOf(ctx);
  if (result.status === undefined) {
    ctx.fail({
      message:
        result.transport === 'timeout'
          ? `${what} (${file.data.length} bytes, MAX_UPLOAD_BYTES = ${max}) got no answer: refuse it with 413 as soon as the file part passes ${max} bytes.`
          : `${what} (${file.data.length} bytes, MAX_UPLOAD_BYTES = ${max}) got no HTTP answer at all: ${result.error} Send the 413 response first; closing the connection afterwards is fine.`,
      expected: 'HTTP 413 (the connection may be closed or reset after it)',
      received: result.error,
      exchange: result.exchange,
    });
  }
  if (result.status !== 413) {
    ctx.fail({
      message: `${what} (${file.data.length} bytes, MAX_UPLOAD_BYTES = ${max}) must be refused with 413 Content Too Large.`,
      expected: 'HTTP 413',
      received: `HTTP ${result.status}${result.body?.length ? `\n\n${result.body.toString('utf8').slice(0, 400)}` : ''}`,
      exchange: result.exchange,
    });
  }
}

/**
 * Waits (up to `graceMs`) until nothing new is left under `root` compared with `before`: a server may
 * remove a partial file just after answering. Fails with the leftovers.
 */
async function expectNothingStored(ctx: CheckContext, root: string, before: Map<string, DirEntry>, what: string, res?: HttpResponse, graceMs = 2000): Promise<void> {
  const deadline = performance.now() + graceMs;
  for (;;) {
    const added = addedEntries(before, snapshotDir(root));
    if (added.length === 0) return;
    if (performance.now() >= deadline) {
      ctx.fail({
        message: `${what} was refused, but ${added.length === 1 ? 'a file' : `${added.length} files`} appeared under the upload folder's parent and stayed there: a refused upload must leave nothing behind (delete partial files).`,
        expected: 'no new files',
        received: show(added, root),
        exchange: res?.exchange,
      });
    }
    await ctx.sleep(100);
  }
}

/** A filename for a message: quoted, escapes visible, very long names shortened. */
function label(name: string): string {
  const shown = name.length > 80 ? `${name.slice(0, 24)}...(${name.length} characters)...${name.slice(-24)}` : name;
  return JSON.stringify(shown);
}

const SAFE_NAME = /^[^/\\\u0000-\u001f\u007f]*$/;

export default defineLab(
  {
    id: 'file-uploads',
    title: 'File uploads, safely',
    track: 'security',
    summary: 'Multipart uploads and downloads: size limits, content sniffing, path traversal, safe download headers and ownership.',
    difficulty: 'intermediate',
    estimatedMinutes: 90,
    questions: [19],
    // Path parameters start here: sent with malformed escapes by the engine's malformed-requests check.
    malformedRequests: { paths: ['/files/'] },
    env: {
      UPLOAD_DIR: {
        description: 'The folder where uploaded files must be stored (created by the grader, empty at start).',
        value: (_random, run) => run.tempDir(UPLOAD_SUBDIR),
      },
      MAX_UPLOAD_BYTES: {
        description: 'The largest file accepted, in bytes; one byte more is 413.',
        value: (random) => String(random.int(48, 96) * 1024 + random.int(1, 1023)),
      },
    },
    checks: [
      {
        id: 'upload-round-trip',
        title: 'An upload is stored in UPLOAD_DIR and downloads byte for byte',
        hint: 'Parse multipart/form-data, take the part named `file`, write its bytes unchanged into UPLOAD_DIR, answer 201 with {id, size, sha256}, and serve them back at GET /files/<id>.',
        async run(ctx) {
          const { random, http, env } = ctx;
          const user = userName(random);
          const file: UploadFile = { filename: `holiday-${random.word()}.png`, type: 'image/png', data: fileBytes(random, MAGIC.png, random.int(3000, 20000)) };
          const res = await upload(ctx, user, file);
          const id = expectCreated(res, file, 'POST /files with a PNG (multipart/form-data, field `file`) must be answered 201 Created with a JSON body.');
          const sha = sha256Hex(file.data);

          const down = await http.get(fileUrl(id), { headers: { 'X-User': user } });
          down.expectStatus(200, `GET ${fileUrl(id)} by the uploader must return the file.`);
          const got = sha256Hex(down.bytes);
          expectThat(got === sha && down.bytes.length === file.data.length, 'The downloaded bytes differ from the uploaded ones: the file must be stored and served unchanged (binary, not text).', {
            expected: `${file.data.length} bytes, sha256 ${sha}, starting ${leadingBytes(file.data)}`,
            received: `${down.bytes.length} bytes, sha256 ${got}, starting ${leadingBytes(down.bytes)}`,
            res: down,
          });

          const stored = [...snapshotDir(env.UPLOAD_DIR).values()].filter((e) => e.kind === 'file' && e.size === file.data.length && fileSha256(e.path) === sha);
          expectThat(stored.length > 0, 'No file in UPLOAD_DIR holds the uploaded bytes: store each upload as a file inside the folder given in the UPLOAD_DIR environment variable.', {
            expected: `a file under ${env.UPLOAD_DIR} with sha256 ${sha}`,
            received: show([...snapshotDir(env.UPLOAD_DIR).values()], env.UPLOAD_DIR) || '(the folder is empty)',
          });
        },
      },
      {
        id: 'size-limit',
        title: 'A file of MAX_UPLOAD_BYTES is accepted; one byte more is 413 and nothing is stored',
        hint: 'Count the bytes of the file part while reading it (multer: limits.fileSize; busboy: the `limit` event): more than MAX_UPLOAD_BYTES answers 413 and keeps nothing.',
        async run(ctx) {
          const { random, env } = ctx;
          const max = limitOf(ctx);
          const user = userName(random);
          const exact: UploadFile = { filename: `scan-${random.word()}.pdf`, type: 'application/pdf', data: fileBytes(random, MAGIC.pdf, max) };
          const ok = await upload(ctx, user, exact);
          expectCreated(ok, exact, `A file of exactly MAX_UPLOAD_BYTES (${max}) bytes is within the limit and must be accepted with 201.`);

          const root = rootOf(env.UPLOAD_DIR);
          const before = snapshotDir(root);
          const over: UploadFile = { filename: `scan-${random.word()}.pdf`, type: 'application/pdf', data: fileBytes(random, MAGIC.pdf, max + 1) };
          const result = await uploadStreamed(ctx, user, over);
          expect413(ctx, result, over, 'A file of MAX_UPLOAD_BYTES + 1 bytes');
          await expectNothingStored(ctx, root, before, `An upload of ${max + 1} bytes`);
        },
      },
      {
        id: 'oversized-stream',
        title: 'A 10x oversized upload is refused with 413 while it streams, nothing stored, server unharmed',
        hint: 'Do not buffer the whole request before checking its size: stop at the limit, answer 413 (closing the connection afterwards is fine), delete any partial file, and keep serving.',
        timeoutMs: 20_000,
        async run(ctx) {
          const { random, env } = ctx;
          const max = limitOf(ctx);
          const user = userName(random);
          const root = rootOf(env.UPLOAD_DIR);
          const before = snapshotDir(root);
          const file: UploadFile = { filename: `video-${random.word()}.png`, type: 'image/png', data: fileBytes(random, MAGIC.png, max * 10) };
          const result = await uploadStreamed(ctx, user, file);
          expect413(ctx, result, file, 'An upload of 10x MAX_UPLOAD_BYTES');
          ctx.note(`413 after ${result.bytesSent} of ${result.totalBytes} bytes${result.reset ? ', then the connection was closed' : ''}`);
          await expectNothingStored(ctx, root, before, `An upload of ${file.data.length} bytes`);

          const small: UploadFile = { filename: `after-${random.word()}.gif`, type: 'image/gif', data: fileBytes(random, MAGIC.gif, random.int(500, 2000)) };
          const after = await upload(ctx, user, small);
          expectCreated(after, small, 'After refusing an oversized upload, the server must keep accepting normal uploads.');
        },
      },
      {
        id: 'magic-bytes',
        title: 'Only PNG, JPEG, GIF and PDF are accepted, and the bytes must match the declared type',
        hint: 'The declared Content-Type is the client\'s claim: check it against the allow-list (415 otherwise), then check the first bytes (magic number) really are that type (415 or 422 otherwise).',
        async run(ctx) {
          const { random, env } = ctx;
          const user = userName(random);
          const token = random.string(6);
          for (const ok of [
            { filename: `photo-${token}.jpg`, type: 'image/jpeg', data: fileBytes(random, MAGIC.jpeg, random.int(800, 4000)) },
            { filename: `anim-${token}.gif`, type: 'image/gif', data: fileBytes(random, MAGIC.gif, random.int(800, 4000)) },
          ]) {
            expectCreated(await upload(ctx, user, ok), ok, `A real ${ok.type} file must be accepted with 201.`);
          }
          const root = rootOf(env.UPLOAD_DIR);
          const before = snapshotDir(root);
          const html = `<!doctype html><html><body><script>fetch('/steal?c='+document.cookie)</script>${random.word()}</body></html>\n`;
          const svg = `<svg xmlns="http://www.w3.org/2000/svg" onload="alert('${random.word()}')"><circle r="9"/></svg>\n`;
          const mismatched: UploadFile[] = [
            { filename: `avatar-${token}.png`, type: 'image/png', data: Buffer.from(html) },
            { filename: `avatar-${token}.jpg`, type: 'image/jpeg', data: Buffer.from(svg) },
            { filename: `avatar-${token}.gif`, type: 'image/gif', data: fileBytes(random, MAGIC.elf, random.int(600, 2000)) },
            { filename: `paper-${token}.pdf`, type: 'application/pdf', data: fileBytes(random, MAGIC.png, random.int(600, 2000)) },
          ];
          for (const f of mismatched) {
            const res = await upload(ctx, user, f);
            res.expectStatus([415, 422], `A file declared as ${f.type} whose bytes start with ${leadingBytes(f.data, 8)} is not a ${f.type}: refuse it with 415 or 422.`);
          }
          const disallowed: UploadFile[] = [
            { filename: `page-${token}.html`, type: 'text/html', data: Buffer.from(html) },
            { filename: `logo-${token}.svg`, type: 'image/svg+xml', data: Buffer.from(svg) },
          ];
          for (const f of disallowed) {
            const res = await upload(ctx, user, f);
            res.expectStatus(415, `${f.type} is not on the allow-list (PNG, JPEG, GIF, PDF): refuse it with 415 Unsupported Media Type.`);
          }
          await expectNothingStored(ctx, root, before, 'A file whose type or bytes were refused');
        },
      },
      {
        id: 'traversal-names',
        title: 'Hostile filenames (../, ..\\, %2e%2e%2f, absolute, NUL, 300 chars) never write outside UPLOAD_DIR',
        hint: 'Never build a path from the client\'s filename: store under a name you generate (a UUID) inside UPLOAD_DIR, and keep the original name only as data.',
        async run(ctx) {
          const { random, env } = ctx;
          const user = userName(random);
          const root = rootOf(env.UPLOAD_DIR);
          const token = random.string(8);
          const names = [
            `../escape-${token}-1.png`,
            `../../escape-${token}-2.png`,
            `../../../escape-${token}-3.png`,
            `..\\..\\..\\escape-${token}-4.png`,
            `%2e%2e%2f%2e%2e%2f%2e%2e%2fescape-${token}-5.png`,
            `${root}/escape-${token}-6.png`,
            `escape-${token}-7.png\u0000.html`,
            `${'x'.repeat(290)}-${token}-8.png`,
            `./../escape-${token}-9.png`,
          ];
          for (const filename of random.shuffle(names)) {
            const before = snapshotDir(root);
            const file: UploadFile = { filename, type: 'image/png', data: fileBytes(random, MAGIC.png, random.int(300, 1500)) };
            const res = await upload(ctx, user, file);
            res.expectStatus([201, 400, 422], `An upload named ${label(filename)} must be stored safely (201) or refused (400/422), never crash (5xx).`);
            const after = snapshotDir(root);
            const outside = addedEntries(before, after, false).filter((e) => !isInside(env.UPLOAD_DIR, e.path));
            expectThat(outside.length === 0, `Uploading a file named ${label(filename)} wrote outside UPLOAD_DIR: the client's filename reached a filesystem path.`, {
              expected: `nothing new outside ${env.UPLOAD_DIR}`,
              received: show(outside, root),
              res,
            });
          }
          const health = await upload(ctx, user, { filename: `plain-${token}.png`, type: 'image/png', data: fileBytes(random, MAGIC.png, 400) });
          health.expectStatus(201, 'After the hostile names, a plain upload must still work.');
        },
      },
      {
        id: 'generated-names',
        title: 'Stored files get server-generated names: the same filename from two users never collides',
        hint: 'Name each stored file yourself (e.g. crypto.randomUUID()) and keep the client\'s name in your metadata; it must not appear in any path under UPLOAD_DIR.',
        async run(ctx) {
          const { random, env, http } = ctx;
          const token = random.string(10);
          const filename = `invoice-${token}.pdf`;
          const alice = userName(random);
          const bob = userName(random);
          const a: UploadFile = { filename, type: 'application/pdf', data: fileBytes(random, MAGIC.pdf, random.int(1000, 5000)) };
          const b: UploadFile = { filename, type: 'application/pdf', data: fileBytes(random, MAGIC.pdf, random.int(1000, 5000)) };
          const idA = expectCreated(await upload(ctx, alice, a), a, 'A PDF upload must be accepted with 201.');
          const idB = expectCreated(await upload(ctx, bob, b), b, 'The same filename uploaded by another user must be accepted with 201 too.');
          expectThat(idA !== idB, 'Two uploads got the same id: every upload needs its own server-generated id.', { expected: 'two different ids', received: `${idA} and ${idB}` });
          for (const [user, id, file] of [[alice, idA, a], [bob, idB, b]] as const) {
            const res = await http.get(fileUrl(id), { headers: { 'X-User': user } });
            res.expectStatus(200, `GET ${fileUrl(id)} by its uploader must return the file.`);
            expectThat(sha256Hex(res.bytes) === sha256Hex(file.data), `Two users uploaded a file called ${JSON.stringify(filename)}, and ${user} did not get their own bytes back (stored under the client's name, the second upload overwrites the first).`, {
              expected: `sha256 ${sha256Hex(file.data)}`,
              received: `sha256 ${sha256Hex(res.bytes)} (${res.bytes.length} bytes)`,
              res,
            });
          }
          const root = rootOf(env.UPLOAD_DIR);
          const named = [...snapshotDir(root).values()].filter((e) => e.path.includes(token));
          expectThat(named.length === 0, `The client's filename (${filename}) appears in a path on disk: generate storage names on the server.`, {
            expected: 'no path containing the uploaded filename',
            received: show(named, root),
          });
        },
      },
      {
        id: 'download-headers',
        title: 'Downloads are attachments with a safe, encoded filename*, the stored type and nosniff',
        hint: 'Send `Content-Disposition: attachment; filename="<ascii fallback>"; filename*=UTF-8\'\'<percent-encoded name>` (RFC 6266/8187), the validated Content-Type, and `X-Content-Type-Options: nosniff`.',
        async run(ctx) {
          const { random, http } = ctx;
          const user = userName(random);
          const token = random.string(6);
          const pretty = `résumé ${random.pick(['Zoë', 'Ngũgĩ', 'Ågren', 'Łukasz'])}-${token} (v2).pdf`;
          const file: UploadFile = { filename: pretty, type: 'application/pdf', data: fileBytes(random, MAGIC.pdf, random.int(800, 3000)) };
          const id = expectCreated(await upload(ctx, user, file), file, 'A PDF upload must be accepted with 201.');
          const res = await http.get(fileUrl(id), { headers: { 'X-User': user } });
          res.expectStatus(200);
          res.expectHeader('x-content-type-options', (v) => v.trim().toLowerCase() === 'nosniff', 'Downloads must carry `X-Content-Type-Options: nosniff` so a browser never guesses the type from the bytes.', 'nosniff');
          res.expectHeader('content-type', (v) => ['application/pdf', 'application/octet-stream'].includes(mediaType(v)), 'A download must be served with the type validated at upload (application/pdf here) or application/octet-stream, never a type the browser would render.', 'application/pdf or application/octet-stream');
          const header = res.expectHeader('content-disposition', undefined, 'Downloads must carry a `Content-Disposition: attachment; ...` header.', 'attachment; filename="..."');
          const parsed = await parseContentDisposition(header);
          if (!parsed.ok) return res.fail(`The Content-Disposition header cannot be parsed (${parsed.error}).`, `Content-Disposition: attachment; filename*=UTF-8''...`);
          expectThat(parsed.value.type === 'attachment', 'Downloads must be `attachment`, so the browser saves the file instead of rendering it on your origin.', {
            expected: 'Content-Disposition: attachment; ...',
            received: `Content-Disposition: ${header}`,
            res,
          });
          expectThat(parsed.value.filenameStar === pretty, 'The `filename*` parameter must carry the original name, UTF-8 and percent-encoded (RFC 8187): ' + `filename*=UTF-8''${encodeURIComponent(pretty)}.`, {
            expected: `filename* decoding to ${JSON.stringify(pretty)}`,
            received: `Content-Disposition: ${header}${parsed.value.filenameStarRaw === undefined ? '  (no filename* parameter)' : `  (filename* decodes to ${JSON.stringify(parsed.value.filenameStar ?? '(undecodable)')})`}`,
            res,
          });
          expectThat(parsed.value.filename === undefined || SAFE_NAME.test(parsed.value.filename), 'The plain `filename` fallback must not contain path separators or control characters.', {
            received: `Content-Disposition: ${header}`,
            res,
          });

          // A hostile name must come back without separators or control characters.
          const hostile: UploadFile = { filename: `..\\../${token}-evil.png`, type: 'image/png', data: fileBytes(random, MAGIC.png, 600) };
          const up = await upload(ctx, user, hostile);
          if (up.status === 201) {
            const hid = expectCreated(up, hostile, 'A PNG upload must be accepted with 201.');
            const down = await http.get(fileUrl(hid), { headers: { 'X-User': user } });
            down.expectStatus(200);
            const h = down.expectHeader('content-disposition');
            const p = await parseContentDisposition(h);
            const names = p.ok ? [p.value.filename, p.value.filenameStar].filter((n): n is string => n !== undefined) : [];
            expectThat(p.ok && p.value.type === 'attachment' && names.length > 0 && names.every((n) => SAFE_NAME.test(n)), `A file uploaded as ${JSON.stringify(hostile.filename)} must be offered under a name without \`/\`, \`\\\` or control characters.`, {
              expected: 'Content-Disposition: attachment; filename*=UTF-8\'\'<name without / \\ or control characters>',
              received: `Content-Disposition: ${h}`,
              res: down,
            });
          } else {
            up.expectStatus([201, 400, 422], 'A PNG with an odd name must be stored (201) or refused (400/422).');
          }
        },
      },
      {
        id: 'owner-only',
        title: 'Only the uploader can download a file; no X-User is 401',
        hint: 'Store the owner with each file and compare it with X-User on every download: another user gets 404 (or 403), and a request without X-User gets 401.',
        async run(ctx) {
          const { random, http, env } = ctx;
          const alice = userName(random);
          const mallory = userName(random);
          const file: UploadFile = { filename: `private-${random.word()}.png`, type: 'image/png', data: fileBytes(random, MAGIC.png, random.int(1000, 4000)) };
          const id = expectCreated(await upload(ctx, alice, file), file, 'A PNG upload must be accepted with 201.');
          const sha = sha256Hex(file.data);

          const other = await http.get(fileUrl(id), { headers: { 'X-User': mallory } });
          other.expectStatus([403, 404], `${mallory} asked for ${alice}'s file: answer 404 (or 403), never the file.`);
          expectThat(!other.bytes.includes(file.data.subarray(0, 64)) && sha256Hex(other.bytes) !== sha, 'The refusal leaks the file\'s bytes.', { res: other });

          const anonymous = await http.get(fileUrl(id));
          anonymous.expectStatus(401, 'A download without an X-User header must be 401 Unauthorized.');

          const root = rootOf(env.UPLOAD_DIR);
          const before = snapshotDir(root);
          const anonUpload = await upload(ctx, undefined, { ...file, filename: `anon-${random.word()}.png` });
          anonUpload.expectStatus(401, 'An upload without an X-User header must be 401 Unauthorized.');
          await expectNothingStored(ctx, root, before, 'An upload without X-User', anonUpload);

          const unknown = await http.get(fileUrl(`${random.string(8)}-${random.string(4)}`), { headers: { 'X-User': alice } });
          unknown.expectStatus(404, 'An id that was never issued must be 404.');

          const mine = await http.get(fileUrl(id), { headers: { 'X-User': alice } });
          mine.expectStatus(200, 'The uploader must still get the file.');
        },
      },
    ],
  },
  import.meta.dirname,
);
