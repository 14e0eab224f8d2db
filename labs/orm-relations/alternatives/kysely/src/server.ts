// The same contract with Kysely, a type-safe query builder: relations are not declared, they are written as
// joins and as JSON subqueries (jsonObjectFrom / jsonArrayFrom), so every request is one statement.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Kysely, PostgresDialect, sql, type Generated } from 'kysely';
import { jsonArrayFrom, jsonObjectFrom } from 'kysely/helpers/postgres';
import pg from 'pg';

interface Database {
  users: { id: Generated<number>; email: string; name: string };
  posts: { id: Generated<number>; author_id: number; title: string; body: string };
  comments: { id: Generated<number>; post_id: number; author_id: number; body: string };
}

const port = Number(process.env.PORT ?? 3000);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 8 });
pool.on('error', (err) => console.error('idle client error:', err.message));
const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });

await db.schema.createTable('users').ifNotExists()
  .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
  .addColumn('email', 'text', (c) => c.notNull().unique())
  .addColumn('name', 'text', (c) => c.notNull())
  .execute();
await db.schema.createTable('posts').ifNotExists()
  .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
  .addColumn('author_id', 'integer', (c) => c.notNull().references('users.id'))
  .addColumn('title', 'text', (c) => c.notNull())
  .addColumn('body', 'text', (c) => c.notNull())
  .execute();
await db.schema.createTable('comments').ifNotExists()
  .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
  .addColumn('post_id', 'integer', (c) => c.notNull().references('posts.id').onDelete('cascade'))
  .addColumn('author_id', 'integer', (c) => c.notNull().references('users.id'))
  .addColumn('body', 'text', (c) => c.notNull())
  .execute();
await db.schema.createIndex('comments_post_id_idx').ifNotExists().on('comments').column('post_id').execute();

class Reply extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
};

async function json(req: IncomingMessage): Promise<Record<string, unknown>> {
  let raw = '';
  for await (const c of req) raw += c;
  try {
    const v = JSON.parse(raw);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  } catch {
    /* below */
  }
  throw new Reply(400, 'expected a JSON object');
}

const str = (v: unknown, field: string, max: number) => {
  if (typeof v === 'string' && v.trim().length > 0 && v.length <= max) return v;
  throw new Reply(400, `${field}: a non-empty string of at most ${max} characters`);
};
const int = (v: unknown, field: string) => {
  if (Number.isInteger(v) && (v as number) > 0 && (v as number) <= 2 ** 31 - 1) return v as number;
  throw new Reply(400, `${field}: a positive integer`);
};
const pathId = (raw: string) => (/^\d{1,9}$/.test(raw) && Number(raw) > 0 ? Number(raw) : null);
const code = (err: unknown) => (err as { code?: string })?.code;

const author = (column: 'posts.author_id' | 'comments.author_id') =>
  jsonObjectFrom(db.selectFrom('users').select(['users.id', 'users.name']).whereRef('users.id', '=', column)).$notNull().as('author');

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://x');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const url = requestUrl;
  const parts = url.pathname.split('/').filter(Boolean);
  if (req.method === 'POST' && url.pathname === '/users') {
    const b = await json(req);
    const values = { email: str(b.email, 'email', 200), name: str(b.name, 'name', 200) };
    try {
      return send(res, 201, await db.insertInto('users').values(values).returning(['id', 'email', 'name']).executeTakeFirstOrThrow());
    } catch (err) {
      if (code(err) === '23505') throw new Reply(409, 'email taken');
      throw err;
    }
  }
  if (req.method === 'POST' && url.pathname === '/posts') {
    const b = await json(req);
    const post = { author_id: int(b.author_id, 'author_id'), title: str(b.title, 'title', 200), body: str(b.body, 'body', 10_000) };
    const list = b.comments === undefined ? [] : b.comments;
    if (!Array.isArray(list) || list.length > 20) throw new Reply(400, 'comments: an array of at most 20');
    const initial = list.map((c) => {
      if (!c || typeof c !== 'object') throw new Reply(400, 'comments: objects');
      return { author_id: int(c.author_id, 'comments[].author_id'), body: str(c.body, 'comments[].body', 10_000) };
    });
    try {
      const created = await db.transaction().execute(async (trx) => {
        const p = await trx.insertInto('posts').values(post).returning(['id', 'author_id', 'title', 'body']).executeTakeFirstOrThrow();
        if (initial.length) await trx.insertInto('comments').values(initial.map((c) => ({ ...c, post_id: p.id }))).execute();
        return p;
      });
      return send(res, 201, created);
    } catch (err) {
      if (code(err) === '23503') throw new Reply(422, 'author_id names no user');
      throw err;
    }
  }
  if (req.method === 'POST' && parts.length === 3 && parts[0] === 'posts' && parts[2] === 'comments') {
    const postId = pathId(parts[1]);
    if (postId === null) throw new Reply(404, 'no such post');
    const b = await json(req);
    const values = { post_id: postId, author_id: int(b.author_id, 'author_id'), body: str(b.body, 'body', 10_000) };
    try {
      return send(res, 201, await db.insertInto('comments').values(values).returning(['id', 'post_id', 'author_id', 'body']).executeTakeFirstOrThrow());
    } catch (err) {
      // Which foreign key failed: PostgreSQL names the constraint.
      if (code(err) === '23503') throw /post_id/.test(String((err as { constraint?: string }).constraint)) ? new Reply(404, 'no such post') : new Reply(422, 'author_id names no user');
      throw err;
    }
  }
  if (req.method === 'GET' && url.pathname === '/posts') {
    const raw = url.searchParams.get('limit') ?? '20';
    const limit = /^\d{1,3}$/.test(raw) ? Number(raw) : 0;
    if (limit < 1 || limit > 100) throw new Reply(400, 'limit: 1 to 100');
    const rows = await db
      .selectFrom('posts')
      .select((eb) => [
        'posts.id',
        'posts.title',
        author('posts.author_id'),
        eb.selectFrom('comments').select(sql<number>`count(*)::int`.as('n')).whereRef('comments.post_id', '=', 'posts.id').$asScalar().$notNull().as('comment_count'),
      ])
      .orderBy('posts.id', 'desc')
      .limit(limit)
      .execute();
    return send(res, 200, { posts: rows });
  }
  if (req.method === 'GET' && parts.length === 2 && parts[0] === 'posts') {
    const id = pathId(parts[1]);
    const post =
      id === null
        ? undefined
        : await db
            .selectFrom('posts')
            .where('posts.id', '=', id)
            .select((eb) => [
              'posts.id',
              'posts.title',
              'posts.body',
              author('posts.author_id'),
              jsonArrayFrom(eb.selectFrom('comments').select(['comments.id', 'comments.body', author('comments.author_id')]).whereRef('comments.post_id', '=', 'posts.id').orderBy('comments.id')).as('comments'),
            ])
            .executeTakeFirst();
    if (!post) throw new Reply(404, 'no such post');
    return send(res, 200, post);
  }
  throw new Reply(404, 'no such route');
}

const server = createServer((req, res) => {
  route(req, res).catch((err) => {
    if (err instanceof Reply) return send(res, err.status, { error: err.message });
    console.error(err);
    send(res, 500, { error: 'internal error' });
  });
});
server.listen(port, () => console.log(`kysely server on ${port}`));
process.on('SIGTERM', () => server.close(() => void db.destroy().then(() => process.exit(0))));
