import type { Knex } from 'knex';
import type { PrimaryKeyDef } from '../../../model/keys';
import type {
  DeleteRule,
  ExistingForeignKey,
  ExistingIndex,
  ForeignKeySpec,
  TableConstraints,
} from '../../constraints';
import { SCHEMA_LOCK_WAIT_SECONDS, withPinnedConnection, type Pinned } from '../../pinned';
import type { StatementOrigin } from '../../trace';

/**
 * Schema sync on PostgreSQL: the lock, introspection (pg_catalog, in the connection's
 * current schema), and adding foreign keys.
 *
 * The whole sync is one transaction, holding a transaction-level advisory lock
 * (pg_advisory_xact_lock) keyed by database and schema, so syncs of other schemas do not
 * wait. PostgreSQL's DDL is transactional: a sync that fails or is killed leaves nothing
 * behind, and the lock ends with the transaction. lock_timeout bounds the wait for it
 * (then 55P03, a LockTimeoutError), and for the tables' locks the DDL takes.
 */
const LOCK_KEY = "hashtext('proxorm.sync.' || current_database() || '.' || current_schema())";

export async function withPostgresSchemaLock<T>(
  knex: Knex,
  body: (db: Pinned) => Promise<T>,
  origin?: StatementOrigin,
): Promise<T> {
  return withPinnedConnection(knex, origin, async (db) => {
    await db.raw('BEGIN');
    let result: T;
    try {
      // SET LOCAL takes no bound value; this one is a constant of proxorm's.
      await db.raw(`SET LOCAL lock_timeout = '${SCHEMA_LOCK_WAIT_SECONDS}s'`);
      await db.raw(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
      result = await body(db);
      await db.raw('COMMIT');
    } catch (e) {
      // A failed COMMIT has ended the transaction already; ROLLBACK then only warns.
      await db.raw('ROLLBACK').catch(() => undefined);
      throw e;
    }
    return result;
  });
}

/** Whether a table or a view (plain, materialized, foreign, partitioned) of exactly that name exists. */
export async function postgresRelationExists(db: Pinned, name: string): Promise<boolean> {
  const found = await rows<{ n: number }>(
    db,
    `SELECT count(*) AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace
     WHERE s.nspname = current_schema() AND c.relname = ? AND c.relkind IN ('r', 'v', 'm', 'f', 'p')`,
    [name],
  );
  return Number(found[0].n) > 0;
}

/** The table's oid in the current schema: `to_regclass` would parse (and fold) the name. */
const TABLE = `(SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace
  WHERE s.nspname = current_schema() AND c.relname = ?)`;

/**
 * The type of an existing key column as a column definition (`bigint`, `uuid`,
 * `character varying(64) COLLATE "C"`): a foreign key needs types PostgreSQL can compare
 * (a uuid key and a varchar column are not). Undefined when the column does not exist.
 */
export async function postgresColumnType(db: Pinned, table: string, column: string): Promise<string | undefined> {
  const [found] = await rows<{ type: string; coll: string | null }>(
    db,
    `SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS coll
     FROM pg_catalog.pg_attribute a
     JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
     LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
     WHERE a.attrelid = ${TABLE} AND a.attname = ? AND a.attnum > 0 AND NOT a.attisdropped`,
    [table, column],
  );
  if (!found) return undefined;
  return found.coll ? `${found.type} COLLATE ${quote(found.coll)}` : found.type;
}

export async function readPostgresConstraints(db: Pinned, table: string): Promise<TableConstraints> {
  const indexes = await rows<{ name: string; columns: Array<string | null>; unique: boolean; partial: boolean }>(
    db,
    `SELECT ic.relname AS name, i.indisunique AS "unique", i.indpred IS NOT NULL AS partial,
       ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, pos)
             LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num AND k.num > 0
             WHERE k.pos <= i.indnkeyatts ORDER BY k.pos) AS columns
     FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
     WHERE i.indrelid = ${TABLE}
     ORDER BY ic.relname`,
    [table],
  );
  const keys = await rows<{ name: string; columns: string[]; target: string; references: string[]; rule: string }>(
    db,
    `SELECT k.conname AS name, t.relname AS target, k.confdeltype AS rule,
       ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY c(num, pos)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = c.num ORDER BY c.pos) AS columns,
       ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY c(num, pos)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = c.num ORDER BY c.pos) AS "references"
     FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class t ON t.oid = k.confrelid
     WHERE k.contype = 'f' AND k.conrelid = ${TABLE}
     ORDER BY k.conname`,
    [table],
  );
  return {
    // An expression part reads as NULL (no attribute): a null column, as the contract says.
    indexes: indexes.map((i): ExistingIndex => ({ ...i, columns: i.columns.map((c) => c ?? null) })),
    foreignKeys: keys.map((k): ExistingForeignKey => ({
      name: k.name,
      columns: k.columns,
      target: k.target,
      references: k.references,
      onDelete: deleteRule(k.rule),
    })),
  };
}

/** Every foreign key of the current schema's tables (one statement). */
export async function readPostgresDeleteRules(db: Pinned): Promise<DeleteRule[]> {
  const found = await rows<{ t: string; target: string; rule: string }>(
    db,
    `SELECT c.relname AS t, t.relname AS target, k.confdeltype AS rule
     FROM pg_catalog.pg_constraint k
     JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
     JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace
     JOIN pg_catalog.pg_class t ON t.oid = k.confrelid
     WHERE k.contype = 'f' AND s.nspname = current_schema()`,
    [],
  );
  return found.map((r) => ({ table: r.t, target: r.target, onDelete: deleteRule(r.rule) }));
}

/**
 * One ALTER TABLE per key, inside the sync's transaction: rows that break one fail it
 * with 23503 (a ForeignKeyViolationError), and the whole sync is undone.
 */
export async function addPostgresForeignKeys(
  db: Pinned,
  table: string,
  keys: readonly ForeignKeySpec[],
): Promise<void> {
  for (const k of keys) {
    await db.schema().alterTable(table, (t) => {
      t.foreign(k.column, k.name).references(k.targetColumn).inTable(k.target).onDelete(k.onDelete.toUpperCase());
    });
  }
}

/** pg_constraint.confdeltype as the ON DELETE clause it stands for. */
function deleteRule(code: string): string {
  return DELETE_RULES[code] ?? 'NO ACTION';
}

const DELETE_RULES: Readonly<Record<string, string>> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

async function rows<R>(db: Pinned, sql: string, bindings: readonly Knex.RawBinding[]): Promise<R[]> {
  const result = (await db.raw(sql, bindings)) as unknown as { rows: R[] };
  return result.rows;
}

/**
 * The function the trigger of followGivenKeys runs: moves the sequence named by its
 * first argument to the key (its second argument names the column) of the row inserted.
 */
const FOLLOW_FUNCTION = `CREATE OR REPLACE FUNCTION proxorm_follow_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_catalog.setval(TG_ARGV[0]::regclass, (pg_catalog.to_jsonb(NEW) ->> TG_ARGV[1])::bigint);
  RETURN NEW;
END $$`;

/**
 * For a generated (identity) key: a row inserted with a key past the sequence's last
 * value moves the sequence there, so that the next generated key is past it, as MySQL's
 * AUTO_INCREMENT and SQLite's AUTOINCREMENT go. A BEFORE INSERT trigger whose WHEN clause
 * compares the key with the sequence (a generated key never passes it, so the function
 * runs only for given keys). setval is not transactional: a rolled-back insert leaves
 * the sequence moved, as on MySQL. Tables proxorm did not create keep their own rules.
 */
export async function followGivenKeys(db: Pinned, table: string, key: PrimaryKeyDef | undefined): Promise<void> {
  if (!key || key.type !== 'integer' || !key.generated) return;
  const [found] = await rows<{ seq: string | null }>(
    db,
    'SELECT pg_catalog.pg_get_serial_sequence(pg_catalog.quote_ident(current_schema()) || ? || pg_catalog.quote_ident(?), ?) AS seq',
    ['.', table, key.column],
  );
  if (!found?.seq) return;
  await db.raw(FOLLOW_FUNCTION);
  // DDL takes no bound values: the names are quoted here, the sequence as a literal.
  const seq = `'${found.seq.replace(/'/g, "''")}'`;
  await db.raw(
    `CREATE TRIGGER proxorm_follow_key BEFORE INSERT ON ${quote(table)} FOR EACH ROW
     WHEN (NEW.${quote(key.column)} > COALESCE(pg_catalog.pg_sequence_last_value(${seq}::regclass), 0))
     EXECUTE FUNCTION proxorm_follow_key(${seq}, '${key.column.replace(/'/g, "''")}')`,
  );
}
