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
  UNDECODABLE,
  type Decoder,
} from '../../../model/decode';
import { deepFreeze } from '../../../model/values';
import { upToFirstQuote, wrapDriverError } from '../../errors';
import { sqlDatetimeText } from '../common/datetime-text';
import {
  addMysqlForeignKeys,
  mysqlColumnType,
  mysqlRelationExists,
  readMysqlConstraints,
  readMysqlDeleteRules,
  withMysqlSchemaLock,
} from './schema';

/** What proxorm needs to know about a MySQL/MariaDB server, read once when opening. */
export interface MysqlServerInfo {
  readonly mariadb: boolean;
  /** innodb_autoinc_lock_mode: 0 and 1 give a multi-row INSERT consecutive ids, 2 does not. */
  readonly autoincLockMode: number;
  /** auto_increment_increment: the step between consecutive ids (1 unless replicated). */
  readonly autoincIncrement: number;
  /** max_allowed_packet: the largest statement the server accepts, in bytes. */
  readonly maxAllowedPacket: number;
}

/**
 * MySQL / MariaDB through mysql2. Quirks handled here:
 * - tables use a binary, no-pad utf8mb4 collation, so `=`, LIKE, ORDER BY and UNIQUE
 *   compare strings exactly as SQLite does (case-sensitive, trailing spaces count);
 * - DATETIME(3) in UTC (DATETIME for format 'sql'); mysql2 returns it as a string
 *   (dateStrings) that we parse, so the client's time zone never matters;
 * - booleans come back as 0/1, decimals as strings, JSON as text (MariaDB);
 * - a multi-row INSERT reports its first id; the others follow at the server's step.
 */
export function mysqlDialect(info: MysqlServerInfo): Dialect {
  const collation = info.mariadb ? 'utf8mb4_nopad_bin' : 'utf8mb4_0900_bin';
  return {
    name: 'mysql',
    // Tables, columns, indexes and constraints: 64 characters.
    maxIdentifierLength: 64,
    consecutiveInsertIds: info.autoincLockMode !== 2,
    maxInsertRows: 1000,
    limits: {
      // Expressions and the parser's stack: bounded by the thread stack (`nesting`) instead.
      exprDepth: Infinity,
      parserDepth: Infinity,
      // MariaDB 10.11 with its default thread_stack (292 KiB) runs 1,333 nested groups
      // (a subquery costs about 3.6 of them): 1,000 keeps a margin.
      nesting: 1000,
      subqueryDepth: 63,
      statementBytes: info.maxAllowedPacket,
      // mysql2 interpolates values into the SQL text: no placeholder limit.
      boundValues: Infinity,
      tableReferences: Infinity,
      plannerTerms: Infinity,
      names: { nesting: 'thread_stack', subqueryDepth: 'MAX_SELECT_NESTING', statementBytes: 'max_allowed_packet' },
    },
    valueBytes: literalBytes,
    // InnoDB wants the referenced table to exist: FKs are added once all tables do.
    inlineForeignKeys: false,
    canCancel: true,
    // InnoDB undoes a failed statement only (a deadlock excepted, see kindOf).
    failedStatementAbortsTransaction: false,
    // A COMMIT that does not commit fails.
    committed: () => true,
    toDb(field, value) {
      if (value === null) return null;
      switch (field.type) {
        case 'boolean':
          return value ? 1 : 0;
        case 'datetime':
          return mysqlDatetimeText(field, value as Date);
        case 'json':
          return JSON.stringify(value);
        default:
          return value;
      }
    },
    // What mysql2 returns for the columns sync creates, and for columns of another type
    // (a table created by another program, or a column changed under the model): strings.
    decoder(field): Decoder {
      switch (field.type) {
        case 'string':
        case 'text':
          return decodeText;
        // BIGINT past 2^53 comes as a digit string (supportBigNumbers): refused.
        case 'integer':
          return decodeInteger;
        case 'float':
          return decodeFloat;
        // DECIMAL comes as a string with exactly `scale` decimals.
        case 'decimal':
          return (raw) => decodeDecimal(raw, field.precision, field.scale);
        // TINYINT(1): any TINYINT fits in it, only 0 and 1 are booleans.
        case 'boolean':
          return decodeBoolean;
        // DATETIME(3) / DATETIME as 'YYYY-MM-DD HH:MM:SS[.mmm]' (dateStrings), in UTC.
        case 'datetime':
          return decodeDate;
        // LONGTEXT; a native JSON column (MySQL) comes parsed already.
        case 'json':
          return (raw) =>
            typeof raw === 'string' || raw instanceof Uint8Array ? decodeJsonText(raw) : parsedJson(raw);
        default:
          throw new Error(`${field.type} is not a column`);
      }
    },
    // mysql2 reports the first id of an INSERT.
    returningKeys: (qb) => qb,
    insertedIds(result, count) {
      const first = Number(result[0]);
      return Array.from({ length: count }, (_, i) => first + i * info.autoincIncrement);
    },
    addColumn(t, f) {
      return columnFor(t, f);
    },
    // A generated key is INT UNSIGNED AUTO_INCREMENT, and what references it the same
    // type (InnoDB wants equal types on both ends of a foreign key).
    keyColumn(t, column, key, primary) {
      if (key.type === 'integer') {
        if (!key.generated) return t.bigInteger(column);
        return primary ? t.increments(column) : t.integer(column).unsigned();
      }
      return key.type === 'uuid' ? t.uuid(column) : t.string(column, key.size);
    },
    // The rowid / AUTO_INCREMENT counter moves past a given key on its own.
    createdTable: () => Promise.resolve(),
    tableOptions(t) {
      t.engine('InnoDB');
      t.charset('utf8mb4');
      t.collate(collation);
    },
    // mysql2 interpolates values client-side: an IN list has no placeholder limit.
    whereIn: (qb, column, values) => qb.whereIn(column, values as Knex.Value[]),
    // String keys: the IN list finds the rows through the key's index; the second test
    // keeps only exact matches where the column's collation is case-insensitive or PAD
    // SPACE. It compares characters, not bytes: the column converted to utf8mb4 (what the
    // keys are sent in) under the binary no-pad collation. (`BINARY col` compared the
    // column's bytes in its own charset with the keys' UTF-8 bytes: in a latin1 column
    // no non-ASCII key ever matched, so writes found rows that reads had found missing.)
    whereKeyIn(qb, key, keys) {
      if (key.type === 'integer' || keys.length === 0) return qb.whereIn(key.column, keys as Knex.Value[]);
      const marks = keys.map(() => '?').join(', ');
      return qb
        .whereIn(key.column, keys as Knex.Value[])
        .whereRaw(`CONVERT(?? USING utf8mb4) COLLATE ${collation} IN (${marks})`, [key.column, ...keys]);
    },
    // Text columns hold any character (NUL included).
    unstorableAt: () => -1,
    keyProblem: () => undefined,
    valueSql: () => '?',
    // NULL sorts first (it is the smallest value).
    orderBy: (qb, column, direction) => qb.orderBy(column, direction),
    likeSql: '?? LIKE ? ESCAPE ?',
    ilikeSql: 'LOWER(??) LIKE LOWER(?) ESCAPE ?',
    translateError(err, sql) {
      return wrapDriverError(err, sql, kindOf, cleanMessage);
    },
    // mysql2 replies [rows, fields]: rows an array for a SELECT, else a ResultSetHeader.
    rowCount: ({ response }) => {
      const rows: unknown = Array.isArray(response) ? response[0] : undefined;
      if (Array.isArray(rows)) return rows.length;
      const affected = (rows as { affectedRows?: unknown } | undefined)?.affectedRows;
      return typeof affected === 'number' ? affected : undefined;
    },
    // Schema sync (mysql-schema.ts): GET_LOCK, information_schema, ALTER TABLE.
    withSchemaLock: withMysqlSchemaLock,
    relationExists: mysqlRelationExists,
    readConstraints: readMysqlConstraints,
    readDeleteRules: readMysqlDeleteRules,
    referencedKeyType: mysqlColumnType,
    addForeignKeys: addMysqlForeignKeys,
  };
}

/** A JSON value mysql2 parsed from a native JSON column. */
function parsedJson(raw: unknown): unknown {
  try {
    return deepFreeze(raw);
  } catch {
    return UNDECODABLE; // absurd nesting
  }
}

/**
 * Bytes of a value as mysql2 interpolates it into the statement (sqlstring's escape):
 * strings quoted, with \0 \b \t \n \r \x1a " ' and \\ escaped by a backslash.
 */
function literalBytes(value: unknown): number {
  if (value === null || value === undefined) return 4;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value).length;
  if (typeof value === 'boolean') return value ? 4 : 5;
  if (value instanceof Date) return 25;
  if (Buffer.isBuffer(value)) return 3 + 2 * value.length;
  // Other objects do not reach here (values are checked against their field first); were one
  // to, String() is as good an estimate as any.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- see above
  const s = typeof value === 'string' ? value : String(value);
  let escaped = 0;
  // The regex scans natively; most strings have nothing to escape.
  if (ESCAPED.test(s)) {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0 || c === 8 || c === 9 || c === 10 || c === 13 || c === 26 || c === 34 || c === 39 || c === 92)
        escaped++;
    }
  }
  return 2 + Buffer.byteLength(s, 'utf8') + escaped;
}

// eslint-disable-next-line no-control-regex
const ESCAPED = /[\0\b\t\n\r\x1a"'\\]/;

function columnFor(t: Knex.CreateTableBuilder, f: FieldDef): Knex.ColumnBuilder {
  switch (f.type) {
    case 'string':
      return t.string(f.column, f.size);
    case 'text':
      return t.text(f.column, 'longtext');
    case 'integer':
      return t.bigInteger(f.column);
    case 'float':
      return t.double(f.column);
    case 'decimal':
      return t.decimal(f.column, f.precision, f.scale);
    case 'boolean':
      return t.boolean(f.column);
    // Format 'sql': DATETIME without fraction (its values are whole seconds).
    case 'datetime':
      return f.format === 'sql' ? t.datetime(f.column) : t.datetime(f.column, { precision: 3 });
    case 'json':
      return t.text(f.column, 'longtext');
    default:
      throw new Error(`${f.type} is not a column`);
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_ACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_DBACCESS_DENIED_ERROR',
]);

function kindOf(code: string): ErrorKind {
  if (code === 'ER_DUP_ENTRY') return 'unique';
  if (/^ER_(ROW_IS_REFERENCED|NO_REFERENCED_ROW)/.test(code)) return 'foreignKey';
  if (code === 'ER_BAD_NULL_ERROR' || code === 'ER_NO_DEFAULT_FOR_FIELD') return 'notNull';
  if (CONNECTION_CODES.has(code)) return 'connection';
  // 1213: InnoDB rolled the whole transaction back. 1205: only the statement (unless
  // innodb_rollback_on_timeout, which proxorm does not assume).
  if (code === 'ER_LOCK_DEADLOCK') return 'deadlock';
  if (code === 'ER_LOCK_WAIT_TIMEOUT') return 'lockTimeout';
  return 'other';
}

/**
 * Server messages whose quoted parts are names (columns, keys), never values: kept whole
 * when they have exactly this shape.
 */
const NAMES_ONLY: Readonly<Record<string, RegExp>> = {
  ER_DATA_TOO_LONG: /^Data too long for column '[^']*' at row \d+$/,
  ER_BAD_NULL_ERROR: /^Column '[^']*' cannot be null$/,
  ER_NO_DEFAULT_FOR_FIELD: /^Field '[^']*' doesn't have a default value$/,
  ER_WARN_DATA_OUT_OF_RANGE: /^Out of range value for column '[^']*' at row \d+$/,
  ER_NO_REFERENCED_ROW_2: /^Cannot add or update a child row: a foreign key constraint fails \([^'"]*\)$/,
  ER_ROW_IS_REFERENCED_2: /^Cannot delete or update a parent row: a foreign key constraint fails \([^'"]*\)$/,
  // A table or column changed under the model.
  ER_BAD_FIELD_ERROR: /^Unknown column '[^']*' in '[^']*'$/,
  ER_NO_SUCH_TABLE: /^Table '[^']*' doesn't exist$/,
};

/**
 * Server messages that quote the value: rewritten without it. The value may itself hold
 * quotes and the words that follow it, so the greedy `.*` leaves the last (the server's)
 * `for key` / `for column` part to the name.
 */
const DUP_ENTRY = /^Duplicate entry '.*' for key ('[^']*')$/s;
const WRONG_VALUE = /^(Incorrect [\w ]+ value): '.*' for column ((?:`[^`]*`\.)*`[^`]*`|'[^']*') at row (\d+)$/s;

/** A server message without the values it may quote (keys and columns stay named). */
function cleanMessage(code: string | undefined, text: string): string {
  if (code === 'ER_DUP_ENTRY') {
    const m = DUP_ENTRY.exec(text);
    if (m) return `Duplicate entry for key ${m[1]}`;
  }
  if (code === 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD' || code === 'ER_TRUNCATED_WRONG_VALUE') {
    const m = WRONG_VALUE.exec(text);
    if (m) return `${m[1]} for column ${m[2]} at row ${m[3]}`;
  }
  if (code && NAMES_ONLY[code]?.test(text)) return text;
  return upToFirstQuote(text);
}

/** DATETIME literal text, `YYYY-MM-DD HH:MM:SS.mmm` (format 'iso') or as sqlDatetimeText. */
function mysqlDatetimeText(field: FieldDef, d: Date): string {
  if (field.format === 'sql') return sqlDatetimeText(d);
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}
