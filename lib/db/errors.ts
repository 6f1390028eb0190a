import {
  ConnectionError, DatabaseError, DeadlockError, ForeignKeyViolationError, LockTimeoutError, NotNullViolationError, QueryTimeoutError, UniqueViolationError,
} from '../errors';
import type { ErrorKind } from './dialect';

const LABELS: Record<ErrorKind, string> = {
  unique: 'unique constraint violated',
  foreignKey: 'foreign key constraint violated',
  notNull: 'not-null constraint violated',
  connection: 'database connection failed',
  timeout: 'query timed out',
  deadlock: 'transaction aborted by the database (deadlock or serialization failure)',
  lockTimeout: 'lock wait timed out',
  other: 'database error',
};

const CLASSES = {
  unique: UniqueViolationError,
  foreignKey: ForeignKeyViolationError,
  notNull: NotNullViolationError,
  connection: ConnectionError,
  timeout: QueryTimeoutError,
  deadlock: DeadlockError,
  lockTimeout: LockTimeoutError,
  other: DatabaseError,
} as const;

/**
 * Wraps a driver error. The message keeps the driver's own words but not the values
 * knex interpolates into its messages; `sql` keeps the statement with placeholders.
 */
export function wrapDriverError(err: unknown, sql: string | undefined, kindOf: (code: string, message: string) => ErrorKind): DatabaseError {
  if (err instanceof DatabaseError) return err;
  const e = (err ?? {}) as { code?: unknown; errno?: unknown; sqlMessage?: unknown; message?: unknown; name?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const raw = typeof e.sqlMessage === 'string' ? e.sqlMessage : String(e.message ?? err);
  // knex prefixes driver messages with the statement and its values: keep the driver's part.
  const text = sql && raw.includes(' - ') ? raw.slice(raw.lastIndexOf(' - ') + 3) : raw;
  // knex raises KnexTimeoutError both for a statement past its timeout and for a pool
  // that gave no connection in time: the first is a timeout, the second a connection error.
  // A transaction knex already ended on its own is one whose connection died under it.
  const kind: ErrorKind = e.name === 'KnexTimeoutError'
    ? (/query timeout/i.test(raw) ? 'timeout' : 'connection')
    : /Transaction query already complete/.test(raw) ? 'connection'
    : code ? kindOf(code, text) : 'other';
  const Cls = CLASSES[kind];
  return new Cls(`${LABELS[kind]}: ${text}${code ? ` [${code}]` : ''}`, sql, code, err);
}
