import {
  ConnectionError,
  DatabaseError,
  DeadlockError,
  ForeignKeyViolationError,
  LockTimeoutError,
  NotNullViolationError,
  QueryTimeoutError,
  UniqueViolationError,
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
 * What a DatabaseError keeps of the driver's error, as its `cause`: identifiers and the
 * driver's message with the values taken out. Never the driver's error itself: knex
 * writes the statement into its message, mysql2 keeps it with the values inlined in
 * `sql`, and MySQL quotes values in some messages (`Duplicate entry '...' for key`).
 */
export interface DriverErrorInfo {
  /** The driver's error class, e.g. SqliteError. */
  readonly name: string;
  readonly code?: string;
  readonly errno?: number;
  readonly sqlState?: string;
  /** The driver's message, value-free (see the dialect's cleanMessage). */
  readonly message: string;
}

/**
 * Keeps a driver message up to its first quoted literal: what a message quotes may be a
 * value (MySQL's "near '...'"). The fallback of the dialects' cleanMessage for the
 * messages they do not know.
 */
export function upToFirstQuote(text: string): string {
  const cut = text.search(/['"]/);
  return cut < 0 ? text : `${text.slice(0, cut).trimEnd()} ...`;
}

/**
 * Wraps a driver error into the typed DatabaseError it stands for. Nothing of it may
 * hold a bound value: the message keeps the driver's words as `cleanMessage` (one per
 * dialect) leaves them, `sql` the statement with placeholders, `cause` a DriverErrorInfo.
 */
export function wrapDriverError(
  err: unknown,
  sql: string | undefined,
  /** The kind of a driver error from its code ('' when it has none) and message. */
  kindOf: (code: string, message: string) => ErrorKind,
  cleanMessage: (code: string | undefined, text: string) => string,
): DatabaseError {
  if (err instanceof DatabaseError) return err;
  const e = (err ?? {}) as {
    code?: unknown;
    errno?: unknown;
    sqlState?: unknown;
    sqlMessage?: unknown;
    message?: unknown;
    name?: unknown;
  };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const raw = typeof e.sqlMessage === 'string' ? e.sqlMessage : String(e.message ?? err);
  const text = typeof e.sqlMessage === 'string' ? raw : withoutStatement(raw, sql);
  // knex raises KnexTimeoutError both for a statement past its timeout and for a pool
  // that gave no connection in time: the first is a timeout, the second a connection error.
  // A transaction knex already ended on its own is one whose connection died under it.
  const kind: ErrorKind =
    e.name === 'KnexTimeoutError'
      ? /query timeout/i.test(raw)
        ? 'timeout'
        : 'connection'
      : /Transaction query already complete/.test(raw)
        ? 'connection'
        : kindOf(code ?? '', text);
  const clean = cleanMessage(code, text);
  const cause: DriverErrorInfo = Object.freeze({
    name: typeof e.name === 'string' ? e.name : 'Error',
    ...(code !== undefined && { code }),
    ...(typeof e.errno === 'number' && { errno: e.errno }),
    ...(typeof e.sqlState === 'string' && { sqlState: e.sqlState }),
    message: clean,
  });
  const Cls = CLASSES[kind];
  return new Cls(`${LABELS[kind]}: ${clean}${code ? ` [${code}]` : ''}`, sql, code, cause);
}

/**
 * The driver's part of a message knex prefixed with "<statement> - " (the statement
 * with placeholders: the dialects set compileSqlOnError: false so that knex never
 * writes values there).
 */
function withoutStatement(message: string, sql: string | undefined): string {
  if (sql && message.startsWith(`${sql} - `)) return message.slice(sql.length + 3);
  return sql && message.includes(' - ') ? message.slice(message.lastIndexOf(' - ') + 3) : message;
}
