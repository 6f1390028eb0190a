import type { Knex } from 'knex';
import type { Dialect, ErrorKind } from '../dialect';
import type { FieldDef } from '../../model/field-types';
import { deepFreeze } from '../../model/values';
import { ValidationError } from '../../errors';
import { wrapDriverError } from '../errors';

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
 * - DATETIME(3) in UTC; mysql2 returns it as a string (dateStrings) that we parse, so
 *   the client's time zone never matters;
 * - booleans come back as 0/1, decimals as strings, JSON as text (MariaDB);
 * - a multi-row INSERT reports its first id; the others follow at the server's step.
 */
export function mysqlDialect(info: MysqlServerInfo): Dialect {
  const collation = info.mariadb ? 'utf8mb4_nopad_bin' : 'utf8mb4_0900_bin';
  return {
    name: 'mysql',
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
    toDb(field, value) {
      if (value === null) return null;
      switch (field.type) {
        case 'boolean': return value ? 1 : 0;
        case 'datetime': return (value as Date).toISOString().replace('T', ' ').replace('Z', '');
        case 'json': return JSON.stringify(value);
        default: return value;
      }
    },
    decoder(field) {
      switch (field.type) {
        case 'boolean': return (raw) => raw === 1 || raw === true || raw === '1';
        case 'datetime': return (raw) => (raw instanceof Date ? raw : new Date(`${String(raw).replace(' ', 'T')}Z`));
        case 'json': return (raw) => deepFreeze(typeof raw === 'string' ? JSON.parse(raw) : raw);
        case 'decimal': return (raw) => String(raw);
        case 'integer': return (raw) => (typeof raw === 'string' ? Number(raw) : raw);
        default: return null;
      }
    },
    insertedIds(result, count) {
      const first = Number(result[0]);
      return Array.from({ length: count }, (_, i) => first + i * info.autoincIncrement);
    },
    addColumn(t, f) {
      return columnFor(t, f);
    },
    tableOptions(t) {
      t.engine('InnoDB');
      t.charset('utf8mb4');
      t.collate(collation);
    },
    // mysql2 interpolates values client-side: an IN list has no placeholder limit.
    whereIn: (qb, column, values) => qb.whereIn(column, values as Knex.Value[]),
    likeSql: '?? LIKE ? ESCAPE ?',
    ilikeSql: 'LOWER(??) LIKE LOWER(?) ESCAPE ?',
    translateError(err, sql) {
      return wrapDriverError(err, sql, kindOf);
    },
  };
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
  const s = typeof value === 'string' ? value : String(value);
  let escaped = 0;
  // The regex scans natively; most strings have nothing to escape.
  if (ESCAPED.test(s)) {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0 || c === 8 || c === 9 || c === 10 || c === 13 || c === 26 || c === 34 || c === 39 || c === 92) escaped++;
    }
  }
  return 2 + Buffer.byteLength(s, 'utf8') + escaped;
}

// eslint-disable-next-line no-control-regex
const ESCAPED = /[\0\b\t\n\r\x1a"'\\]/;

function columnFor(t: Knex.CreateTableBuilder, f: FieldDef): Knex.ColumnBuilder {
  switch (f.type) {
    case 'string': return t.string(f.column, f.size);
    case 'text': return t.text(f.column, 'longtext');
    case 'integer': return t.bigInteger(f.column);
    case 'float': return t.double(f.column);
    case 'decimal': return t.decimal(f.column, f.precision, f.scale);
    case 'boolean': return t.boolean(f.column);
    case 'datetime': return t.datetime(f.column, { precision: 3 });
    case 'json': return t.text(f.column, 'longtext');
    // The same type as the auto-increment id it references (INT UNSIGNED).
    case 'many2one': return t.integer(f.column).unsigned();
    default: throw new Error(`${f.type} is not a column`);
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR', 'ER_ACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'ER_CONNECTION_KILLED', 'ER_QUERY_INTERRUPTED', 'ER_DBACCESS_DENIED_ERROR',
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

/** mysql2 connection settings from a URL or an object; proxorm's required options win. */
export function mysqlKnexConfig(connection: string | Record<string, unknown>, poolMax: number): Knex.Config {
  const base = typeof connection === 'string' ? parseMysqlUrl(connection) : { ...connection };
  return {
    client: 'mysql2',
    connection: { ...base, dateStrings: true, timezone: 'Z', charset: 'utf8mb4', supportBigNumbers: true, bigNumberStrings: false },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
  };
}

function parseMysqlUrl(url: string): Record<string, unknown> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ValidationError(`cannot parse MySQL connection URL (expected mysql://user:password@host:port/database)`);
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') throw new ValidationError(`unsupported URL scheme "${u.protocol}" (use mysql://)`);
  const out: Record<string, unknown> = {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
  };
  for (const [k, v] of u.searchParams) out[k] = /^\d+$/.test(v) ? Number(v) : v;
  return out;
}
