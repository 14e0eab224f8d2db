import { buildSchema, GraphQLError, type GraphQLFieldResolver, type GraphQLFormattedError, type GraphQLObjectType } from 'graphql';
import { pool, type AuthorRow, type BookRow } from './db.ts';
import { makeLoaders, type Loaders } from './loaders.ts';

// The schema of README.md, "The schema". `email` is in the table, never in the schema.
export const schema = buildSchema(`
  type Query {
    author(id: ID!): Author
    authors(first: Int = 20): [Author!]
    books(first: Int = 20): [Book!]
  }

  type Mutation {
    addBook(authorId: ID!, title: String!, year: Int): Book
  }

  type Author {
    id: ID!
    name: String!
    books: [Book!]!
  }

  type Book {
    id: ID!
    title: String!
    year: Int
    author: Author!
  }
`);

export type Context = {
  loaders: Loaders;
};

/** A fresh context per request: its own loaders. */
export const contextFor = (): Context => ({ loaders: makeLoaders() });

/** An id is the decimal digits of a bigint; anything else names no row (and never reaches SQL as anything but data). */
const BIGINT_MAX = 9223372036854775807n;
function rowId(id: string): string | undefined {
  if (!/^[1-9][0-9]{0,18}$/.test(id)) return undefined;
  return BigInt(id) <= BIGINT_MAX ? id : undefined;
}

function firstOf(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > 100) throw new GraphQLError(`Argument "first" must be between 1 and 100, got ${first}.`);
  return first;
}

type Resolver = GraphQLFieldResolver<any, Context, any>;

const resolvers: Record<string, Record<string, Resolver>> = {
  Query: {
    author: (_, { id }: { id: string }, ctx) => {
      const key = rowId(id);
      return key ? ctx.loaders.authorById.load(key) : null;
    },
    authors: async (_, { first }: { first: number }) =>
      (await pool.query<AuthorRow>('SELECT id, name FROM authors ORDER BY name, id LIMIT $1', [firstOf(first)])).rows,
    books: async (_, { first }: { first: number }) =>
      (await pool.query<BookRow>('SELECT id, author_id, title, year FROM books ORDER BY id DESC LIMIT $1', [firstOf(first)])).rows,
  },
  Mutation: {
    addBook: async (_, { authorId, title, year }: { authorId: string; title: string; year?: number | null }) => {
      if (title.trim() === '' || [...title].length > 200) throw new GraphQLError('Argument "title" must have 1 to 200 characters, not only white space.');
      const key = rowId(authorId);
      if (!key) throw new GraphQLError(`No author has id "${authorId}".`);
      try {
        const { rows } = await pool.query<BookRow>(
          'INSERT INTO books (author_id, title, year) VALUES ($1, $2, $3) RETURNING id, author_id, title, year',
          [key, title, year ?? null],
        );
        return rows[0];
      } catch (err) {
        // 23503: foreign key violation, the author does not exist.
        if ((err as { code?: string }).code === '23503') throw new GraphQLError(`No author has id "${authorId}".`);
        throw err;
      }
    },
  },
  Author: {
    id: (a: AuthorRow) => String(a.id),
    books: (a: AuthorRow, _args, ctx) => ctx.loaders.booksByAuthor.load(String(a.id)),
  },
  Book: {
    id: (b: BookRow) => String(b.id),
    author: async (b: BookRow, _args, ctx) => {
      const author = await ctx.loaders.authorById.load(String(b.author_id));
      if (!author) throw new Error(`book ${b.id} has no author ${b.author_id}`);
      return author;
    },
  },
};

for (const [typeName, fields] of Object.entries(resolvers)) {
  const type = schema.getType(typeName) as GraphQLObjectType;
  for (const [fieldName, resolve] of Object.entries(fields)) type.getFields()[fieldName].resolve = resolve;
}

/**
 * What the client sees of an error. Errors we raised on purpose (GraphQLError: bad arguments, validation) keep
 * their message; anything else (a database error, a bug) becomes "Internal server error", logged here with its
 * details, never sent: no SQL, no driver message, no stack trace.
 */
export function formatError(err: GraphQLError): GraphQLFormattedError {
  const original = err.originalError;
  if (original && !(original instanceof GraphQLError)) {
    console.error('resolver failed:', original);
    return { message: 'Internal server error', locations: err.locations, path: err.path };
  }
  return { message: err.message, locations: err.locations, path: err.path };
}
