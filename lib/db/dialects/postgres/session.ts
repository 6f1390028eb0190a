/**
 * Settings every pooled PostgreSQL session gets before its first statement, whatever the
 * server gives new sessions (postgresql.conf, `ALTER DATABASE ... SET`, `ALTER ROLE ... SET`,
 * a connection's `options`): the decoders (types.ts, dialect.ts) rely on them.
 *
 * - DateStyle ISO: pg parses timestamptz text in ISO form only; another style ('German',
 *   'SQL', 'Postgres') reads as null, a stored date silently lost. MDY only orders
 *   ambiguous input, which proxorm never sends (it binds ISO 8601).
 * - extra_float_digits 3: below 1 a double is written rounded to 15 significant digits
 *   (0.1 + 0.2 reads back as 0.3, not what the cache holds); from 1 up PostgreSQL 12 and
 *   later write the shortest text that reads back exactly, and older servers 17 digits.
 *
 * One round trip when the pool creates a connection; statements sent later through
 * env.knex that change these settings are the caller's own.
 */
export const SESSION_SETTINGS = "SET DateStyle = 'ISO, MDY'; SET extra_float_digits = 3";

/** What the settings need of a pg client: its callback-style query. */
interface PgClient {
  query(text: string, callback: (err: Error | null) => void): unknown;
}

/** Applies SESSION_SETTINGS to a new connection, then calls `next` (knex's afterCreate chain). */
export function applySessionSettings(connection: PgClient, next: (err: Error | null) => void): void {
  connection.query(SESSION_SETTINGS, next);
}
