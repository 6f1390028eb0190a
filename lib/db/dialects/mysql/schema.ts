import type { Knex } from 'knex';
import { LockTimeoutError } from '../../../errors';
import type { DeleteRule, ForeignKeySpec, TableConstraints } from '../../constraints';
import { SCHEMA_LOCK_WAIT_SECONDS, withPinnedConnection, type Pinned } from '../../pinned';
import type { StatementOrigin } from '../../trace';

/**
 * Schema sync on MySQL / MariaDB: the lock, introspection, and adding foreign keys.
 *
 * The lock is a named user lock (GET_LOCK), held by the pinned connection's session
 * and released by RELEASE_LOCK or when the session ends (a killed process holds it no
 * longer). Its name is per database, so syncs of other databases on the same server do
 * not wait; hashed, as lock names are limited to 64 characters. Each DDL statement
 * commits on its own: a sync killed halfway leaves what it did, and the next one
 * completes it (schema-sync.ts).
 */
const LOCK_NAME = "CONCAT('proxorm.sync.', MD5(COALESCE(DATABASE(), '')))";

export async function withMysqlSchemaLock<T>(
  knex: Knex,
  body: (db: Pinned) => Promise<T>,
  origin?: StatementOrigin,
): Promise<T> {
  return withPinnedConnection(knex, origin, async (db) => {
    const sql = `SELECT GET_LOCK(${LOCK_NAME}, ?) AS got`;
    const [got] = await rows<{ got: number | null }>(db, sql, [SCHEMA_LOCK_WAIT_SECONDS]);
    if (Number(got?.got) !== 1) {
      throw new LockTimeoutError(
        `lock wait timed out: another sync() held the schema lock for ${SCHEMA_LOCK_WAIT_SECONDS} s`,
        sql,
        undefined,
        undefined,
      );
    }
    let failed = true;
    try {
      const result = await body(db);
      failed = false;
      return result;
    } finally {
      // After a failure the first error is the one to report; the session's end releases the lock anyway.
      const release = db.raw(`SELECT RELEASE_LOCK(${LOCK_NAME})`);
      if (failed) await release.catch(() => undefined);
      else await release;
    }
  });
}

/** Whether a table or a view of that name exists in the current database. */
export async function mysqlRelationExists(db: Pinned, name: string): Promise<boolean> {
  const found = await rows<{ n: number }>(
    db,
    'SELECT count(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [name],
  );
  return Number(found[0].n) > 0;
}

/**
 * The full type of an existing column, as a column referencing it must repeat it
 * (`int(11)`, `varchar(10) CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci`): InnoDB
 * refuses a foreign key between columns that differ in type, sign, charset or collation.
 * Undefined when the column does not exist.
 */
export async function mysqlColumnType(db: Pinned, table: string, column: string): Promise<string | undefined> {
  const [found] = await rows<{ type: string; charset: string | null; coll: string | null }>(
    db,
    `SELECT COLUMN_TYPE AS type, CHARACTER_SET_NAME AS charset, COLLATION_NAME AS coll FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?`,
    [table, column],
  );
  if (!found) return undefined;
  return found.charset && found.coll
    ? `${found.type} CHARACTER SET ${found.charset} COLLATE ${found.coll}`
    : found.type;
}

export async function readMysqlConstraints(db: Pinned, table: string): Promise<TableConstraints> {
  const stats = await rows<{ name: string; col: string | null; nonUnique: number; part: number | null }>(
    db,
    `SELECT INDEX_NAME AS name, COLUMN_NAME AS col, NON_UNIQUE AS nonUnique, SUB_PART AS part
     FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
     ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [table],
  );
  const indexes = new Map<string, { name: string; columns: Array<string | null>; unique: boolean; partial: boolean }>();
  for (const s of stats) {
    const index = indexes.get(s.name) ?? {
      name: s.name,
      columns: [],
      unique: Number(s.nonUnique) === 0,
      partial: false,
    };
    index.columns.push(s.col);
    if (s.part !== null) index.partial = true;
    indexes.set(s.name, index);
  }
  const keys = await rows<{ name: string; col: string; target: string; ref: string; rule: string }>(
    db,
    `SELECT k.CONSTRAINT_NAME AS name, k.COLUMN_NAME AS col, k.REFERENCED_TABLE_NAME AS target, k.REFERENCED_COLUMN_NAME AS ref,
       r.DELETE_RULE AS rule
     FROM information_schema.KEY_COLUMN_USAGE k
     JOIN information_schema.REFERENTIAL_CONSTRAINTS r
       ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
     WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = ?
     ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
    [table],
  );
  const foreignKeys = new Map<
    string,
    { name: string; columns: string[]; target: string; references: string[]; onDelete: string }
  >();
  for (const k of keys) {
    const key = foreignKeys.get(k.name) ?? {
      name: k.name,
      columns: [],
      target: k.target,
      references: [],
      onDelete: k.rule.toUpperCase(),
    };
    key.columns.push(k.col);
    key.references.push(k.ref);
    foreignKeys.set(k.name, key);
  }
  return { indexes: [...indexes.values()], foreignKeys: [...foreignKeys.values()] };
}

/** The foreign keys of the current database's tables (one statement). */
export async function readMysqlDeleteRules(db: Pinned): Promise<DeleteRule[]> {
  const found = await rows<{ t: string; target: string; rule: string }>(
    db,
    `SELECT TABLE_NAME AS t, REFERENCED_TABLE_NAME AS target, DELETE_RULE AS rule
     FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()`,
    [],
  );
  return found.map((r) => ({ table: r.t, target: r.target, onDelete: r.rule.toUpperCase() }));
}

/** One ALTER TABLE per key: rows that break it fail it with ER_NO_REFERENCED_ROW_2 (a ForeignKeyViolationError). */
export async function addMysqlForeignKeys(db: Pinned, table: string, keys: readonly ForeignKeySpec[]): Promise<void> {
  for (const k of keys) {
    await db.schema().alterTable(table, (t) => {
      t.foreign(k.column, k.name).references(k.targetColumn).inTable(k.target).onDelete(k.onDelete.toUpperCase());
    });
  }
}

async function rows<R>(db: Pinned, sql: string, bindings: readonly Knex.RawBinding[]): Promise<R[]> {
  const [result] = (await db.raw(sql, bindings)) as unknown as [R[]];
  return result;
}
