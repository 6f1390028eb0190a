import type { Knex } from 'knex';
import type { FieldDef } from '../model/field-types';
import type { Key, PrimaryKeyDef } from '../model/keys';
import type { Decoder } from '../model/decode';
import type { DatabaseError } from '../errors';
import type { DeleteRule, ForeignKeySpec, TableConstraints } from './constraints';
import type { Database } from './database';
import type { Pinned } from './pinned';
import type { StatementOrigin } from './trace';

/** A database's dialect, as `env.dialect` reports it: 'mysql' covers MySQL and MariaDB. */
export type DialectName = 'sqlite' | 'mysql' | 'postgres';

/**
 * A database proxorm runs on, as the registry (dialects/registry.ts) knows it: its
 * folder under dialects/ exports one. Everything about that database, from the options
 * open() takes to the Dialect of the open pool, is found through it.
 */
export interface DialectModule {
  readonly name: Dialect['name'];
  /** `client` values that select it ('sqlite'|'better-sqlite3'; 'mysql2'|'mysql'; 'pg'|'postgres'|'postgresql'). */
  readonly clients: readonly string[];
  /** Options open() accepts for it besides the Environment's own (e.g. ['client','connection','poolMax']). */
  readonly optionKeys: readonly string[];
  /** The npm package that drives it (also knex's client name). */
  readonly driver: string;
  /**
   * Validates its options (ValidationError naming the option, never a password/URL), checks the driver is
   * installed (EnvironmentError with the npm command), connects once and probes the server (ConnectionError),
   * and returns the Database (knex, dialect, maxConnections, identity).
   */
  open(config: Readonly<Record<string, unknown>>): Promise<Database>;
}

/**
 * Everything that differs between the databases, and nothing else. The query layer
 * builds SQL through knex and asks the dialect only for these answers.
 */
export interface Dialect {
  readonly name: DialectName;
  /**
   * Longest table or column name the database keeps as given (Infinity: no limit).
   * ModelSet.checkIdentifiers refuses a longer one when the Environment opens, before
   * any table is touched, where the database would cut it or fail at sync.
   */
  readonly maxIdentifierLength: number;
  /** Canonical JS value (see model/values.ts) -> value bound to the driver. */
  toDb(field: FieldDef, value: unknown): unknown;
  /**
   * How a non-null value read from the driver becomes the canonical JS value (the same a
   * write would cache), validated: UNDECODABLE (model/decode.ts) when the stored value
   * is not one of the field's type. Never throws.
   */
  decoder(field: FieldDef): Decoder;
  /**
   * An INSERT of rows whose key the database generates, made to report those keys where
   * the driver does not on its own (PostgreSQL: RETURNING the key column); the builder
   * as it is elsewhere.
   */
  returningKeys(qb: Knex.QueryBuilder, keyColumn: string): Knex.QueryBuilder;
  /**
   * Ids of rows inserted by one multi-row INSERT (built with returningKeys), in the
   * order of its rows, from what knex returned for it.
   */
  insertedIds(result: unknown[], count: number, keyColumn: string): number[];
  /**
   * Whether insertedIds can tell the ids of a multi-row INSERT on this server
   * (consecutive ids, or RETURNING every row's); when false, rows are inserted one per statement.
   */
  readonly consecutiveInsertIds: boolean;
  /**
   * Whether the reply to a COMMIT (what knex's commit resolves to) says the transaction
   * committed: PostgreSQL answers the COMMIT of an aborted transaction (a raw statement
   * through env.knex failed in it) with ROLLBACK, and no error.
   */
  committed(reply: unknown): boolean;
  /**
   * Whether a statement that fails inside a transaction aborts the whole transaction
   * (PostgreSQL: every later statement fails with 25P02 until a rollback), so that
   * proxorm must run a statement it lets the transaction survive inside a savepoint.
   */
  readonly failedStatementAbortsTransaction: boolean;
  /** Whether a statement past its timeout can be cancelled on the server (MySQL: KILL QUERY; PostgreSQL: pg_cancel_backend). */
  readonly canCancel: boolean;
  /** FK constraints are declared in CREATE TABLE (else added by ALTER TABLE once all tables exist). */
  readonly inlineForeignKeys: boolean;
  /** Most rows one INSERT statement may carry. */
  readonly maxInsertRows: number;
  /** What one statement may hold on this database: query/limits.ts keeps every statement within it. */
  readonly limits: StatementLimits;
  /**
   * Bytes a bound value adds to a statement as the server receives it (what
   * `limits.statementBytes` counts): its escaped literal where the driver interpolates
   * values into the SQL text, 0 where values travel apart from it.
   */
  valueBytes(value: unknown): number;
  /** Column definition for a field (not a many2one: see keyColumn), on a create or alter table builder. */
  addColumn(t: Knex.CreateTableBuilder, field: FieldDef): Knex.ColumnBuilder;
  /**
   * A key column: the model's own (`primary`; a generated integer key is made the
   * auto-increment column here) or one referencing it (many2one, relation table), of the
   * same type. The sync makes the model's own the primary key, under a name of its own
   * (db/names.ts), after this.
   */
  keyColumn(t: Knex.CreateTableBuilder, column: string, key: PrimaryKeyDef, primary: boolean): Knex.ColumnBuilder;
  /** Engine / charset / collation for a new table. */
  tableOptions(t: Knex.CreateTableBuilder): void;
  /**
   * What completes a table sync just created (inside the schema lock), given its key
   * (undefined for a relation table's composite one). PostgreSQL: a generated key's
   * sequence moves past a key given on insert, as AUTO_INCREMENT and SQLite's
   * AUTOINCREMENT do (else the next generated key would collide with it).
   */
  createdTable(db: Pinned, table: string, key: PrimaryKeyDef | undefined): Promise<void>;
  /**
   * Adds `column IN (values)` to a builder, for any number of values (already converted
   * with toDb), as one statement.
   */
  whereIn(qb: Knex.QueryBuilder, column: string, values: readonly unknown[]): Knex.QueryBuilder;
  /**
   * Adds "the key column is exactly one of `keys`" for the statements that change rows
   * (UPDATE, DELETE): exact even where an existing column's collation ignores case or
   * trailing spaces, so a write to key 'A' never changes the row stored as 'a'.
   */
  whereKeyIn(qb: Knex.QueryBuilder, key: PrimaryKeyDef, keys: readonly Key[]): Knex.QueryBuilder;
  /**
   * Where `s` holds the first character no column of this database can store (PostgreSQL:
   * U+0000, which text and jsonb refuse), or -1. toDb refuses such a value
   * (ValidationError); a domain value holding one matches what no stored value can (where.ts).
   */
  unstorableAt(s: string): number;
  /**
   * Why a key given on create cannot be stored as given (so that reading it back gives the
   * same key), or undefined: a character the database cannot store (unstorableAt), or a
   * form it would change (PostgreSQL's uuid type lower-cases a UUID). Names no value.
   */
  keyProblem(key: PrimaryKeyDef, value: Key): string | undefined;
  /**
   * The placeholder of a domain value compared with a column of `field` (`<`, `=`, ...):
   * `?`, or `?` with a cast where the database would read the value as the column's type
   * and cannot (PostgreSQL: 1.5 or 2^64 against a BIGINT).
   */
  valueSql(field: FieldDef, value: unknown): string;
  /**
   * Orders by `column` (qualified) with NULL before every value, as SQLite and MySQL
   * sort it: first ascending, last descending.
   */
  orderBy(qb: Knex.QueryBuilder, column: string, direction: 'asc' | 'desc'): Knex.QueryBuilder;
  /** SQL for a case-insensitive LIKE of `??` (column) against `?` (pattern) with escape `?`. */
  readonly ilikeSql: string;
  /** SQL for a case-sensitive LIKE, same placeholders. */
  readonly likeSql: string;
  /** A driver error -> the typed DatabaseError it stands for. */
  translateError(err: unknown, sql: string | undefined): DatabaseError;
  /**
   * Rows a statement returned (a SELECT) or changed (INSERT, UPDATE, DELETE), from the
   * query object knex reports with its 'query-response' event (the driver's raw reply
   * is on it); undefined when the driver does not say.
   */
  rowCount(query: KnexQueryReply): number | undefined;

  // ---- schema sync ----------------------------------------------------------------------
  /**
   * Runs `body` on one pinned connection holding the database's schema lock, so that
   * sync() runs from any number of processes run one after the other, each seeing what
   * the previous one made. Waits up to SCHEMA_LOCK_WAIT_SECONDS (then LockTimeoutError).
   * Every statement on that connection is traced as `origin`'s ('schema' statements).
   */
  withSchemaLock<T>(knex: Knex, body: (db: Pinned) => Promise<T>, origin?: StatementOrigin): Promise<T>;
  /** Whether a table or a view of that name exists (readonly models may be views). */
  relationExists(db: Pinned, name: string): Promise<boolean>;
  /** Indexes (the primary key and unique ones included) and foreign keys of an existing table. */
  readConstraints(db: Pinned, table: string): Promise<TableConstraints>;
  /** Every foreign key of the database, each table's, as the rule a DELETE follows (one statement). */
  readDeleteRules(db: Pinned): Promise<DeleteRule[]>;
  /**
   * The type a new column referencing an existing key column must have, as SQL for a
   * column definition (MySQL: the key's exact type, sign, charset and collation, which
   * InnoDB requires of both ends of a foreign key: an existing `INT` or utf8mb3 key is
   * not the type proxorm would create for it); undefined where the key's own type
   * (keyColumn) will do.
   */
  referencedKeyType(db: Pinned, table: string, column: string): Promise<string | undefined>;
  /**
   * Adds foreign keys to an existing table. Rows that break one make it fail with a
   * ForeignKeyViolationError (and, where the lock is a transaction, undo the whole sync).
   */
  addForeignKeys(db: Pinned, table: string, keys: readonly ForeignKeySpec[]): Promise<void>;
}

/** What a dialect's rowCount reads of knex's query object: the driver's raw reply. */
export interface KnexQueryReply {
  readonly response?: unknown;
  readonly context?: unknown;
}

/** Driver error codes -> error class, per dialect; shared by the translateError of each. */
export type ErrorKind =
  'unique' | 'foreignKey' | 'notNull' | 'connection' | 'timeout' | 'deadlock' | 'lockTimeout' | 'other';

/**
 * A database's limits on one statement, in the units query/limits.ts measures a statement
 * in. Infinity: the database has no such limit (or one no statement proxorm builds reaches).
 */
export interface StatementLimits {
  /**
   * Expression depth: the sum of the expression-tree heights along nested SELECTs
   * (SQLite's SQLITE_MAX_EXPR_DEPTH, which it checks as that sum when resolving names).
   */
  readonly exprDepth: number;
  /** Entries on the SQL parser's stack, which nested parentheses fill (SQLite's SQLITE_MAX_PARSER_DEPTH). */
  readonly parserDepth: number;
  /**
   * Nesting of a WHERE clause, in groups: a parenthesised and/or group or a NOT is 1, a
   * subquery 4 (MySQL/MariaDB run out of thread stack past some depth).
   */
  readonly nesting: number;
  /** SELECTs nested inside the statement's own (MySQL's MAX_SELECT_NESTING). */
  readonly subqueryDepth: number;
  /** Bytes of one statement, as counted by Dialect.valueBytes (MySQL's max_allowed_packet). */
  readonly statementBytes: number;
  /** Bound values one statement may carry (SQLite's SQLITE_MAX_VARIABLE_NUMBER). */
  readonly boundValues: number;
  /** References to one table (a FROM of a subquery, SQLite's json_each of an IN list) in one statement. */
  readonly tableReferences: number;
  /**
   * Equality tests on columns without an index, joined by AND, in one SELECT's WHERE:
   * SQLite's planner weighs an automatic index for each, up to SQLITE_QUERY_PLANNER_LIMIT
   * plans, then fails with "no query solution".
   */
  readonly plannerTerms: number;
  /** The database's own name for each finite limit, for error messages. */
  readonly names: Readonly<Partial<Record<Exclude<keyof StatementLimits, 'names'>, string>>>;
}
