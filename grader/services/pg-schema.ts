// Schema snapshots: a normalized dump of what the run's database is made of, read from the PostgreSQL catalogs
// (no pg_dump on the learner's machine). Two snapshots compare equal when the schema is the same, whatever
// order things were created in; diffSchemas() says what changed, one line each ("column users.full_name: added").
//
//   const before = await schemaSnapshot(ctx.db);
//   ... run the learner's `migrate down` ...
//   const lines = diffSchemas(before, await schemaSnapshot(ctx.db));   // [] when identical
//
// Kept: tables (and partitioned tables), their columns (type, default, nullability, identity, generated),
// constraints (primary key, unique, foreign key, check, exclusion) by name and definition, indexes by name and
// definition, non-internal triggers, views and materialized views (definition), sequences, enum types (labels)
// and functions (signature and a hash of the body, white space folded), in the schemas given (default `public`).
// Left out: objects that belong to an extension (pg_stat_statements' views...), and the grader's own objects:
// any relation, type or function whose name starts with GRADER_OBJECT_PREFIX (or matches `exclude`).
import { createHash } from 'node:crypto';

/** Objects the grader creates in a learner's schema (a blocker table in a check) start with this. */
export const GRADER_OBJECT_PREFIX = 'labs_grader_';

/** Anything that runs a query: a pg Pool, a PoolClient, a Client. */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/** A pg Pool: something to take one connection from. */
interface HasConnect {
  connect(): Promise<Queryable & { release(): void }>;
}

export interface SchemaColumn {
  /** format_type: `bigint`, `character varying(200)`, `timestamp with time zone`, `text[]`. */
  type: string;
  notNull: boolean;
  /** pg_get_expr of the default, e.g. `now()`, `'draft'::text`; undefined without one. */
  default?: string;
  /** 'always' | 'by default' for identity columns. */
  identity?: 'always' | 'by default';
  /** The expression of a stored generated column. */
  generated?: string;
}

export interface SchemaConstraint {
  name: string;
  /** p primary key, u unique, f foreign key, c check, x exclusion. */
  kind: 'primary key' | 'unique' | 'foreign key' | 'check' | 'exclusion' | 'other';
  /** pg_get_constraintdef, e.g. `FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE`. */
  definition: string;
  /** Columns it covers, in order (conkey). */
  columns: string[];
}

export interface SchemaIndex {
  name: string;
  /** pg_get_indexdef. */
  definition: string;
  unique: boolean;
  primary: boolean;
}

export interface SchemaTable {
  /** schema-qualified only outside `public`: `users`, `audit.events`. */
  name: string;
  partitioned: boolean;
  columns: Record<string, SchemaColumn>;
  constraints: Record<string, SchemaConstraint>;
  indexes: Record<string, SchemaIndex>;
  /** Trigger name -> pg_get_triggerdef. */
  triggers: Record<string, string>;
}

export interface SchemaSnapshot {
  tables: Record<string, SchemaTable>;
  /** View name -> its definition (materialized views prefixed `materialized `). */
  views: Record<string, string>;
  /** Sequence -> the table.column owning it (serial, identity), '' for a free-standing one. */
  sequences: Record<string, string>;
  /** Enum type -> labels in order. */
  enums: Record<string, string[]>;
  /** `name(argtypes)` -> `returns <type>, <language>, body sha256 (12 hex)`. */
  functions: Record<string, string>;
}

export interface SnapshotOptions {
  /** Schemas to read (default ['public']). */
  schemas?: string[];
  /** Leave these out too (by unqualified name), besides GRADER_OBJECT_PREFIX and extension members. */
  exclude?: RegExp | ((name: string) => boolean);
}

const CONSTRAINT_KINDS: Record<string, SchemaConstraint['kind']> = { p: 'primary key', u: 'unique', f: 'foreign key', c: 'check', x: 'exclusion' };

/**
 * Reads the normalized schema of the database `db` is connected to: on one connection (taken from a pool), in one
 * read-only REPEATABLE READ transaction, so every catalog is read as of the same moment.
 */
export async function schemaSnapshot(db: Queryable | (Queryable & HasConnect), options: SnapshotOptions = {}): Promise<SchemaSnapshot> {
  const pooled = 'connect' in db && typeof db.connect === 'function';
  const conn: Queryable & { release?(): void } = pooled ? await (db as HasConnect).connect() : db;
  try {
    await conn.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      return await readSnapshot(conn, options);
    } finally {
      await conn.query('ROLLBACK').catch(() => {});
    }
  } finally {
    if (pooled) conn.release?.();
  }
}

async function readSnapshot(db: Queryable, options: SnapshotOptions): Promise<SchemaSnapshot> {
  const schemas = options.schemas ?? ['public'];
  const excluded = (name: string) =>
    name.startsWith(GRADER_OBJECT_PREFIX) || (options.exclude instanceof RegExp ? options.exclude.test(name) : options.exclude ? options.exclude(name) : false);
  const qualify = (schema: string, name: string) => (schema === 'public' ? name : `${schema}.${name}`);
  // Members of an extension (pg_depend deptype 'e') are the extension's, not the learner's.
  const notExtension = (catalog: string, alias: string) =>
    `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${alias}.oid AND d.deptype = 'e')`;

  const queries: [string, unknown[]][] = [
    [
      `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
              CASE WHEN c.relkind IN ('v','m') THEN pg_get_viewdef(c.oid, true) END AS viewdef,
              CASE WHEN c.relkind = 'S' THEN (
                SELECT oc.relname || '.' || a.attname FROM pg_depend d
                  JOIN pg_class oc ON oc.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                 LIMIT 1) END AS owner
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY($1) AND c.relkind IN ('r','p','v','m','S') AND ${notExtension('pg_class', 'c')}`,
      [schemas],
    ],
    [
      `SELECT a.attrelid::int AS rel, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
              a.attidentity::text AS identity, a.attgenerated::text AS generated, pg_get_expr(ad.adbin, ad.adrelid) AS def
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE n.nspname = ANY($1) AND c.relkind IN ('r','p') AND a.attnum > 0 AND NOT a.attisdropped`,
      [schemas],
    ],
    [
      `SELECT con.conrelid::int AS rel, con.conname AS name, con.contype::text AS kind, pg_get_constraintdef(con.oid, true) AS def,
              ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord) AS cols
         FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
        WHERE n.nspname = ANY($1) AND con.conrelid <> 0`,
      [schemas],
    ],
    [
      `SELECT i.indrelid::int AS rel, ic.relname AS name, pg_get_indexdef(i.indexrelid) AS def, i.indisunique AS uniq, i.indisprimary AS prim
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE n.nspname = ANY($1)`,
      [schemas],
    ],
    [
      `SELECT t.tgrelid::int AS rel, t.tgname AS name, pg_get_triggerdef(t.oid, true) AS def
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY($1) AND NOT t.tgisinternal`,
      [schemas],
    ],
    [
      `SELECT n.nspname AS schema, t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
        WHERE n.nspname = ANY($1) AND ${notExtension('pg_type', 't')}
        GROUP BY n.nspname, t.typname`,
      [schemas],
    ],
    [
      `SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args,
              pg_get_function_result(p.oid) AS result, l.lanname AS lang, p.prosrc AS src
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
        WHERE n.nspname = ANY($1) AND ${notExtension('pg_proc', 'p')}`,
      [schemas],
    ],
  ];
  // One after the other: one connection, one transaction.
  const results: { rows: Record<string, unknown>[] }[] = [];
  for (const [text, params] of queries) results.push(await db.query(text, params));
  const [relations, columns, constraints, indexes, triggers, enums, functions] = results as [
    { rows: Record<string, unknown>[] },
    { rows: Record<string, unknown>[] },
    { rows: Record<string, unknown>[] },
    { rows: Record<string, unknown>[] },
    { rows: Record<string, unknown>[] },
    { rows: Record<string, unknown>[] },
    { rows: Record<string, unknown>[] },
  ];

  const snapshot: SchemaSnapshot = { tables: {}, views: {}, sequences: {}, enums: {}, functions: {} };
  const tableByOid = new Map<number, SchemaTable>();
  for (const r of relations.rows) {
    const name = String(r.name);
    if (excluded(name)) continue;
    const full = qualify(String(r.schema), name);
    const kind = String(r.kind);
    if (kind === 'r' || kind === 'p') {
      const table: SchemaTable = { name: full, partitioned: kind === 'p', columns: {}, constraints: {}, indexes: {}, triggers: {} };
      snapshot.tables[full] = table;
      tableByOid.set(Number(r.oid), table);
    } else if (kind === 'v' || kind === 'm') {
      snapshot.views[full] = `${kind === 'm' ? 'materialized ' : ''}${normalizeSpace(String(r.viewdef ?? ''))}`;
    } else if (kind === 'S') {
      snapshot.sequences[full] = r.owner ? String(r.owner) : '';
    }
  }
  for (const c of columns.rows) {
    const table = tableByOid.get(Number(c.rel));
    if (!table) continue;
    const col: SchemaColumn = { type: String(c.type), notNull: c.notnull === true };
    const identity = String(c.identity ?? '');
    const generated = String(c.generated ?? '');
    if (identity === 'a') col.identity = 'always';
    else if (identity === 'd') col.identity = 'by default';
    if (generated === 's') col.generated = String(c.def ?? '');
    else if (c.def !== null && c.def !== undefined) col.default = String(c.def);
    table.columns[String(c.name)] = col;
  }
  for (const c of constraints.rows) {
    const table = tableByOid.get(Number(c.rel));
    if (!table) continue;
    const name = String(c.name);
    // PostgreSQL 18 also lists NOT NULL as constraints (contype 'n'): nullability is already a column property.
    if (String(c.kind) === 'n') continue;
    table.constraints[name] = { name, kind: CONSTRAINT_KINDS[String(c.kind)] ?? 'other', definition: normalizeSpace(String(c.def)), columns: (c.cols as string[]) ?? [] };
  }
  for (const i of indexes.rows) {
    const table = tableByOid.get(Number(i.rel));
    if (!table) continue;
    const name = String(i.name);
    table.indexes[name] = { name, definition: String(i.def), unique: i.uniq === true, primary: i.prim === true };
  }
  for (const t of triggers.rows) {
    const table = tableByOid.get(Number(t.rel));
    if (!table) continue;
    table.triggers[String(t.name)] = normalizeSpace(String(t.def));
  }
  for (const e of enums.rows) {
    if (excluded(String(e.name))) continue;
    snapshot.enums[qualify(String(e.schema), String(e.name))] = (e.labels as string[]) ?? [];
  }
  for (const f of functions.rows) {
    if (excluded(String(f.name))) continue;
    const body = createHash('sha256').update(normalizeSpace(String(f.src ?? ''))).digest('hex').slice(0, 12);
    snapshot.functions[`${qualify(String(f.schema), String(f.name))}(${String(f.args)})`] = `returns ${String(f.result)}, ${String(f.lang)}, body ${body}`;
  }
  return sortKeys(snapshot);
}

function normalizeSpace(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** The same snapshot with every record's keys sorted (so JSON.stringify of two equal schemas is equal). */
function sortKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortKeys) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    ) as T;
  }
  return value;
}

/** True when both snapshots describe the same schema. */
export function sameSchema(a: SchemaSnapshot, b: SchemaSnapshot): boolean {
  return diffSchemas(a, b).length === 0;
}

function describeColumn(c: SchemaColumn): string {
  return [
    c.type,
    c.notNull ? 'NOT NULL' : 'NULL',
    c.default !== undefined ? `DEFAULT ${c.default}` : '',
    c.identity ? `GENERATED ${c.identity.toUpperCase()} AS IDENTITY` : '',
    c.generated !== undefined ? `GENERATED ALWAYS AS (${c.generated}) STORED` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/**
 * What changed from `before` to `after`, one readable line each, in a stable order:
 * `table posts: added`, `column users.full_name: removed (was text NOT NULL)`,
 * `column users.email: text NULL -> text NOT NULL`, `index posts_user_id_idx: added (CREATE INDEX ...)`.
 * Empty when the schemas are the same.
 */
export function diffSchemas(before: SchemaSnapshot, after: SchemaSnapshot): string[] {
  const out: string[] = [];
  const keyed = <V>(label: string, a: Record<string, V>, b: Record<string, V>, show: (v: V) => string) => {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const x = a[k];
      const y = b[k];
      if (x === undefined) out.push(`${label} ${k}: added (${show(y!)})`);
      else if (y === undefined) out.push(`${label} ${k}: removed (was ${show(x)})`);
      else if (show(x) !== show(y)) out.push(`${label} ${k}: ${show(x)} -> ${show(y)}`);
    }
  };
  const tableNames = [...new Set([...Object.keys(before.tables), ...Object.keys(after.tables)])].sort();
  for (const name of tableNames) {
    const a = before.tables[name];
    const b = after.tables[name];
    if (!a) {
      out.push(`table ${name}: added (columns ${Object.keys(b!.columns).join(', ') || 'none'})`);
      continue;
    }
    if (!b) {
      out.push(`table ${name}: removed`);
      continue;
    }
    if (a.partitioned !== b.partitioned) out.push(`table ${name}: ${a.partitioned ? 'partitioned' : 'plain'} -> ${b.partitioned ? 'partitioned' : 'plain'}`);
    keyed('column', prefixKeys(name, a.columns), prefixKeys(name, b.columns), describeColumn);
    keyed('constraint', prefixKeys(name, a.constraints), prefixKeys(name, b.constraints), (c) => c.definition);
    keyed('index', prefixKeys(name, a.indexes), prefixKeys(name, b.indexes), (i) => i.definition);
    keyed('trigger', prefixKeys(name, a.triggers), prefixKeys(name, b.triggers), (t) => t);
  }
  keyed('view', before.views, after.views, (v) => v);
  keyed('sequence', before.sequences, after.sequences, (owner) => (owner ? `owned by ${owner}` : 'free-standing'));
  keyed('enum', before.enums, after.enums, (labels) => labels.join(', '));
  keyed('function', before.functions, after.functions, (f) => f);
  return out;
}

function prefixKeys<V>(table: string, record: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [`${table}.${k}`, v]));
}

/** A readable listing of a snapshot (for a failure's transcript): one table per block. */
export function describeSchema(s: SchemaSnapshot): string {
  const lines: string[] = [];
  for (const t of Object.values(s.tables)) {
    lines.push(`table ${t.name}${t.partitioned ? ' (partitioned)' : ''}`);
    for (const [n, c] of Object.entries(t.columns)) lines.push(`  ${n} ${describeColumn(c)}`);
    for (const c of Object.values(t.constraints)) lines.push(`  constraint ${c.name} ${c.definition}`);
    for (const i of Object.values(t.indexes)) lines.push(`  index ${i.name}: ${i.definition}`);
    for (const [n, d] of Object.entries(t.triggers)) lines.push(`  trigger ${n}: ${d}`);
  }
  for (const [n, d] of Object.entries(s.views)) lines.push(`view ${n}: ${d}`);
  for (const [n, owner] of Object.entries(s.sequences)) lines.push(`sequence ${n}${owner ? ` (owned by ${owner})` : ''}`);
  for (const [n, l] of Object.entries(s.enums)) lines.push(`enum ${n}: ${l.join(', ')}`);
  for (const [n, d] of Object.entries(s.functions)) lines.push(`function ${n} ${d}`);
  return lines.length ? lines.join('\n') : '(no tables, views, sequences, types or functions)';
}

/**
 * Leaves tables out of a snapshot, with the sequences they own (e.g. the learner's own migration-bookkeeping
 * table, whatever its name).
 */
export function withoutTables(s: SchemaSnapshot, drop: (name: string) => boolean): SchemaSnapshot {
  const tables = Object.fromEntries(Object.entries(s.tables).filter(([n]) => !drop(n)));
  const sequences = Object.fromEntries(Object.entries(s.sequences).filter(([, owner]) => !(owner && drop(owner.slice(0, owner.lastIndexOf('.'))))));
  return { ...s, tables, sequences };
}
