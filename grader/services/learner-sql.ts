// SQL the grader runs on the run's database (the learner's tables): its rows, or a check failure that shows
// the statement, its parameters and what PostgreSQL said. One place for what every PostgreSQL lab's checks
// need when they read or seed the learner's schema directly.
//
//   const rows = await learnerSql<{ id: string }>(ctx.db, 'SELECT id FROM todos WHERE title = $1', [title], {
//     why: 'The grader reads your table directly.', hint: 'Create the table at startup: todos (id, title...)' });
import type { Pool } from 'pg';
import { CheckFailure } from '../errors.ts';
import { show } from '../expect.ts';

export interface LearnerSqlOptions {
  /** Said first: what the grader was doing, e.g. 'The grader reads your tables directly.' */
  why?: string;
  /** Said right after PostgreSQL's message, e.g. '. The tables `a` and `b` are the grader\'s: never alter them.' */
  after?: string;
  /** The schema the contract asks for, in one sentence. */
  hint?: string;
  /**
   * Only PostgreSQL's own answers (a SQLSTATE) are about the learner's schema; anything else (a lost
   * connection) is rethrown as it is, the grader's problem.
   */
  sqlErrorsOnly?: boolean;
}

export async function learnerSql<T extends Record<string, unknown>>(db: Pool, text: string, params: unknown[] = [], o: LearnerSqlOptions = {}): Promise<T[]> {
  try {
    return (await db.query<T>(text, params)).rows;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (o.sqlErrorsOnly && (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code))) throw err;
    const message = (err as Error).message;
    throw new CheckFailure({
      message: `${o.why ? `${o.why} ` : ''}The grader ran this SQL on the database in DATABASE_URL and PostgreSQL said: ${message}${o.after ?? ''}`,
      expected: `the query to succeed:\n${text}${params.length ? `\nwith ${show(params)}` : ''}`,
      received: `ERROR ${(code as string | undefined) ?? ''} ${message}`,
      ...(o.hint ? { hint: o.hint } : {}),
    });
  }
}
