import {
  ConnectionError, DatabaseError, ForeignKeyViolationError, NotNullViolationError, UniqueViolationError,
} from '../errors';
import type { ErrorKind } from './dialect';

const LABELS: Record<ErrorKind, string> = {
  unique: 'unique constraint violated',
  foreignKey: 'foreign key constraint violated',
  notNull: 'not-null constraint violated',
  connection: 'database connection failed',
  other: 'database error',
};

const CLASSES = {
  unique: UniqueViolationError,
  foreignKey: ForeignKeyViolationError,
  notNull: NotNullViolationError,
  connection: ConnectionError,
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
  const kind: ErrorKind = e.name === 'KnexTimeoutError' ? 'connection' : code ? kindOf(code, text) : 'other';
  const Cls = CLASSES[kind];
  return new Cls(`${LABELS[kind]}: ${text}${code ? ` [${code}]` : ''}`, sql, code, err);
}
