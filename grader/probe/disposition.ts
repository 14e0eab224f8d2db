// Content-Disposition (RFC 6266, with RFC 8187 `filename*`) parsed by the `content-disposition` library,
// loaded on first use.

type ContentDispositionLib = typeof import('content-disposition');
let lib: Promise<ContentDispositionLib> | undefined;
function load(): Promise<ContentDispositionLib> {
  lib ??= import('content-disposition');
  return lib;
}

export interface ParsedDisposition {
  /** Lowercased disposition type: "attachment", "inline"... */
  type: string;
  /** Raw parameters (quoted strings unquoted, `filename*` still encoded). */
  params: Record<string, string>;
  /** The plain `filename` parameter, if any. */
  filename?: string;
  /** The raw `filename*` parameter, if any (e.g. `UTF-8''r%C3%A9sum%C3%A9.pdf`). */
  filenameStarRaw?: string;
  /** `filename*` decoded, if present and decodable. */
  filenameStar?: string;
}

export type DispositionResult = { ok: true; value: ParsedDisposition } | { ok: false; error: string };

export async function parseContentDisposition(header: string): Promise<DispositionResult> {
  const cd = await load();
  try {
    const parsed = cd.parse(header, { extended: false });
    const params: Record<string, string> = { ...parsed.parameters };
    const raw = params['filename*'];
    const decoded = raw === undefined ? undefined : cd.decodeExtended(raw);
    return {
      ok: true,
      value: {
        type: parsed.type.toLowerCase(),
        params,
        filename: params.filename,
        filenameStarRaw: raw,
        filenameStar: decoded,
      },
    };
  } catch (err) {
    return { ok: false, error: (err as Error)?.message ?? String(err) };
  }
}
