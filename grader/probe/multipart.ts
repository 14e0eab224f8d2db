// multipart/form-data uploads for checks: encoded by undici's FormData (the one built into Node), sent
// through ctx.http, and recorded with a `curl -F` reproduction instead of an unusable binary body.
import type { Random } from '../random.ts';
import { CheckFailure } from '../errors.ts';
import { shellQuote, type Exchange } from './exchange.ts';
import type { HttpProbe, HttpResponse } from './http.ts';

export interface UploadFile {
  /** Form field name (default "file"). */
  field?: string;
  /** The filename the client declares, sent as is (path separators, `..`, unicode, NUL...). */
  filename: string;
  /** The part's declared Content-Type. */
  type: string;
  data: Buffer;
}

export interface EncodedMultipart {
  body: Buffer;
  /** `multipart/form-data; boundary=...` */
  contentType: string;
}

/** Encodes files (and plain fields) exactly as a browser would. */
export async function encodeMultipart(files: UploadFile[], fields: Record<string, string> = {}): Promise<EncodedMultipart> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  for (const f of files) form.append(f.field ?? 'file', new Blob([new Uint8Array(f.data)], { type: f.type }), f.filename);
  const encoded = new Response(form);
  const body = Buffer.from(await encoded.arrayBuffer());
  const contentType = encoded.headers.get('content-type') ?? '';
  return { body, contentType };
}

/** `n` bytes drawn from the seeded random (so a run replays with --seed). */
export function seededBytes(random: Random, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let i = 0;
  while (i < n) {
    let v = Math.floor(random.next() * 0x100000000);
    for (let k = 0; k < 4 && i < n; k++, i++) {
      out[i] = v & 0xff;
      v >>>= 8;
    }
  }
  return out;
}

function isPrintable(data: Buffer): boolean {
  for (const b of data) if (b !== 0x0a && b !== 0x09 && (b < 0x20 || b > 0x7e)) return false;
  return true;
}

/** Hex dump of the first bytes, e.g. `89 50 4e 47 0d 0a 1a 0a ...`. */
export function leadingBytes(data: Buffer, n = 12): string {
  const hex = [...data.subarray(0, n)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return data.length > n ? `${hex} ...` : hex;
}

/** A shell command that writes a file like `data`: the same text, or the same leading bytes followed by random ones. */
function shellForData(data: Buffer, file: string): string {
  if (isPrintable(data) && data.length <= 2000) return `printf '%s' ${shellQuote(data.toString('latin1'))} > ${file}`;
  const head = Math.min(16, data.length);
  const escaped = [...data.subarray(0, head)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
  const rest = data.length - head;
  return rest > 0 ? `{ printf '${escaped}'; head -c ${rest} /dev/urandom; } > ${file}` : `printf '${escaped}' > ${file}`;
}

/** The curl command that uploads files like these (random bytes stand in for the grader's random content). */
export function curlUpload(url: string, headers: Record<string, string>, files: UploadFile[], method = 'POST'): string {
  const prep: string[] = [];
  const parts = ['curl', '-i'];
  if (method !== 'POST') parts.push('-X', method);
  parts.push(shellQuote(url));
  for (const [name, value] of Object.entries(headers)) parts.push('-H', shellQuote(`${name}: ${value}`));
  files.forEach((f, i) => {
    const file = `upload${files.length > 1 ? i + 1 : ''}.bin`;
    prep.push(shellForData(f.data, file));
    // curl's -F syntax: the filename in double quotes, with \ and " escaped.
    const name = f.filename.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\0/g, '');
    parts.push('-F', shellQuote(`${f.field ?? 'file'}=@${file};filename="${name}";type=${f.type}`));
  });
  return [...prep, parts.join(' ')].join(' && ');
}

/** One line per file for the failure report, e.g. `file "../x.png" (image/png, 4096 bytes: 89 50 4e 47 ...)`. */
export function describeUpload(files: UploadFile[]): string {
  return files
    .map((f) => `multipart part "${f.field ?? 'file'}": filename=${JSON.stringify(f.filename)}, Content-Type: ${f.type}, ${f.data.length} bytes (${leadingBytes(f.data)})`)
    .join('\n');
}

export interface UploadOptions {
  method?: string;
  headers?: Record<string, string>;
  fields?: Record<string, string>;
  timeoutMs?: number;
  newConnection?: boolean;
}

function annotate(exchange: Exchange | undefined, url: string, headers: Record<string, string>, files: UploadFile[], method: string): void {
  if (!exchange) return;
  exchange.request.curl = curlUpload(url, headers, files, method);
  exchange.request.bodyNote = describeUpload(files);
  exchange.request.body = '';
}

/** Sends a multipart/form-data request through ctx.http; the recorded exchange carries a `curl -F` reproduction. */
export async function uploadFiles(http: HttpProbe, path: string, files: UploadFile[], options: UploadOptions = {}): Promise<HttpResponse> {
  const method = options.method ?? 'POST';
  const { body, contentType } = await encodeMultipart(files, options.fields);
  const headers = { ...(options.headers ?? {}) };
  const url = http.url(path);
  try {
    const res = await http.request(path, {
      method,
      body,
      headers: { ...headers, 'Content-Type': contentType },
      timeoutMs: options.timeoutMs,
      newConnection: options.newConnection,
    });
    annotate(res.exchange, url, headers, files, method);
    return res;
  } catch (err) {
    if (err instanceof CheckFailure) annotate(err.details.exchange, url, headers, files, method);
    throw err;
  }
}
