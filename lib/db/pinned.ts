import type { Knex } from 'knex';
import { traceBuilder, tracing, type StatementOrigin } from './trace';

/**
 * Statements on one connection taken from the pool, for work that must stay on one
 * session: a lock that belongs to the session (MySQL's GET_LOCK) or a transaction begun
 * by hand (SQLite's BEGIN IMMEDIATE, which knex's transaction() cannot send). While it is
 * held, other statements of the same pool wait for another connection (with SQLite's pool
 * of one, until it is released).
 */
export interface Pinned {
  schema(): Knex.SchemaBuilder;
  table(name: string): Knex.QueryBuilder;
  /** Without bindings, the SQL is sent as is (a `?` in it is not a placeholder). */
  raw(sql: string, bindings?: readonly Knex.RawBinding[]): Knex.Raw;
}

/** How long sync() waits for another process's schema lock before a LockTimeoutError. */
export const SCHEMA_LOCK_WAIT_SECONDS = 60;

/** knex's pool, which its typings leave untyped. */
interface ConnectionPool {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): unknown;
}

/**
 * Runs `body` on one connection of `knex`'s pool, and gives the connection back after.
 * With an `origin` that somebody listens to, its statements are traced ('schema').
 */
export async function withPinnedConnection<T>(
  knex: Knex,
  origin: StatementOrigin | undefined,
  body: (db: Pinned) => Promise<T>,
): Promise<T> {
  const pool = knex.client as ConnectionPool;
  const connection = await pool.acquireConnection();
  const traced = origin && tracing(origin) ? <B extends object>(b: B) => traceBuilder(b, origin) : <B>(b: B) => b;
  try {
    return await body({
      schema: () => traced(knex.schema.connection(connection)),
      table: (name) => traced(knex(name).connection(connection)),
      raw: (sql, bindings) => traced((bindings ? knex.raw(sql, bindings) : knex.raw(sql)).connection(connection)),
    });
  } finally {
    await pool.releaseConnection(connection);
  }
}
