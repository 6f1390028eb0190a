import type { Knex } from 'knex';
import { registerLikeFunctions } from './like';

/** The npm package that drives SQLite (a dependency of proxorm: the embedded default), and knex's client name. */
export const SQLITE_DRIVER = 'better-sqlite3';

/** knex configuration for a SQLite file (or ':memory:'). */
export function sqliteKnexConfig(filename: string): Knex.Config {
  return {
    client: SQLITE_DRIVER,
    connection: { filename },
    useNullAsDefault: true,
    // Error messages carry the statement with placeholders, not with the values bound.
    compileSqlOnError: false,
    // One connection: an in-memory database exists once per connection, and SQLite
    // has a single writer anyway.
    pool: {
      min: 1,
      max: 1,
      afterCreate(
        conn: { pragma(s: string): unknown } & Parameters<typeof registerLikeFunctions>[0],
        done: (err: Error | null, conn: unknown) => void,
      ) {
        try {
          conn.pragma('foreign_keys = ON');
          registerLikeFunctions(conn);
          done(null, conn);
        } catch (e) {
          done(e as Error, conn);
        }
      },
    },
  };
}
