/**
 * Every failure a caller can cause has its own class under `ProxormError`, so callers
 * can `catch (e) { if (e instanceof ValidationError) ... }` without parsing messages.
 */
export class ProxormError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A malformed domain, unknown field or operator, or a value of the wrong type in a domain. */
export class DomainError extends ProxormError {}

/** Values given to create/write (or search options) that the schema rejects. */
export class ValidationError extends ProxormError {}

/** A single-record operation on a recordset of zero or several records. */
export class SingletonError extends ProxormError {}

/** A record that does not exist (any more) in the database. */
export class MissingError extends ProxormError {
  /**
   * Integer keys are named in the message; string keys (data, which messages never
   * carry) only counted: they are in `ids`.
   */
  constructor(
    readonly model: string,
    readonly ids: readonly (number | string)[],
  ) {
    super(
      `${model}: ${ids.some((id) => typeof id === 'string') ? `${ids.length} record(s)` : `record(s) ${ids.join(', ')}`} do not exist (deleted or never created)`,
    );
  }
}

/** Wrong use of `@Model` / `@Field`, found when the class is decorated or registered. */
export class SchemaError extends ProxormError {}

/** Misuse of an Environment: no default one, used after close(), ... */
export class EnvironmentError extends ProxormError {}

/**
 * A statement sent from a transaction's async context after that transaction ended
 * (committed or rolled back): it is refused rather than run in autocommit.
 */
export class TransactionEndedError extends EnvironmentError {}

/**
 * A value stored in the database (written by another program) that does not decode as
 * the field's type. Only the reads of that one cell fail; the message names the model,
 * field and key, never the stored value.
 */
export class DataError extends ProxormError {
  constructor(
    readonly model: string,
    readonly field: string,
    readonly key: number | string,
    detail: string,
  ) {
    // A string key is data: named only by `key`, not in the message.
    super(
      `${model}.${field} of ${typeof key === 'number' ? `record ${key}` : 'a record (see .key)'}: the stored value is not a valid ${detail}`,
    );
  }
}

/**
 * A statement the database refused. `sql` is the statement (placeholders, never
 * values); `code` the driver's error code (e.g. SQLITE_CONSTRAINT_UNIQUE, ER_DUP_ENTRY);
 * `cause` what is kept of the driver's error (DriverErrorInfo, db/errors.ts). No part
 * of it holds a value bound to the statement.
 */
export class DatabaseError extends ProxormError {
  constructor(
    message: string,
    readonly sql: string | undefined,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

/** A UNIQUE constraint was violated. */
export class UniqueViolationError extends DatabaseError {}
/** A foreign key constraint was violated (e.g. deleting a record still referenced). */
export class ForeignKeyViolationError extends DatabaseError {}
/** A NOT NULL constraint was violated. */
export class NotNullViolationError extends DatabaseError {}
/** The database could not be reached or the connection was lost. */
export class ConnectionError extends DatabaseError {}
/** A statement ran longer than the Environment's `queryTimeout` and was cancelled. */
export class QueryTimeoutError extends DatabaseError {}
/**
 * The database aborted the whole transaction (a deadlock, or a serialization failure):
 * nothing of it is committed, every later statement of it fails with this error, and
 * `transaction()` rejects with it. `env.transaction(fn, { retries })` retries on it.
 */
export class DeadlockError extends DatabaseError {}
/**
 * A statement waited too long for a lock held by another connection or process
 * (MariaDB's lock wait timeout, SQLite's SQLITE_BUSY). Only that statement failed: an
 * enclosing transaction is still alive.
 */
export class LockTimeoutError extends DatabaseError {}
