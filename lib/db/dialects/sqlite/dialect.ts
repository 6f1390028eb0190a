import type { Knex } from 'knex';
import type { Dialect, ErrorKind } from '../../dialect';
import type { FieldDef } from '../../../model/field-types';
import {
  decodeBoolean,
  decodeDate,
  decodeDecimal,
  decodeFloat,
  decodeInteger,
  decodeJsonText,
  decodeText,
  type Decoder,
} from '../../../model/decode';
import { ValidationError } from '../../../errors';
import { upToFirstQuote, wrapDriverError } from '../../errors';
import { sqlDatetimeText } from '../common/datetime-text';
import {
  addSqliteForeignKeys,
  sqliteRelationExists,
  readSqliteConstraints,
  readSqliteDeleteRules,
  withSqliteSchemaLock,
} from './schema';

/**
 * SQLite through better-sqlite3. Quirks handled here:
 * - no boolean or date types: booleans are 0/1, datetimes UTC strings of the field's
 *   format (fixed width, so they compare correctly as text; datetime-text.ts);
 * - DECIMAL has NUMERIC affinity and comes back as a number: exact to ~15 digits;
 * - LIKE is done by JS functions (sqlite-like.ts): SQLite's own stops at NUL bytes and
 *   ignores case for ASCII only;
 * - IN lists are bound as one JSON array (json_each), past the bound-variable limit;
 * - one multi-row INSERT assigns consecutive rowids and knex returns the last one.
 */
export const sqliteDialect: Dialect = {
  name: 'sqlite',
  // SQLite keeps names of any length.
  maxIdentifierLength: Infinity,
  consecutiveInsertIds: true,
  // knex writes a multi-row INSERT as SELECT ... UNION ALL, and SQLite caps compound
  // SELECTs at 500 terms.
  maxInsertRows: 500,
  // The limits better-sqlite3's SQLite is compiled with (PRAGMA compile_options). The
  // expression depth counts along nested SELECTs and the parser stack fills with nested
  // parentheses: a domain that alternates & and | 830 deep is what the stack holds.
  limits: {
    exprDepth: 1000,
    parserDepth: 2500,
    nesting: Infinity,
    subqueryDepth: Infinity,
    // Of the SQL text: values are bound apart from it (each up to SQLITE_MAX_LENGTH).
    statementBytes: 1_000_000_000,
    boundValues: 32_766,
    tableReferences: 65_535,
    // 20,000 plans, and 1,000 more per table: a margin for the plans of the table itself.
    plannerTerms: 20_000,
    names: {
      exprDepth: 'SQLITE_MAX_EXPR_DEPTH',
      parserDepth: 'SQLITE_MAX_PARSER_DEPTH',
      statementBytes: 'SQLITE_MAX_SQL_LENGTH',
      boundValues: 'SQLITE_MAX_VARIABLE_NUMBER',
      tableReferences: "SQLite's references to one table",
      plannerTerms: 'SQLITE_QUERY_PLANNER_LIMIT',
    },
  },
  valueBytes: () => 0,
  // SQLite cannot add a constraint later, and accepts one naming a table not created yet.
  inlineForeignKeys: true,
  // better-sqlite3 runs statements synchronously in this process: nothing to cancel.
  canCancel: false,
  // A failed statement undoes itself only; the transaction goes on.
  failedStatementAbortsTransaction: false,
  // A COMMIT that does not commit fails.
  committed: () => true,
  toDb(field, value) {
    if (value === null) return null;
    switch (field.type) {
      case 'boolean':
        return value ? 1 : 0;
      case 'datetime':
        return sqliteDatetimeText(field, value as Date);
      case 'json':
        return JSON.stringify(value);
      case 'decimal':
        return exactAsReal(field, value as string);
      default:
        return value;
    }
  },
  // Type affinity lets another program store any value in any column ('abc' in an
  // INTEGER column stays text): every read is validated.
  decoder(field): Decoder {
    switch (field.type) {
      case 'string':
      case 'text':
        return decodeText;
      case 'integer':
        return decodeInteger;
      case 'float':
        return decodeFloat;
      // NUMERIC affinity: a REAL, rounded to the scale.
      case 'decimal':
        return (raw) => decodeDecimal(raw, field.precision, field.scale);
      case 'boolean':
        return decodeBoolean;
      // UTC text in either format toDb writes (or another program's ISO 8601 text).
      case 'datetime':
        return decodeDate;
      case 'json':
        return decodeJsonText;
      default:
        throw new Error(`${field.type} is not a column`);
    }
  },
  // better-sqlite3 reports the last rowid of an INSERT.
  returningKeys: (qb) => qb,
  insertedIds(result, count) {
    const last = Number(result[0]);
    return Array.from({ length: count }, (_, i) => last - count + 1 + i);
  },
  addColumn(t, field) {
    return columnFor(t, field);
  },
  // A generated key is the rowid (INTEGER PRIMARY KEY AUTOINCREMENT: never reused).
  keyColumn(t, column, key, primary) {
    if (key.type === 'integer') return primary && key.generated ? t.increments(column) : t.integer(column);
    return key.type === 'uuid' ? t.uuid(column) : t.string(column, key.size);
  },
  // The rowid / AUTO_INCREMENT counter moves past a given key on its own.
  createdTable: () => Promise.resolve(),
  tableOptions() {},
  // One bound JSON array instead of one placeholder per value: no limit on the list's
  // length (SQLite allows 32,766 variables) and a statement text that does not vary.
  whereIn: (qb, column, values) =>
    qb.whereRaw('?? IN (SELECT value FROM json_each(?))', [column, JSON.stringify(values)]),
  // COLLATE BINARY: exact on a column declared NOCASE by another program (and the
  // key's own index still serves it on the BINARY columns sync creates).
  whereKeyIn: (qb, key, keys) =>
    key.type === 'integer'
      ? sqliteDialect.whereIn(qb, key.column, keys)
      : qb.whereRaw('?? COLLATE BINARY IN (SELECT value FROM json_each(?))', [key.column, JSON.stringify(keys)]),
  // Text columns hold any character (NUL included).
  unstorableAt: () => -1,
  keyProblem: () => undefined,
  valueSql: () => '?',
  // NULL sorts first (it is the smallest value).
  orderBy: (qb, column, direction) => qb.orderBy(column, direction),
  likeSql: 'proxorm_like(??, ?, ?)',
  ilikeSql: 'proxorm_ilike(??, ?, ?)',
  // SQLite's messages name tables, columns and constraints, never bound values; a
  // quoted part ("near "x"") is cut all the same.
  translateError(err, sql) {
    return wrapDriverError(err, sql, kindOf, (_code, text) => upToFirstQuote(text));
  },
  // better-sqlite3: rows for a reader (or RETURNING), else what run() reported as changes.
  rowCount: ({ response, context }) => {
    if (Array.isArray(response)) return response.length;
    const changes = (context as { changes?: unknown } | undefined)?.changes;
    return typeof changes === 'number' ? changes : undefined;
  },
  // Schema sync (sqlite-schema.ts): the write lock, PRAGMA introspection, table rebuilds.
  withSchemaLock: withSqliteSchemaLock,
  relationExists: sqliteRelationExists,
  readConstraints: readSqliteConstraints,
  readDeleteRules: readSqliteDeleteRules,
  // A foreign key needs no matching types in SQLite: the key's own type is used.
  referencedKeyType: () => Promise.resolve(undefined),
  addForeignKeys: addSqliteForeignKeys,
};

/** Significant digits a REAL keeps exactly (DBL_DIG): a decimal with more would read back rounded. */
const REAL_DIGITS = 15;

/**
 * A decimal, as bound: SQLite's NUMERIC affinity stores it as a REAL, exact to 15
 * significant digits. One with more is a ValidationError before any SQL (naming the
 * field, not the value), never a value the cache holds and the database rounded.
 */
function exactAsReal(field: FieldDef, value: string): string {
  const digits = value.replace(/[-+.]/g, '').replace(/^0+/, '').replace(/0+$/, '').length;
  if (digits > REAL_DIGITS) {
    throw new ValidationError(
      `${field.name}: SQLite stores decimals as REAL, exact to ${REAL_DIGITS} significant digits; this value has ${digits} (use MySQL/MariaDB, or a string field, for more)`,
    );
  }
  return value;
}

function columnFor(t: Knex.CreateTableBuilder, f: FieldDef): Knex.ColumnBuilder {
  switch (f.type) {
    case 'string':
      return t.string(f.column, f.size);
    case 'text':
      return t.text(f.column);
    case 'integer':
      return t.bigInteger(f.column);
    case 'float':
      return t.double(f.column);
    case 'decimal':
      return t.decimal(f.column, f.precision, f.scale);
    case 'boolean':
      return t.boolean(f.column);
    // Text (TEXT affinity) of the fixed width of the field's format.
    case 'datetime':
      return t.string(f.column, f.format === 'sql' ? 19 : 24);
    case 'json':
      return t.text(f.column);
    default:
      throw new Error(`${f.type} is not a column`);
  }
}

function kindOf(code: string, message: string): ErrorKind {
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return 'unique';
  // ON DELETE RESTRICT fails as a trigger constraint, with the FK message.
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || /FOREIGN KEY constraint failed/.test(message)) return 'foreignKey';
  if (code === 'SQLITE_CONSTRAINT_NOTNULL') return 'notNull';
  if (code === 'SQLITE_CANTOPEN') return 'connection';
  // Another process holds the database's write lock past the busy timeout.
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'lockTimeout';
  return 'other';
}

/** The field's text (format 'iso': toISOString, as proxorm always wrote). */
function sqliteDatetimeText(field: FieldDef, d: Date): string {
  return field.format === 'sql' ? sqlDatetimeText(d) : d.toISOString();
}
