import type { Knex } from 'knex';
import type { FieldDef } from '../model/field-types';
import type { Decoder } from '../model/decode';
import type { DatabaseError } from '../errors';
import type { ForeignKeySpec, TableConstraints } from './constraints';
import type { Pinned } from './pinned';

/**
 * Everything that differs between SQLite and MySQL/MariaDB, and nothing else. The
 * query layer builds SQL through knex and asks the dialect only for these answers.
 */
export interface Dialect {
  readonly name: 'sqlite' | 'mysql';
  /** Canonical JS value (see model/values.ts) -> value bound to the driver. */
  toDb(field: FieldDef, value: unknown): unknown;
  /**
   * How a non-null value read from the driver becomes the canonical JS value (the same a
   * write would cache), validated: UNDECODABLE (model/decode.ts) when the stored value
   * is not one of the field's type. Never throws.
   */
  decoder(field: FieldDef): Decoder;
  /** Ids of rows inserted by one multi-row INSERT, from what knex returned for it. */
  insertedIds(result: unknown[], count: number): number[];
  /**
   * Whether one multi-row INSERT gets consecutive ids on this server (what
   * insertedIds relies on); when false, rows are inserted one per statement.
   */
  readonly consecutiveInsertIds: boolean;
  /** Whether a statement past its timeout can be killed on the server (MySQL: KILL QUERY). */
  readonly canCancel: boolean;
  /** FK constraints are declared in CREATE TABLE (else added by ALTER TABLE once all tables exist). */
  readonly inlineForeignKeys: boolean;
  /** Most rows one INSERT statement may carry. */
  readonly maxInsertRows: number;
  /** Column definition for a field, on a create or alter table builder. */
  addColumn(t: Knex.CreateTableBuilder, field: FieldDef): Knex.ColumnBuilder;
  /** Engine / charset / collation for a new table. */
  tableOptions(t: Knex.CreateTableBuilder): void;
  /**
   * Adds `column IN (values)` to a builder, for any number of values (already converted
   * with toDb), as one statement.
   */
  whereIn(qb: Knex.QueryBuilder, column: string, values: readonly unknown[]): Knex.QueryBuilder;
  /** SQL for a case-insensitive LIKE of `??` (column) against `?` (pattern) with escape `?`. */
  readonly ilikeSql: string;
  /** SQL for a case-sensitive LIKE, same placeholders. */
  readonly likeSql: string;
  /** A driver error -> the typed DatabaseError it stands for. */
  translateError(err: unknown, sql: string | undefined): DatabaseError;

  // ---- schema sync ----------------------------------------------------------------------
  /**
   * Runs `body` on one pinned connection holding the database's schema lock, so that
   * sync() runs from any number of processes run one after the other, each seeing what
   * the previous one made. Waits up to SCHEMA_LOCK_WAIT_SECONDS (then LockTimeoutError).
   */
  withSchemaLock<T>(knex: Knex, body: (db: Pinned) => Promise<T>): Promise<T>;
  /** Indexes (the primary key and unique ones included) and foreign keys of an existing table. */
  readConstraints(db: Pinned, table: string): Promise<TableConstraints>;
  /**
   * Adds foreign keys to an existing table. Rows that break one make it fail with a
   * ForeignKeyViolationError (and, where the lock is a transaction, undo the whole sync).
   */
  addForeignKeys(db: Pinned, table: string, keys: readonly ForeignKeySpec[]): Promise<void>;
}

/** Driver error codes -> error class, per dialect; shared by the translateError of both. */
export type ErrorKind = 'unique' | 'foreignKey' | 'notNull' | 'connection' | 'timeout' | 'deadlock' | 'lockTimeout' | 'other';
