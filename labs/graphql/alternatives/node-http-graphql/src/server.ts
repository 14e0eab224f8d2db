// The graphql lab without graphql-http or DataLoader: a code-first schema (GraphQLObjectType), graphql-js's
// parse/validate/execute on node:http, and a small batcher of its own (keys collected until the microtask queue
// drains, then one query). Written from README.md alone.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  execute,
  getOperationAST,
  GraphQLError,
  GraphQLID,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  Kind,
  parse,
  specifiedRules,
  validate,
  type ASTVisitor,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import pg from 'pg';

const port = Number(process.env.PORT ?? 3000);
const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 8 });

// --- batching ------------------------------------------------------------------------------------------------

/** Collects the keys asked for while the current tick runs, then resolves them all with one call of `load`. */
class Batcher<V> {
  private pending = new Map<string, { resolve: (v: V) => void; reject: (e: unknown) => void }[]>();
  private scheduled = false;
  constructor(private readonly load: (keys: string[]) => Promise<Map<string, V>>, private readonly missing: V) {}

  get(key: string): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      const waiting = this.pending.get(key);
      if (waiting) waiting.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate: after every resolver of this level has queued its key (they run in microtasks).
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    try {
      const found = await this.load([...batch.keys()]);
      for (const [key, waiters] of batch) for (const w of waiters) w.resolve(found.get(key) ?? this.missing);
    } catch (err) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
    }
  }
}

interface Author {
  id: string;
  name: string;
}
interface Book {
  id: string;
  author_id: string;
  title: string;
  year: number | null;
}

interface Ctx {
  author: Batcher<Author | null>;
  books: Batcher<Book[]>;
}

function newContext(): Ctx {
  return {
    author: new Batcher(async (ids) => {
      const { rows } = await db.query<Author>('SELECT id::text AS id, name FROM authors WHERE id = ANY($1::bigint[])', [ids]);
      return new Map(rows.map((r) => [r.id, r]));
    }, null),
    books: new Batcher(async (ids) => {
      const { rows } = await db.query<Book>('SELECT id::text AS id, author_id::text AS author_id, title, year FROM books WHERE author_id = ANY($1::bigint[]) ORDER BY books.id', [ids]);
      const out = new Map<string, Book[]>();
      for (const r of rows) out.set(r.author_id, [...(out.get(r.author_id) ?? []), r]);
      return out;
    }, []),
  };
}

// --- schema ----------------------------------------------------------------------------------------------------

/** Decimal digits of a positive bigint, or nothing. */
function idOf(raw: string): string | null {
  if (!/^[1-9]\d*$/.test(raw) || raw.length > 19 || BigInt(raw) > 9223372036854775807n) return null;
  return raw;
}

function limit(first: number): number {
  if (!(first >= 1 && first <= 100)) throw new GraphQLError(`"first" must be from 1 to 100 (got ${first})`);
  return first;
}

const AuthorType: GraphQLObjectType = new GraphQLObjectType<Author, Ctx>({
  name: 'Author',
  fields: () => ({
    id: { type: new GraphQLNonNull(GraphQLID) },
    name: { type: new GraphQLNonNull(GraphQLString) },
    books: {
      type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(BookType))),
      resolve: (author, _args, ctx) => ctx.books.get(author.id),
    },
  }),
});

const BookType: GraphQLObjectType = new GraphQLObjectType<Book, Ctx>({
  name: 'Book',
  fields: () => ({
    id: { type: new GraphQLNonNull(GraphQLID) },
    title: { type: new GraphQLNonNull(GraphQLString) },
    year: { type: GraphQLInt },
    author: {
      type: new GraphQLNonNull(AuthorType),
      resolve: (book, _args, ctx) => ctx.author.get(book.author_id),
    },
  }),
});

const schema = new GraphQLSchema({
  query: new GraphQLObjectType<unknown, Ctx>({
    name: 'Query',
    fields: {
      author: {
        type: AuthorType,
        args: { id: { type: new GraphQLNonNull(GraphQLID) } },
        resolve: (_root, args: { id: string }, ctx) => {
          const id = idOf(args.id);
          return id === null ? null : ctx.author.get(id);
        },
      },
      authors: {
        type: new GraphQLList(new GraphQLNonNull(AuthorType)),
        args: { first: { type: GraphQLInt, defaultValue: 20 } },
        resolve: async (_root, args: { first: number }) =>
          (await db.query<Author>('SELECT id::text AS id, name FROM authors ORDER BY name, authors.id LIMIT $1', [limit(args.first)])).rows,
      },
      books: {
        type: new GraphQLList(new GraphQLNonNull(BookType)),
        args: { first: { type: GraphQLInt, defaultValue: 20 } },
        resolve: async (_root, args: { first: number }) =>
          (await db.query<Book>('SELECT id::text AS id, author_id::text AS author_id, title, year FROM books ORDER BY books.id DESC LIMIT $1', [limit(args.first)])).rows,
      },
    },
  }),
  mutation: new GraphQLObjectType<unknown, Ctx>({
    name: 'Mutation',
    fields: {
      addBook: {
        type: BookType,
        args: { authorId: { type: new GraphQLNonNull(GraphQLID) }, title: { type: new GraphQLNonNull(GraphQLString) }, year: { type: GraphQLInt } },
        resolve: async (_root, args: { authorId: string; title: string; year?: number | null }) => {
          if (/^\s*$/u.test(args.title)) throw new GraphQLError('title must not be empty');
          const authorId = idOf(args.authorId);
          const exists = authorId && (await db.query('SELECT 1 FROM authors WHERE id = $1', [authorId])).rowCount;
          if (!exists) throw new GraphQLError(`author ${args.authorId} does not exist`);
          const { rows } = await db.query<Book>(
            'INSERT INTO books (author_id, title, year) VALUES ($1, $2, $3) RETURNING id::text AS id, author_id::text AS author_id, title, year',
            [authorId, args.title, args.year ?? null],
          );
          return rows[0];
        },
      },
    },
  }),
});

// --- depth limit -------------------------------------------------------------------------------------------------

const MAX_DEPTH = 10;

function depthRule(context: ValidationContext): ASTVisitor {
  const doc = context.getDocument();
  const fragment = (name: string) => doc.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === name);
  const measure = (set: SelectionSetNode, depth: number, visiting: string[]): number => {
    let max = depth;
    for (const s of set.selections) {
      if (max > MAX_DEPTH) break;
      if (s.kind === Kind.FIELD) max = Math.max(max, s.selectionSet ? measure(s.selectionSet, depth + 1, visiting) : depth + 1);
      else if (s.kind === Kind.INLINE_FRAGMENT) max = Math.max(max, measure(s.selectionSet, depth, visiting));
      else if (!visiting.includes(s.name.value)) {
        const f = fragment(s.name.value);
        if (f && f.kind === Kind.FRAGMENT_DEFINITION) max = Math.max(max, measure(f.selectionSet, depth, [...visiting, s.name.value]));
      }
    }
    return max;
  };
  return {
    OperationDefinition(op) {
      const depth = measure(op.selectionSet, 0, []);
      if (depth > MAX_DEPTH) context.reportError(new GraphQLError(`query is too deep: depth over ${MAX_DEPTH} is not allowed`, { nodes: op }));
    },
  };
}

// --- HTTP ----------------------------------------------------------------------------------------------------------

const GQL_JSON = 'application/graphql-response+json';

function pickType(accept: string | undefined): string | null {
  if (!accept) return 'application/json';
  for (const part of accept.split(',')) {
    const t = part.split(';')[0].trim().toLowerCase();
    if (t === GQL_JSON) return GQL_JSON;
    if (t === 'application/json' || t === '*/*' || t === 'application/*') return 'application/json';
  }
  return null;
}

function format(e: GraphQLError): GraphQLFormattedError {
  const internal = e.originalError && !(e.originalError instanceof GraphQLError);
  if (internal) console.error('[graphql] internal error', e.path, e.originalError);
  const out: { message: string; locations?: unknown; path?: unknown } = { message: internal ? 'Internal server error' : e.message };
  if (e.locations) out.locations = e.locations;
  if (e.path) out.path = e.path;
  return out as GraphQLFormattedError;
}

function reply(res: ServerResponse, status: number, type: string, payload: unknown, extra: Record<string, string> = {}) {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'Content-Type': `${type}; charset=utf-8`, 'Content-Length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

async function body(req: IncomingMessage): Promise<string> {
  let s = '';
  req.setEncoding('utf8');
  for await (const chunk of req) s += chunk;
  return s;
}

async function serve(req: IncomingMessage, res: ServerResponse, url: URL) {
  if (req.method !== 'GET' && req.method !== 'POST') return reply(res, 405, 'application/json', { errors: [{ message: 'method not allowed' }] }, { Allow: 'GET, POST' });
  const type = pickType(req.headers.accept);
  if (type === null) return reply(res, 406, 'application/json', { errors: [{ message: 'not acceptable' }] });

  let query: unknown;
  let variables: unknown;
  let operationName: unknown;
  if (req.method === 'POST') {
    const ct = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (ct !== 'application/json') return reply(res, 415, 'application/json', { errors: [{ message: 'expected application/json' }] });
    let parsed: any;
    try {
      parsed = JSON.parse(await body(req));
    } catch {
      return reply(res, 400, type, { errors: [{ message: 'body is not valid JSON' }] });
    }
    if (!parsed || typeof parsed !== 'object') return reply(res, 400, type, { errors: [{ message: 'body must be an object' }] });
    ({ query, variables, operationName } = parsed);
  } else {
    query = url.searchParams.get('query');
    operationName = url.searchParams.get('operationName') ?? undefined;
    const v = url.searchParams.get('variables');
    try {
      variables = v ? JSON.parse(v) : undefined;
    } catch {
      return reply(res, 400, type, { errors: [{ message: 'variables is not valid JSON' }] });
    }
  }
  if (typeof query !== 'string' || query === '') return reply(res, 400, type, { errors: [{ message: 'missing query' }] });
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) return reply(res, 400, type, { errors: [{ message: 'variables must be an object' }] });
  if (operationName != null && typeof operationName !== 'string') return reply(res, 400, type, { errors: [{ message: 'operationName must be a string' }] });

  const failed = (errors: readonly GraphQLError[]) => reply(res, type === GQL_JSON ? 400 : 200, type, { errors: errors.map(format) });
  let doc: DocumentNode;
  try {
    doc = parse(query);
  } catch (e) {
    return failed([e as GraphQLError]);
  }
  const problems = validate(schema, doc, [...specifiedRules, depthRule]);
  if (problems.length > 0) return failed(problems);
  const op = getOperationAST(doc, (operationName as string | undefined) ?? undefined);
  if (!op) return failed([new GraphQLError('unknown or ambiguous operation: set operationName')]);
  if (req.method === 'GET' && op.operation !== 'query') return reply(res, 405, type, { errors: [{ message: `${op.operation}s need POST` }] }, { Allow: 'POST' });

  const result = (await execute({
    schema,
    document: doc,
    variableValues: variables as Record<string, unknown> | undefined,
    operationName: operationName as string | undefined,
    contextValue: newContext(),
  })) as ExecutionResult;
  if (result.data === undefined) return failed(result.errors ?? []);
  const out: Record<string, unknown> = { data: result.data };
  if (result.errors?.length) out.errors = result.errors.map(format);
  reply(res, 200, type, out);
}

createServer((req, res) => {
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://x');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const url = requestUrl;
  if (url.pathname !== '/graphql') return reply(res, 404, 'application/json', { error: 'no such route' });
  serve(req, res, url).catch((err) => {
    console.error(err);
    if (!res.headersSent) reply(res, 500, 'application/json', { errors: [{ message: 'Internal server error' }] });
  });
}).listen(port, '0.0.0.0', () => console.log(`graphql on :${port}`));
