import { defineLab, expectEqual, expectJson, expectProblem, expectThat, show, type CheckContext, type HttpResponse, type Random } from '../../grader/index.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Doc = { [key: string]: Json };

const MERGE_PATCH = 'application/merge-patch+json';
/** A strong entity-tag (RFC 9110 section 8.8.3): "opaque", no W/ prefix. */
const STRONG_ETAG = /^"[\x21\x23-\x7e\x80-\xff]*"$/;

function isObject(v: Json | undefined): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7396 section 2, the grader's own reference. */
function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: Doc = isObject(target) ? { ...target } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name];
    else result[name] = mergePatch(result[name], value);
  }
  return result;
}

/** Where two JSON values differ, as short lines like "author.email: expected absent, got \"x\"" (at most `max`). */
function differences(expected: Json | undefined, actual: Json | undefined, at = '', out: string[] = [], max = 6): string[] {
  if (out.length >= max) return out;
  const here = at || '(the document)';
  const brief = (v: Json | undefined) => (v === undefined ? 'absent' : JSON.stringify(v).length > 60 ? `${JSON.stringify(v).slice(0, 57)}...` : JSON.stringify(v));
  if (isObject(expected) && isObject(actual)) {
    for (const k of new Set([...Object.keys(expected), ...Object.keys(actual)])) differences(expected[k], actual[k], at ? `${at}.${k}` : k, out, max);
  } else if (Array.isArray(expected) && Array.isArray(actual) && expected.length === actual.length) {
    expected.forEach((e, i) => differences(e, actual[i], `${at}[${i}]`, out, max));
  } else if (JSON.stringify(expected) !== JSON.stringify(actual)) {
    out.push(`${here}: expected ${brief(expected)}, got ${brief(actual)}`);
  }
  return out;
}

function expectSameJson(actual: unknown, expected: Json, message: string, res: HttpResponse): void {
  const diff = differences(expected, actual as Json);
  expectEqual(actual, expected, diff.length ? `${message} Differences: ${diff.join('; ')}.` : message, res);
}

const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

function newId(r: Random): string {
  return `${r.word()}-${r.string(8)}`;
}

function makeDoc(r: Random): Doc {
  return {
    title: `${cap(r.word())} ${r.word()}`,
    subtitle: r.word(),
    tags: [r.word(), r.word(), r.word()],
    author: { name: cap(r.word()), email: `${r.word()}@example.com`, links: { home: `https://${r.word()}.example`, blog: `https://blog.${r.word()}.example` } },
    rating: r.int(1, 5),
    draft: r.bool(),
    sections: [
      { id: 1, heading: cap(r.word()), words: r.int(10, 900) },
      { id: 2, heading: cap(r.word()), words: r.int(10, 900) },
    ],
  };
}

function path(id: string): string {
  return `/documents/${id}`;
}

function put(ctx: CheckContext, id: string, doc: unknown, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return ctx.http.put(path(id), doc, { headers });
}

function patch(ctx: CheckContext, id: string, body: unknown, type = MERGE_PATCH, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return ctx.http.request(path(id), { method: 'PATCH', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': type, ...headers } });
}

async function getDoc(ctx: CheckContext, id: string, why?: string): Promise<{ res: HttpResponse; body: unknown }> {
  const res = await ctx.http.get(path(id));
  return { res, body: expectJson(res, 200, why ?? `GET ${path(id)} must answer 200 with the document.`) };
}

/** Set-up for a check about something else: any success will do (put-creates is where 201 is graded). */
async function create(ctx: CheckContext, id: string, doc: Doc): Promise<void> {
  const res = await put(ctx, id, doc);
  res.expectStatus([200, 201, 204], `PUT ${path(id)} must store a new document (201 Created).`);
}

/** A 200 with a body must hold the new document; a 204 has none. */
function expectUpdateAnswer(res: HttpResponse, expected: Json, what: string): void {
  res.expectStatus([200, 204], `${what} must succeed with 200 (and the document) or 204.`);
  if (res.status === 200 && res.bytes.length > 0) expectSameJson(expectJson(res), expected, `The 200 answer to ${what} must be the document as it now is.`, res);
}

async function expectStored(ctx: CheckContext, id: string, expected: Json, message: string): Promise<HttpResponse> {
  const { res, body } = await getDoc(ctx, id);
  expectSameJson(body, expected, message, res);
  return res;
}

export default defineLab(
  {
    id: 'put-vs-patch',
    title: 'PUT vs PATCH: replace, merge-patch and conditional updates',
    track: 'api-design',
    summary: 'Documents updated two ways: PUT replaces the whole document (idempotently), PATCH applies a JSON Merge Patch (RFC 7396); ETags and If-Match stop lost updates.',
    difficulty: 'intermediate',
    estimatedMinutes: 60,
    questions: [14],
    checks: [
      {
        id: 'put-creates',
        title: 'PUT on a new id creates the document (201); GET returns it exactly',
        hint: 'PUT /documents/<id> stores the JSON body under that id: 201 Created when the id was new. GET returns the stored JSON unchanged; an unknown id is a 404 problem.',
        async run(ctx) {
          const id = newId(ctx.random);
          const doc = makeDoc(ctx.random);
          const res = await put(ctx, id, doc);
          res.expectStatus(201, `PUT ${path(id)} on an id that does not exist yet creates the document: 201 Created.`);
          await expectStored(ctx, id, doc, `GET ${path(id)} must return exactly the document that was PUT.`);
          const unknown = newId(ctx.random);
          expectProblem(await ctx.http.get(path(unknown)), 404, `GET ${path(unknown)}: no document has that id, so the answer is a 404 (as problem details).`);
        },
      },
      {
        id: 'put-replaces',
        title: 'PUT on an existing id replaces the whole document: fields left out disappear',
        hint: 'PUT means "store this representation": the new document is exactly the body. Do not merge it with what was there (a field left out of the body is removed).',
        async run(ctx) {
          const id = newId(ctx.random);
          const first = makeDoc(ctx.random);
          await create(ctx, id, first);
          const { subtitle: _dropped, author, ...rest } = first;
          const second: Doc = { ...rest, title: `${cap(ctx.random.word())} ${ctx.random.word()}`, author: { name: (author as Doc).name }, edition: ctx.random.int(2, 9) };
          const res = await put(ctx, id, second);
          expectUpdateAnswer(res, second, `PUT ${path(id)} on an existing document`);
          await expectStored(ctx, id, second, 'After a PUT, the document must be exactly the body of that PUT: `subtitle` and `author.email`/`author.links` were left out, so they must be gone (PUT replaces, it does not merge).');
        },
      },
      {
        id: 'put-idempotent',
        title: 'Repeating the same PUT leaves the same state',
        hint: 'Replacing with the same body twice must give the same document (no appended arrays, no counters in the body); the second PUT answers 200 or 204, not 201.',
        async run(ctx) {
          const id = newId(ctx.random);
          await create(ctx, id, makeDoc(ctx.random));
          const doc = makeDoc(ctx.random);
          for (let i = 1; i <= 3; i++) {
            const res = await put(ctx, id, doc);
            expectUpdateAnswer(res, doc, `PUT ${path(id)} (the same body, time ${i})`);
            await expectStored(ctx, id, doc, `After sending the same PUT ${i} time(s), the document must be exactly that body: PUT is idempotent.`);
          }
        },
      },
      {
        id: 'merge-patch',
        title: 'PATCH with application/merge-patch+json: members replace, null deletes, the rest stays',
        hint: 'Apply RFC 7396: for each member of the patch, null removes it from the document, any other value replaces it; members not in the patch stay. An unknown id is 404.',
        async run(ctx) {
          const id = newId(ctx.random);
          const doc = makeDoc(ctx.random);
          await create(ctx, id, doc);
          const body: Doc = { title: `${cap(ctx.random.word())} ${ctx.random.word()}`, subtitle: null, published: `2025-${String(ctx.random.int(1, 12)).padStart(2, '0')}-1${ctx.random.int(0, 9)}`, [ctx.random.word()]: null, draft: !doc.draft };
          const expected = mergePatch(doc, body);
          const res = await patch(ctx, id, body);
          expectUpdateAnswer(res, expected, `PATCH ${path(id)} with ${MERGE_PATCH}`);
          await expectStored(ctx, id, expected, `After the merge patch ${show(body)}, the document must have the new title, published and draft, no subtitle, and everything else unchanged.`);
          const unknown = newId(ctx.random);
          expectProblem(await patch(ctx, unknown, { title: 'x' }), 404, `PATCH ${path(unknown)}: there is no such document to patch, so the answer is a 404 (as problem details).`);
        },
      },
      {
        id: 'merge-patch-nested',
        title: 'Merge patch recurses into objects: nested members merge, nested nulls delete',
        hint: 'Apply the merge recursively: when the patch value is an object, merge it into the target member (an empty object if it is missing or not an object), and drop nulls at every level.',
        async run(ctx) {
          const id = newId(ctx.random);
          const doc = makeDoc(ctx.random);
          await create(ctx, id, doc);
          const body: Doc = {
            author: { email: `${ctx.random.word()}@example.org`, links: { blog: null, code: `https://git.${ctx.random.word()}.example` } },
            rating: { stars: ctx.random.int(1, 5), of: 5 },
            extra: { keep: ctx.random.word(), drop: null, deeper: { n: ctx.random.int(1, 99), gone: null } },
          };
          const expected = mergePatch(doc, body);
          const res = await patch(ctx, id, body);
          expectUpdateAnswer(res, expected, `PATCH ${path(id)} with nested objects`);
          await expectStored(
            ctx,
            id,
            expected,
            'A nested object in a merge patch merges into the member: author.name and author.links.home stay, author.email changes, author.links.blog goes; rating (a number) becomes the object; extra is created without its null members.',
          );
        },
      },
      {
        id: 'merge-patch-arrays',
        title: 'Merge patch replaces arrays wholesale (and keeps nulls inside them)',
        hint: 'In RFC 7396 only objects merge: an array in the patch replaces the array in the document entirely (no element-wise merge, no concatenation), nulls inside it included.',
        async run(ctx) {
          const id = newId(ctx.random);
          const doc = makeDoc(ctx.random);
          await create(ctx, id, doc);
          const body: Doc = {
            tags: [ctx.random.word()],
            sections: [{ id: 1, heading: cap(ctx.random.word()) }],
            matrix: [[ctx.random.int(1, 9), null], []],
          };
          const expected = mergePatch(doc, body);
          const res = await patch(ctx, id, body);
          expectUpdateAnswer(res, expected, `PATCH ${path(id)} with arrays`);
          await expectStored(ctx, id, expected, 'Arrays in a merge patch replace the document\'s arrays completely: tags and sections must be exactly the patch\'s arrays.');
          const emptied = mergePatch(expected, { tags: [] });
          expectUpdateAnswer(await patch(ctx, id, { tags: [] }), emptied, `PATCH ${path(id)} with {"tags": []}`);
          await expectStored(ctx, id, emptied, 'Patching with {"tags": []} must leave an empty tags array.');
        },
      },
      {
        id: 'patch-media-type',
        title: 'PATCH with another media type is 415 with Accept-Patch, and changes nothing',
        hint: 'Check the PATCH Content-Type first: only application/merge-patch+json (parameters allowed); anything else is 415 with `Accept-Patch: application/merge-patch+json`.',
        async run(ctx) {
          const id = newId(ctx.random);
          const doc = makeDoc(ctx.random);
          await create(ctx, id, doc);
          const title = `${cap(ctx.random.word())} ${ctx.random.word()}`;
          const attempts: { type: string; body: string }[] = [
            { type: 'application/json-patch+json', body: JSON.stringify([{ op: 'replace', path: '/title', value: title }]) },
            { type: 'application/json', body: JSON.stringify({ title }) },
            { type: 'text/plain', body: `title=${title}` },
          ];
          for (const a of attempts) {
            const res = await patch(ctx, id, a.body, a.type);
            expectProblem(res, 415, `PATCH with Content-Type: ${a.type} is not a format this server applies: 415 Unsupported Media Type (as problem details).`);
            const accept = res.expectHeader('accept-patch', undefined, 'A 415 to a PATCH must say which patch formats are accepted in an `Accept-Patch` header (RFC 5789).');
            const types = accept.split(',').map((t) => t.split(';')[0].trim().toLowerCase());
            expectThat(types.includes(MERGE_PATCH), `Accept-Patch must list ${MERGE_PATCH}.`, { expected: `Accept-Patch: ${MERGE_PATCH}`, received: `Accept-Patch: ${accept}`, res });
          }
          await expectStored(ctx, id, doc, 'A refused PATCH must not change the document.');
          const expected = mergePatch(doc, { title });
          expectUpdateAnswer(await patch(ctx, id, { title }, `${MERGE_PATCH}; charset=utf-8`), expected, `PATCH with Content-Type: ${MERGE_PATCH}; charset=utf-8`);
        },
      },
      {
        id: 'etag-if-match',
        title: 'ETag changes with the document; a stale If-Match is 412 and changes nothing',
        hint: 'Send a strong `ETag: "..."` with every document; on PUT/PATCH with If-Match, compare it (a list, or *) with the current ETag and answer 412 Precondition Failed when none matches.',
        async run(ctx) {
          const id = newId(ctx.random);
          const doc = makeDoc(ctx.random);
          await create(ctx, id, doc);
          const g1 = await ctx.http.get(path(id));
          const e1 = g1.expectHeader('etag', (v) => STRONG_ETAG.test(v.trim()), 'GET must send a strong ETag: a quoted string like "a1b2c3" (no W/ prefix), so If-Match can use it.', 'a strong entity-tag: a quoted string like "a1b2c3", no W/ prefix').trim();

          const change = { title: `${cap(ctx.random.word())} ${ctx.random.word()}` };
          const patched = mergePatch(doc, change);
          const p1 = await patch(ctx, id, change, MERGE_PATCH, { 'If-Match': e1 });
          expectUpdateAnswer(p1, patched, `PATCH with If-Match: ${e1} (the current ETag)`);
          const g2 = await ctx.http.get(path(id));
          const e2 = g2.expectHeader('etag', (v) => STRONG_ETAG.test(v.trim()), 'GET must send a strong ETag.', 'a strong entity-tag: a quoted string like "a1b2c3", no W/ prefix').trim();
          expectThat(e2 !== e1, 'The document changed, so its ETag must change too: an ETag identifies one version of the document.', { expected: `an ETag other than ${e1}`, received: `ETag: ${e2}`, res: g2 });
          const p1tag = p1.header('etag')?.trim();
          expectThat(p1tag === e2, 'The response to a successful PATCH must carry the new ETag (the same one GET then shows), so the client can chain updates.', {
            expected: `ETag: ${e2}`,
            received: `ETag: ${p1tag ?? '(absent)'}`,
            res: p1,
          });

          const stalePut = await put(ctx, id, makeDoc(ctx.random), { 'If-Match': e1 });
          expectProblem(stalePut, 412, `PUT with If-Match: ${e1}, an ETag of an older version (the current one is ${e2}): someone changed the document meanwhile, so the answer is 412 Precondition Failed.`);
          const stalePatch = await patch(ctx, id, { title: 'lost update' }, MERGE_PATCH, { 'If-Match': e1 });
          expectProblem(stalePatch, 412, `PATCH with the stale If-Match: ${e1} must be 412 Precondition Failed too.`);
          const after = await expectStored(ctx, id, patched, 'A request refused with 412 must not change the document.');
          expectThat(after.header('etag')?.trim() === e2, 'A request refused with 412 must not change the ETag either.', { expected: `ETag: ${e2}`, received: `ETag: ${after.header('etag')}`, res: after });

          const replacement = makeDoc(ctx.random);
          const listMatch = await put(ctx, id, replacement, { 'If-Match': `"${ctx.random.string(10)}", ${e2}` });
          expectUpdateAnswer(listMatch, replacement, `PUT with If-Match: "<other>", ${e2} (If-Match is a list: one matching tag is enough)`);
          await expectStored(ctx, id, replacement, 'A PUT whose If-Match list contains the current ETag must replace the document.');

          // If-Match: * means "only if it exists": on a missing document it is 412, and nothing is created.
          const ghost = `g${ctx.random.string(12)}`;
          expectProblem(await put(ctx, ghost, makeDoc(ctx.random), { 'If-Match': '*' }), 412, `PUT ${path(ghost)} with If-Match: * on a document that does not exist must be 412 Precondition Failed (If-Match: * means "only if it exists").`);
          expectProblem(await ctx.http.get(path(ghost)), 404, `A PUT refused with 412 must not create ${path(ghost)}.`);
        },
      },
    ],
  },
  import.meta.dirname,
);
