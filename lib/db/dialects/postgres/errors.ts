import type { DatabaseError } from '../../../errors';
import type { ErrorKind } from '../../dialect';
import { upToFirstQuote, wrapDriverError } from '../../errors';

/**
 * PostgreSQL's errors (SQLSTATE codes, https://www.postgresql.org/docs/current/errcodes-appendix.html)
 * as proxorm's typed errors. pg's error carries the server's `detail`, which quotes the
 * values of the row (`Key (email)=(ann@x) already exists.`): it is never read. The message
 * is kept whole only where its shape names nothing but tables, columns and constraints.
 */
export function translatePostgresError(err: unknown, sql: string | undefined): DatabaseError {
  return wrapDriverError(err, sql, kindOf, cleanMessage);
}

/** Codes of a lost or refused connection: Node's socket errors, and the server's. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);
const CONNECTION_STATES = new Set([
  '57P01', // admin_shutdown: the server (or pg_terminate_backend) ended the session
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
  '53300', // too_many_connections
  '28000', // invalid_authorization_specification
  '28P01', // invalid_password
  '3D000', // invalid_catalog_name: no such database
]);
/** pg's own messages for a connection that ended under it (they carry no code). */
const LOST = /^(Connection terminated|Client has encountered a connection error|Client was closed)/;

function kindOf(code: string, message: string): ErrorKind {
  if (code === '23505') return 'unique';
  if (code === '23503') return 'foreignKey';
  if (code === '23502') return 'notNull';
  // Both abort the whole transaction: serialization_failure, deadlock_detected.
  if (code === '40001' || code === '40P01') return 'deadlock';
  // lock_not_available: lock_timeout, or NOWAIT. The statement fails (and, in a
  // transaction, proxorm's savepoint around it undoes only it).
  if (code === '55P03') return 'lockTimeout';
  // query_canceled: statement_timeout set on the session; a cancel for proxorm's own
  // queryTimeout is knex's KnexTimeoutError, a timeout already (db/errors.ts).
  if (code === '57014') return /statement timeout/.test(message) ? 'timeout' : 'other';
  if (code.startsWith('08') || CONNECTION_STATES.has(code) || SOCKET_CODES.has(code)) return 'connection';
  if (code === '' && LOST.test(message)) return 'connection';
  return 'other';
}

/** Messages whose double-quoted parts are identifiers only, never values: kept whole. */
const NAMES_ONLY: Readonly<Record<string, RegExp>> = {
  '23505': /^duplicate key value violates unique constraint "[^"]*"$/,
  '23503':
    /^(insert or update|update or delete) on table "[^"]*" violates foreign key constraint "[^"]*"( on table "[^"]*")?$/,
  '23502': /^null value in column "[^"]*"( of relation "[^"]*")? violates not-null constraint$/,
  '22001': /^value too long for type [\w ]+(\(\d+\))?$/,
  '42703': /^column "[^"]*"( of relation "[^"]*")? does not exist$|^column [\w.]+ does not exist$/,
  '42P01': /^relation "[^"]*" does not exist$/,
  '25P02': /^current transaction is aborted, commands ignored until end of transaction block$/,
};

function cleanMessage(code: string | undefined, text: string): string {
  if (code && NAMES_ONLY[code]?.test(text)) return text;
  return upToFirstQuote(text);
}
