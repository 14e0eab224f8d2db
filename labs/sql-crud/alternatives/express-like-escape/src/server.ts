// Another correct solution, written from README.md: Express 5 routing instead of hand-written node:http,
// a bigint identity (ids travel as JSON strings), ?search= as LIKE with its metacharacters escaped instead
// of strpos(), and an id's shape left to PostgreSQL: "invalid input syntax" (22P02) and "out of range"
// (22003) mean "no such todo", and an id PostgreSQL would coerce (' 7', '+7', '007') names none either.
import express, { type NextFunction, type Request, type Response } from 'express';
import pg from 'pg';

const port = Number(process.env.PORT ?? 3000);
if (!process.env.DATABASE_URL) {
  console.error('DATABASE_URL is not set: the server needs a PostgreSQL database.');
  process.exit(1);
}
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
pool.on('error', (err) => console.error('idle database client error:', err.message));

await pool.query(`
  CREATE TABLE IF NOT EXISTS todos (
    id        bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title     text    NOT NULL UNIQUE,
    completed boolean NOT NULL DEFAULT false
  )`);

interface Row {
  id: string; // pg hands bigint over as a string; the README allows the id as a JSON string
  title: string;
  completed: boolean;
}

const COLUMNS = 'id, title, completed';
const sqlState = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;
const fail = (res: Response, status: number, error: string) => void res.status(status).json({ error });

/** `text` as a LIKE pattern that matches it literally: \, % and _ escaped with the escape character \. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, '\\$&')}%`;

const app = express();
app.disable('x-powered-by');
app.use(express.json());

app.post('/todos', async (req: Request, res: Response) => {
  const body: unknown = req.body;
  const { title, completed } = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  if (typeof title !== 'string' || title === '') return fail(res, 400, '`title` must be a non-empty string.');
  if (completed !== undefined && typeof completed !== 'boolean') return fail(res, 400, '`completed` must be true or false.');
  try {
    const { rows } = await pool.query<Row>(`INSERT INTO todos (title, completed) VALUES ($1, $2) RETURNING ${COLUMNS}`, [title, completed ?? false]);
    res.status(201).location(`/todos/${rows[0].id}`).json(rows[0]);
  } catch (err) {
    if (sqlState(err) === '23505') return fail(res, 409, 'A todo with this title already exists.');
    // 22021: a NUL character, which PostgreSQL text cannot hold: the client's title, not the server's fault.
    if (sqlState(err) === '22021') return fail(res, 400, '`title` contains a character PostgreSQL text cannot store.');
    throw err;
  }
});

app.get('/todos', async (req: Request, res: Response) => {
  const search = req.query.search;
  if (search === undefined) {
    const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM todos ORDER BY id`);
    return res.json(rows);
  }
  if (typeof search !== 'string') return fail(res, 400, 'Give `search` once, as text.');
  const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM todos WHERE title LIKE $1 ESCAPE '\\' ORDER BY id`, [containing(search)]);
  res.json(rows);
});

app.get('/todos/:id', async (req: Request, res: Response) => {
  const id = req.params.id as string;
  let row: Row | undefined;
  try {
    row = (await pool.query<Row>(`SELECT ${COLUMNS} FROM todos WHERE id = $1`, [id])).rows[0];
  } catch (err) {
    if (sqlState(err) !== '22P02' && sqlState(err) !== '22003') throw err;
  }
  // PostgreSQL reads ' 7', '+7' or '007' as 7; only the id as the server writes it names todo 7.
  if (!row || row.id !== id) return fail(res, 404, `No todo has the id ${JSON.stringify(id)}.`);
  res.json(row);
});

app.use((_req: Request, res: Response) => fail(res, 404, 'Not found.'));

// Express hands over what threw, including its own client errors (malformed JSON: 400; a path parameter
// with a bad escape such as /todos/%zz: 400; a body too large: 413): those keep their 4xx.
app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return fail(res, status, (err as Error).message);
  console.error(err);
  fail(res, 500, 'Internal server error.');
});

const server = app.listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));

process.once('SIGTERM', () => {
  server.close(() => void pool.end().finally(() => process.exit(0)));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 3000).unref();
});
