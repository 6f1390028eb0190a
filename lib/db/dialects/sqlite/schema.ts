import type { Knex } from 'knex';
import { ForeignKeyViolationError, SchemaError } from '../../../errors';
import type { DeleteRule, ExistingIndex, ForeignKeySpec, TableConstraints } from '../../constraints';
import { SCHEMA_LOCK_WAIT_SECONDS, withPinnedConnection, type Pinned } from '../../pinned';
import type { StatementOrigin } from '../../trace';

/**
 * Schema sync on SQLite: the lock, introspection, and adding foreign keys to a table.
 *
 * The lock is the database's write lock: one transaction begun with BEGIN IMMEDIATE
 * (which takes the write lock at once, unlike a deferred BEGIN that can fail when it
 * upgrades), committed at the end. SQLite's DDL is transactional, so a sync that fails or
 * is killed leaves nothing behind. Foreign key enforcement is off for its duration
 * (PRAGMA foreign_keys cannot change inside a transaction): the table rebuild below must
 * drop a table without its ON DELETE actions firing on the rows that reference it.
 */
export async function withSqliteSchemaLock<T>(
  knex: Knex,
  body: (db: Pinned) => Promise<T>,
  origin?: StatementOrigin,
): Promise<T> {
  return withPinnedConnection(knex, origin, async (db) => {
    const foreignKeys = (await rows<{ foreign_keys: number }>(db, 'PRAGMA foreign_keys'))[0].foreign_keys;
    await db.raw('PRAGMA foreign_keys = OFF');
    try {
      await beginImmediate(db);
      let result: T;
      try {
        result = await body(db);
        await db.raw('COMMIT');
      } catch (e) {
        // A failed COMMIT or statement may have ended the transaction already.
        await db.raw('ROLLBACK').catch(() => undefined);
        throw e;
      }
      return result;
    } finally {
      await db.raw(`PRAGMA foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`);
    }
  });
}

/**
 * BEGIN IMMEDIATE, retried until SCHEMA_LOCK_WAIT_SECONDS have passed while another
 * connection holds the write lock. Not SQLite's own busy wait: better-sqlite3 runs it
 * synchronously, which would block this thread, and with it a holder that is another
 * pool of this process (it could then never finish). A failed BEGIN IMMEDIATE opens no
 * transaction. The last SQLITE_BUSY is the error (a LockTimeoutError once translated).
 */
async function beginImmediate(db: Pinned): Promise<void> {
  const busyTimeout = Number((await rows<{ timeout: number }>(db, 'PRAGMA busy_timeout'))[0].timeout);
  const deadline = Date.now() + SCHEMA_LOCK_WAIT_SECONDS * 1000;
  await db.raw('PRAGMA busy_timeout = 0');
  try {
    for (let pause = 2; ; pause = Math.min(pause * 2, 100)) {
      try {
        await db.raw('BEGIN IMMEDIATE');
        return;
      } catch (e) {
        if (!String((e as { code?: unknown }).code).startsWith('SQLITE_BUSY') || Date.now() >= deadline) throw e;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  } finally {
    // PRAGMA values cannot be bound; this one is an integer SQLite gave.
    await db.raw(`PRAGMA busy_timeout = ${busyTimeout}`);
  }
}

/** Whether a table or a view of that name exists (names compare without case, as SQLite does). */
export async function sqliteRelationExists(db: Pinned, name: string): Promise<boolean> {
  const found = await rows<{ n: number }>(
    db,
    "SELECT count(*) AS n FROM sqlite_master WHERE type IN ('table', 'view') AND lower(name) = lower(?)",
    [name],
  );
  return found[0].n > 0;
}

export async function readSqliteConstraints(db: Pinned, table: string): Promise<TableConstraints> {
  const list = await rows<{ name: string; unique: number; partial: number }>(
    db,
    'SELECT name, "unique", partial FROM pragma_index_list(?)',
    [table],
  );
  const indexes: ExistingIndex[] = [];
  for (const index of list) {
    const parts = await rows<{ name: string | null }>(db, 'SELECT name FROM pragma_index_info(?) ORDER BY seqno', [
      index.name,
    ]);
    indexes.push({
      name: index.name,
      columns: parts.map((p) => p.name),
      unique: index.unique === 1,
      partial: index.partial === 1,
    });
  }
  const parts = await rows<{ id: number; from: string; to: string | null; table: string; on_delete: string }>(
    db,
    'SELECT id, "from", "to", "table", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq',
    [table],
  );
  const keys = new Map<
    number,
    { name: string; columns: string[]; target: string; references: string[]; onDelete: string }
  >();
  for (const p of parts) {
    const key = keys.get(p.id) ?? {
      name: '',
      columns: [],
      target: p.table,
      references: [],
      onDelete: p.on_delete.toUpperCase(),
    };
    key.columns.push(p.from);
    if (p.to !== null) key.references.push(p.to);
    keys.set(p.id, key);
  }
  return { indexes, foreignKeys: [...keys.values()] };
}

/** The foreign keys of every table of the database (one statement). */
export async function readSqliteDeleteRules(db: Pinned): Promise<DeleteRule[]> {
  const found = await rows<{ t: string; target: string; rule: string }>(
    db,
    `SELECT m.name AS t, p."table" AS target, p.on_delete AS rule
     FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) p WHERE m.type = 'table'`,
  );
  return found.map((r) => ({ table: r.t, target: r.target, onDelete: r.rule.toUpperCase() }));
}

/**
 * SQLite has no ALTER TABLE ADD CONSTRAINT: the table is rebuilt with the keys added, as
 * https://www.sqlite.org/lang_altertable.html#otheralter describes. Inside the schema
 * lock's transaction, with foreign keys off: create the new table from the old one's
 * CREATE TABLE text plus the keys, copy the rows, drop the old table, rename the new one,
 * recreate its indexes and triggers, keep its AUTOINCREMENT counter, then check that
 * every row satisfies the new keys (else ForeignKeyViolationError, and the transaction
 * is rolled back).
 */
export async function addSqliteForeignKeys(db: Pinned, table: string, keys: readonly ForeignKeySpec[]): Promise<void> {
  const schema = await rows<{ type: string; name: string; sql: string }>(
    db,
    'SELECT type, name, sql FROM sqlite_master WHERE lower(tbl_name) = lower(?) AND sql IS NOT NULL',
    [table],
  );
  const create = schema.find((r) => r.type === 'table');
  if (!create) throw new SchemaError(`cannot add foreign keys to "${table}": no such table`);
  const temp = `${table}__proxorm_rebuild`;
  const sequence = await autoincrementSeq(db, table);

  await db.raw(withForeignKeys(renamed(create.sql, temp, table), keys, table));
  await db.raw('INSERT INTO ?? SELECT * FROM ??', [temp, table]);
  await db.raw('DROP TABLE ??', [table]);
  // Legacy rename: leaves views and triggers that name the table alone (they name it
  // again once renamed) instead of failing on them while it is missing.
  const legacy = (await rows<{ legacy_alter_table: number }>(db, 'PRAGMA legacy_alter_table'))[0].legacy_alter_table;
  await db.raw('PRAGMA legacy_alter_table = ON');
  try {
    await db.raw('ALTER TABLE ?? RENAME TO ??', [temp, table]);
  } finally {
    await db.raw(`PRAGMA legacy_alter_table = ${legacy ? 'ON' : 'OFF'}`);
  }
  for (const r of schema) if (r.type === 'index' || r.type === 'trigger') await db.raw(r.sql);
  if (sequence !== undefined)
    await db.raw('UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?', [sequence, table]);

  const broken = await rows<{ n: number }>(db, 'SELECT count(*) AS n FROM pragma_foreign_key_check(?)', [table]);
  if (broken[0].n > 0) {
    const sql = `PRAGMA foreign_key_check(${table})`;
    throw new ForeignKeyViolationError(
      `foreign key constraint violated: ${broken[0].n} row(s) of "${table}" reference rows that do not exist; cannot add ${keys.map((k) => k.name).join(', ')}`,
      sql,
      'SQLITE_CONSTRAINT_FOREIGNKEY',
      undefined,
    );
  }
}

/** The table's AUTOINCREMENT counter, if it has one (ids are never reused, even after a rebuild). */
async function autoincrementSeq(db: Pinned, table: string): Promise<number | undefined> {
  const hasSequence = await rows<{ n: number }>(
    db,
    "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'",
  );
  if (hasSequence[0].n === 0) return undefined;
  const seq = await rows<{ seq: number }>(db, 'SELECT seq FROM sqlite_sequence WHERE lower(name) = lower(?)', [table]);
  return seq[0]?.seq;
}

/** `CREATE TABLE <name> (` with the name replaced, quoted or not, schema-qualified or not. */
const HEAD =
  /^(\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?)((?:(?:"(?:[^"]|"")+"|`(?:[^`]|``)+`|\[[^\]]+\]|[A-Za-z_][\w$]*)\s*\.\s*)?(?:"(?:[^"]|"")+"|`(?:[^`]|``)+`|\[[^\]]+\]|[A-Za-z_][\w$]*))(\s*\()/i;
/** What may follow the closing parenthesis of the column list. */
const TAIL = /^\s*(?:(?:WITHOUT\s+ROWID|STRICT)\s*,?\s*)*;?\s*$/i;

function renamed(sql: string, name: string, table: string): string {
  if (!HEAD.test(sql))
    throw new SchemaError(`cannot add foreign keys to "${table}": its CREATE TABLE statement is not one sync can read`);
  return sql.replace(HEAD, (_m, head: string, _name: string, open: string) => `${head}${quote(name)}${open}`);
}

function withForeignKeys(sql: string, keys: readonly ForeignKeySpec[], table: string): string {
  const close = sql.lastIndexOf(')');
  if (close < 0 || !TAIL.test(sql.slice(close + 1))) {
    throw new SchemaError(`cannot add foreign keys to "${table}": its CREATE TABLE statement is not one sync can read`);
  }
  const clauses = keys.map(
    (k) =>
      `, CONSTRAINT ${quote(k.name)} FOREIGN KEY (${quote(k.column)}) REFERENCES ${quote(k.target)} (${quote(k.targetColumn)}) ON DELETE ${ON_DELETE[k.onDelete]}`,
  );
  return `${sql.slice(0, close)}${clauses.join('')}${sql.slice(close)}`;
}

const ON_DELETE: Readonly<Record<ForeignKeySpec['onDelete'], string>> = {
  restrict: 'RESTRICT',
  cascade: 'CASCADE',
  'set null': 'SET NULL',
};

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

async function rows<R>(db: Pinned, sql: string, bindings?: readonly Knex.RawBinding[]): Promise<R[]> {
  const result: unknown = await db.raw(sql, bindings);
  return result as R[];
}
