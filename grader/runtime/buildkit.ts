// BuildKit's build output through the Docker API: JSON lines whose `moby.buildkit.trace` entries carry a
// base64 protobuf StatusResponse (vertexes = build steps, logs = what a RUN step printed). A small decoder
// of just those fields turns them into the lines `docker build --progress=plain` would show.
// (dockerode's own decoder shows a RUN step's output base64-encoded.)

export interface BuildkitStatus {
  vertexes: { digest: string; name: string; cached: boolean; started: boolean; completed: boolean; error: string }[];
  logs: { vertex: string; msg: string }[];
}

type Field = { no: number; wire: number; value: number | Uint8Array };

function* fields(buf: Uint8Array): Generator<Field> {
  let i = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (i >= buf.length) throw new Error('truncated varint');
      const b = buf[i++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) yield { no, wire, value: varint() };
    else if (wire === 2) {
      const len = varint();
      yield { no, wire, value: buf.subarray(i, i + len) };
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

const text = (v: number | Uint8Array) => (typeof v === 'number' ? '' : Buffer.from(v).toString('utf8'));

export function decodeBuildkitStatus(base64: string): BuildkitStatus {
  const out: BuildkitStatus = { vertexes: [], logs: [] };
  for (const f of fields(Buffer.from(base64, 'base64'))) {
    if (f.wire !== 2 || typeof f.value === 'number') continue;
    if (f.no === 1) {
      const v = { digest: '', name: '', cached: false, started: false, completed: false, error: '' };
      for (const g of fields(f.value)) {
        if (g.no === 1) v.digest = text(g.value);
        else if (g.no === 3) v.name = text(g.value);
        else if (g.no === 4) v.cached = g.value === 1;
        else if (g.no === 5) v.started = true;
        else if (g.no === 6) v.completed = true;
        else if (g.no === 7) v.error = text(g.value);
      }
      out.vertexes.push(v);
    } else if (f.no === 3) {
      const log = { vertex: '', msg: '' };
      for (const g of fields(f.value)) {
        if (g.no === 1) log.vertex = text(g.value);
        else if (g.no === 4) log.msg = text(g.value);
      }
      out.logs.push(log);
    }
  }
  return out;
}

/** Turns the build's JSON stream into readable lines: push() each chunk of the stream, end() at its end. */
export function buildOutputReader(onLine: (line: string) => void, onError: (message: string) => void): { push(chunk: string): void; end(): void } {
  const announced = new Set<string>();
  let pendingLog = '';
  let pending = '';
  const handle = (jsonLine: string) => {
    let event: { stream?: string; error?: string; errorDetail?: { message?: string }; id?: string; aux?: unknown };
    try {
      event = JSON.parse(jsonLine);
    } catch {
      return;
    }
    if (event.error || event.errorDetail) onError(event.errorDetail?.message ?? event.error ?? 'unknown error');
    if (typeof event.stream === 'string') {
      for (const l of event.stream.split('\n')) if (l.trim()) onLine(l.replace(/\r$/, ''));
    }
    if (event.id === 'moby.buildkit.trace' && typeof event.aux === 'string') {
      let status: BuildkitStatus;
      try {
        status = decodeBuildkitStatus(event.aux);
      } catch {
        return;
      }
      for (const v of status.vertexes) {
        if (v.name && v.started && !announced.has(v.digest)) {
          announced.add(v.digest);
          onLine(`${v.cached ? 'CACHED ' : ''}${v.name}`);
        } else if (v.name && v.cached && !announced.has(v.digest)) {
          announced.add(v.digest);
          onLine(`CACHED ${v.name}`);
        }
        if (v.error) onLine(`ERROR: ${v.error}`);
      }
      for (const log of status.logs) {
        pendingLog += log.msg;
        let nl: number;
        while ((nl = pendingLog.indexOf('\n')) >= 0) {
          const l = pendingLog.slice(0, nl).replace(/\r$/, '');
          if (l.trim()) onLine(`  ${l}`);
          pendingLog = pendingLog.slice(nl + 1);
        }
      }
    }
  };
  return {
    push(chunk) {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        handle(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    },
    end() {
      if (pending.trim()) handle(pending);
      pending = '';
      if (pendingLog.trim()) onLine(`  ${pendingLog.trim()}`);
      pendingLog = '';
    },
  };
}
