import pg from 'pg';

// The grader gives you a PostgreSQL database in DATABASE_URL that already holds `authors` and `books` (see
// README.md). Your server reads and writes them; it creates nothing.
export const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

export interface AuthorRow {
  id: string;
  name: string;
}

export interface BookRow {
  id: string;
  author_id: string;
  title: string;
  year: number | null;
}
