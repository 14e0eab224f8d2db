// What the database itself saw: the statements the learner's server ran during a block (pg_stat_statements),
// the plans PostgreSQL picks for a query (EXPLAIN), and the indexes a table has. For labs about data access
// (indexing, N+1 queries...): checks stay black-box, the database is the witness.
//
//   const pg = pgInsight(ctx);                       // ctx: anything with the run's `db` pool
//   const { statements } = await pg.statements(() => ctx.http.get('/orders?customer_id=7'));
//   statements[0]  { query: 'SELECT ... WHERE customer_id = $1', calls: 1, rows: 9, ms: 0.4, blocks: 13, walRecords: 0 }
//   const plan = await pg.plan('SELECT * FROM orders WHERE customer_id = $1', [7]);
//   tableAccess(plan, 'orders')                      [{ kind: 'index', node: 'Index Scan', index: 'orders_customer_id_idx' }]
//
// Whose statements: pg_stat_statements keeps no application_name, only the role (userid) and database (dbid).
// The run's database is the run's own, so dbid scopes to the run; the grader's side of this module connects as
// a role of its own (`labs_grader`, created on first use), whose statements are left out. `ctx.db` connects as
// the same role as the learner's server (the database's owner), so what a check runs through `ctx.db` inside a
// `statements()` block is counted as the learner's: inside the block, use `pg.query()` instead.
//
// Needs the server started with shared_preload_libraries=pg_stat_statements (the grader's container is); a
// server the user runs without it gets an ENVIRONMENT error that says so.
import type { Pool, PoolClient } from 'pg';
import { GraderError } from '../errors.ts';
import { GRADER_APPLICATION_NAME } from './service.ts';
import { loadPg } from './postgres.ts';

/** The role the grader's insight connections use (its statements are not the learner's). */
export const GRADER_ROLE = 'labs_grader';
const GRADER_ROLE_PASSWORD = 'labs_grader';

export interface Statement {
  /** Normalised text (constants replaced by $1, $2...), as pg_stat_statements keeps it. */
  query: string;
  /** Executions during the block. */
  calls: number;
  /** Rows returned or affected during the block. */
  rows: number;
  /** Planning and execution time during the block, ms. */
  ms: number;
  /** Shared buffers touched (hit + read) during the block: the work a plan did, independent of the machine's load. */
  blocks: number;
  /** WAL records written during the block (a row insert is one, plus one per index entry it adds). */
  walRecords: number;
}

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Filter?: string;
  Plans?: PlanNode[];
  [key: string]: unknown;
}

export interface IndexInfo {
  name: string;
  /** pg_get_indexdef: `CREATE INDEX ... ON public.orders USING btree (customer_id)`. */
  definition: string;
  primary: boolean;
  unique: boolean;
  valid: boolean;
  /** The WHERE of a partial index (`(status = 'pending'::text)`), undefined for a full index. */
  predicate?: string;
}

export interface TableAccess {
  kind: 'seq' | 'index' | 'index-only' | 'bitmap' | 'other';
  /** The plan node that reads the table (Seq Scan, Index Scan, Bitmap Heap Scan...). */
  node: string;
  /** The index used (for a bitmap scan, the first of its Bitmap Index Scans). */
  index?: string;
  indexes: string[];
}

export interface PgInsight {
  /** Runs `during` and returns what the learner's connections ran on the run's database meanwhile, most calls first. */
  statements<T>(during: () => Promise<T>): Promise<{ result: T; statements: Statement[] }>;
  /** EXPLAIN (FORMAT JSON) of `sql` with `params` bound (custom plan, as a driver's one-off query gets), as the grader's role. */
  plan(sql: string, params?: unknown[], options?: { analyze?: boolean }): Promise<PlanNode>;
  /** A query as the grader's role (left out of statements()). */
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** The indexes of `table` (valid or not), primary key included. */
  indexes(table: string): Promise<IndexInfo[]>;
}

interface HasDb {
  readonly db: Pool;
}

const insights = new WeakMap<Pool, PgInsight>();

/** The insight helper of a run (one per run's `ctx.db`; its connections end when the run's database is dropped). */
export function pgInsight(ctx: HasDb): PgInsight {
  const db = ctx.db;
  let existing = insights.get(db);
  if (!existing) {
    existing = makeInsight(db);
    insights.set(db, existing);
  }
  return existing;
}

function environment(message: string, cause?: unknown): GraderError {
  return new GraderError('ENVIRONMENT', message, { cause });
}

function makeInsight(db: Pool): PgInsight {
  let ready: Promise<Pool> | undefined;
  const pool = (): Promise<Pool> => {
    ready ??= connect(db);
    ready.catch(() => {
      ready = undefined;
    });
    return ready;
  };

  async function query<R extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    const p = await pool();
    return (await p.query<R>(sql, params)).rows;
  }

  /** The counters of a statement, known by its queryid (its text is read only for those that ran). */
  type Counters = Omit<Statement, 'query'> & { queryid: string };

  async function snapshot(client: PoolClient): Promise<Map<string, Counters>> {
    let rows: Record<string, unknown>[];
    try {
      rows = (
        await client.query(
          // toplevel is PostgreSQL 14+: read through to_jsonb so a 13 server works too.
          // pg_stat_statements(false): the counters without the texts. The texts live in a file shared by every
          // database of the server (thousands of entries on a warm container): reading it costs far more than the
          // counters, so statements() fetches the texts of the few statements that ran, once, afterwards.
          `SELECT s.userid::text || ':' || s.queryid::text || ':' || coalesce(to_jsonb(s) ->> 'toplevel', 'true') AS key, s.queryid::text AS queryid,
                  calls, rows, total_exec_time + total_plan_time AS ms, shared_blks_hit + shared_blks_read AS blocks, wal_records
             FROM pg_stat_statements(false) s
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND userid <> (SELECT oid FROM pg_roles WHERE rolname = $1)`,
          [GRADER_ROLE],
        )
      ).rows;
    } catch (err) {
      throw environment(`Reading pg_stat_statements failed: ${(err as Error).message}. The grader's PostgreSQL container loads it; a server you run needs shared_preload_libraries = 'pg_stat_statements' in postgresql.conf (and a restart).`, err);
    }
    const out = new Map<string, Counters>();
    for (const r of rows) {
      out.set(String(r.key), {
        queryid: String(r.queryid),
        calls: Number(r.calls),
        rows: Number(r.rows),
        ms: Number(r.ms),
        blocks: Number(r.blocks),
        walRecords: Number(r.wal_records),
      });
    }
    return out;
  }

  return {
    query,
    async statements(during) {
      const p = await pool();
      const client = await p.connect();
      try {
        const before = await snapshot(client);
        const result = await during();
        const after = await snapshot(client);
        const ran: Counters[] = [];
        for (const [key, now] of after) {
          const was = before.get(key);
          const calls = now.calls - (was?.calls ?? 0);
          if (calls <= 0) continue;
          ran.push({
            queryid: now.queryid,
            calls,
            rows: now.rows - (was?.rows ?? 0),
            ms: now.ms - (was?.ms ?? 0),
            blocks: now.blocks - (was?.blocks ?? 0),
            walRecords: now.walRecords - (was?.walRecords ?? 0),
          });
        }
        // The texts of the statements that ran, in one read of the texts file (none when nothing ran).
        const textOf = new Map<string, string>();
        if (ran.length > 0) {
          const texts = await client.query<{ queryid: string; query: string }>(
            `SELECT DISTINCT ON (queryid) queryid::text AS queryid, query FROM pg_stat_statements(true)
              WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND queryid::text = ANY($1)`,
            [ran.map((r) => r.queryid)],
          );
          for (const t of texts.rows) textOf.set(t.queryid, t.query);
        }
        const statements: Statement[] = ran.map(({ queryid, ...counters }) => ({ query: textOf.get(queryid) ?? `(statement ${queryid}: its text is no longer kept)`, ...counters }));
        statements.sort((a, b) => b.calls - a.calls || b.blocks - a.blocks);
        return { result, statements };
      } finally {
        client.release();
      }
    },
    async plan(sql, params = [], options = {}) {
      const rows = await query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON${options.analyze ? ', ANALYZE, BUFFERS' : ''}) ${sql}`, params);
      const doc = rows[0]?.['QUERY PLAN'];
      const top = Array.isArray(doc) ? (doc[0] as { Plan?: PlanNode })?.Plan : undefined;
      if (!top) throw new GraderError('INTERNAL', `EXPLAIN returned no plan for: ${sql}`);
      return top;
    },
    async indexes(table) {
      return (
        await query<{ name: string; definition: string; primary: boolean; unique: boolean; valid: boolean; predicate: string | null }>(
          `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition, i.indisprimary AS primary, i.indisunique AS unique,
                  i.indisvalid AS valid, pg_get_expr(i.indpred, i.indrelid) AS predicate
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = to_regclass($1)
            ORDER BY c.relname`,
          [table],
        )
      ).map((r) => ({ name: r.name, definition: r.definition, primary: r.primary, unique: r.unique, valid: r.valid, predicate: r.predicate ?? undefined }));
    },
  };
}

/** The grader's own pool on the run's database, as GRADER_ROLE (created on first use), with pg_stat_statements installed. */
async function connect(db: Pool): Promise<Pool> {
  const url = (db as unknown as { options?: { connectionString?: string } }).options?.connectionString;
  if (!url) throw new GraderError('INTERNAL', 'pgInsight: the run pool has no connection string.');
  try {
    await db.query(`CREATE ROLE ${GRADER_ROLE} LOGIN SUPERUSER PASSWORD '${GRADER_ROLE_PASSWORD}'`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    // 42710: exists already; 23505: another run created it at the same moment.
    if (code !== '42710' && code !== '23505') {
      throw environment(`Statement accounting needs a role of the grader's own (\`${GRADER_ROLE}\`, so its queries are told apart from your server's), and creating it failed: ${(err as Error).message}. Use the grader's PostgreSQL container (unset LABS_DATABASE_URL), or connect as a superuser.`, err);
    }
  }
  const u = new URL(url);
  u.username = GRADER_ROLE;
  u.password = GRADER_ROLE_PASSWORD;
  const pg = await loadPg();
  const pool = new pg.Pool({ connectionString: u.toString(), application_name: GRADER_APPLICATION_NAME, max: 3, connectionTimeoutMillis: 5000, idleTimeoutMillis: 1000, allowExitOnIdle: true });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  try {
    await pool.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== '23505' && code !== '42710') {
      await pool.end().catch(() => {});
      throw environment(`Could not install pg_stat_statements in the run's database: ${(err as Error).message}.`, err);
    }
  }
  return pool;
}

// --- plans -----------------------------------------------------------------------------------------------

/** Every node of a plan, depth first. */
export function planNodes(plan: PlanNode): PlanNode[] {
  const out: PlanNode[] = [];
  const walk = (n: PlanNode) => {
    out.push(n);
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(plan);
  return out;
}

/** How the plan reads `table`: one entry per scan of it (Bitmap Index Scans are folded into their Bitmap Heap Scan). */
export function tableAccess(plan: PlanNode, table: string): TableAccess[] {
  const out: TableAccess[] = [];
  for (const n of planNodes(plan)) {
    if (n['Relation Name'] !== table) continue;
    const type = n['Node Type'];
    if (type === 'Seq Scan') out.push({ kind: 'seq', node: type, indexes: [] });
    else if (type === 'Index Scan') out.push({ kind: 'index', node: type, index: n['Index Name'], indexes: n['Index Name'] ? [n['Index Name']] : [] });
    else if (type === 'Index Only Scan') out.push({ kind: 'index-only', node: type, index: n['Index Name'], indexes: n['Index Name'] ? [n['Index Name']] : [] });
    else if (type === 'Bitmap Heap Scan') {
      const indexes = planNodes(n)
        .filter((c) => c['Node Type'] === 'Bitmap Index Scan' && c['Index Name'])
        .map((c) => c['Index Name'] as string);
      out.push({ kind: 'bitmap', node: type, index: indexes[0], indexes });
    } else out.push({ kind: 'other', node: type, indexes: [] });
  }
  return out;
}

/** True when every read of `table` goes through an index (Index Scan, Index Only Scan, Bitmap Index Scan) and there is at least one. */
export function usesIndexOn(plan: PlanNode, table: string): boolean {
  const access = tableAccess(plan, table);
  return access.length > 0 && access.every((a) => a.kind === 'index' || a.kind === 'index-only' || a.kind === 'bitmap');
}

/** True when the plan reads `table` with a sequential scan anywhere (Parallel Seq Scan included). */
export function seqScanOn(plan: PlanNode, table: string): boolean {
  return tableAccess(plan, table).some((a) => a.kind === 'seq');
}

/** The plan as indented lines (`Limit`, `  Index Scan using orders_created_at_idx on orders`...), for messages. */
export function describePlan(plan: PlanNode): string {
  const lines: string[] = [];
  const walk = (n: PlanNode, depth: number) => {
    const parallel = n['Parallel Aware'] ? 'Parallel ' : '';
    let line = `${'  '.repeat(depth)}${parallel}${n['Node Type']}`;
    if (n['Index Name']) line += ` using ${n['Index Name']}`;
    if (n['Relation Name']) line += ` on ${n['Relation Name']}`;
    if (n['Index Cond']) line += `  Index Cond: ${n['Index Cond']}`;
    if (n.Filter) line += `  Filter: ${n.Filter}`;
    if (n['Sort Key']) line += `  Sort Key: ${(n['Sort Key'] as string[]).join(', ')}`;
    lines.push(line);
    for (const c of n.Plans ?? []) walk(c, depth + 1);
  };
  walk(plan, 0);
  return lines.join('\n');
}

// --- requests that meet in the database -------------------------------------------------------------------
// Checks that release a burst of requests against a table the grader holds locked wait until the requests are
// all there (waiting on the lock) before letting go. Under load they arrive over a while, and a pool smaller
// than the burst holds some back for good: so "all there" is "the count reached what is wanted, or has not
// grown for a while since the first arrived".

/** The server's connections to the run's database that wait on a lock (the grader's own left out). */
export const LOCK_WAITERS_SQL = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND application_name IS DISTINCT FROM '${GRADER_APPLICATION_NAME}'`;

/**
 * Samples a count every `everyMs` until it reaches `want`, or has not grown for `quietMs` since it first rose
 * above 0, or `maxMs` have passed; resolves with the highest count seen.
 */
export async function waitForPeak(sample: () => Promise<number>, o: { want?: number; quietMs: number; maxMs: number; everyMs?: number }): Promise<number> {
  const deadline = performance.now() + o.maxMs;
  let peak = 0;
  let grewAt = performance.now();
  while (performance.now() < deadline && peak < (o.want ?? Infinity) && (peak === 0 || performance.now() - grewAt < o.quietMs)) {
    const n = await sample();
    if (n > peak) {
      peak = n;
      grewAt = performance.now();
    }
    await new Promise((r) => setTimeout(r, o.everyMs ?? 25));
  }
  return peak;
}

/**
 * Requests that must meet in the database: the grader holds `LOCK TABLE <table> IN <mode> MODE` while `burst`
 * starts (ctx.http.simultaneous...), waits until their statements wait on that lock (waitForPeak over
 * LOCK_WAITERS_SQL with `wait`), then commits so that they all go on at once; resolves with the burst's result.
 *
 *   const responses = await burstOnLock(ctx.db, { table: 'todos', mode: 'SHARE' },
 *     () => ctx.http.simultaneous(12, () => ({ path: '/todos', method: 'POST', json })).then((r) => r.responses),
 *     { quietMs: 500, maxMs: 5000 });
 */
export async function burstOnLock<T>(db: Pool, lock: { table: string; mode: string }, burst: () => Promise<T>, wait: { want?: number; quietMs: number; maxMs: number }): Promise<T> {
  const locker = await db.connect();
  const sampler = await db.connect();
  try {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${lock.table} IN ${lock.mode} MODE`);
    const requests = burst();
    requests.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
    await waitForPeak(async () => (await sampler.query<{ n: number }>(LOCK_WAITERS_SQL)).rows[0].n, wait);
    await locker.query('COMMIT');
    return await requests;
  } finally {
    await locker.query('ROLLBACK').catch(() => {});
    locker.release();
    sampler.release();
  }
}
