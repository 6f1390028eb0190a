/**
 * The part of the jest global setup that creates each worker's databases (see
 * helpers/worker-databases.ts) on the servers of PROXORM_MYSQL_URL and PROXORM_PG_URL:
 * for workers 2..maxWorkers, `<name>_wN` and its `<name>_wN_2`, with the character set
 * and collation (MariaDB) or encoding and locale (PostgreSQL) of the given database.
 * Existing ones are kept (the suites drop their tables themselves).
 */
import { workerDatabaseName } from '../helpers/worker-databases';

/** The databases worker 2..`workers` use in place of `name` and its second database. */
function workerNames(name: string, workers: number): string[] {
  const names: string[] = [];
  for (let worker = 2; worker <= workers; worker++) {
    const own = workerDatabaseName(name, worker);
    names.push(own, `${own}_2`);
  }
  return names;
}

async function createMariadbDatabases(url: string, workers: number): Promise<void> {
  const mysql = await import('mysql2/promise');
  const conn = await mysql.createConnection(url);
  try {
    const [rows] = (await conn.query(
      'SELECT DATABASE() AS name, default_character_set_name AS charset, default_collation_name AS coll ' +
        'FROM information_schema.schemata WHERE schema_name = DATABASE()',
    )) as unknown as [Array<{ name: string; charset: string; coll: string }>];
    const { name, charset, coll } = rows[0];
    for (const db of workerNames(name, workers)) {
      await conn.query(
        `CREATE DATABASE IF NOT EXISTS ${conn.escapeId(db)} CHARACTER SET ${conn.escape(charset)} COLLATE ${conn.escape(coll)}`,
      );
    }
  } finally {
    await conn.end();
  }
}

async function createPostgresDatabases(url: string, workers: number): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; encoding: string; collate: string; ctype: string }>(
      'SELECT datname AS name, pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype ' +
        'FROM pg_database WHERE datname = current_database()',
    );
    const { name, encoding, collate, ctype } = rows[0];
    for (const db of workerNames(name, workers)) {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (exists.rowCount !== 0) continue;
      // template0: a copy of template1 could carry what someone added to it, and only
      // template0 accepts another locale than its own.
      await client.query(
        `CREATE DATABASE ${client.escapeIdentifier(db)} TEMPLATE template0 ENCODING ${client.escapeLiteral(encoding)} ` +
          `LC_COLLATE ${client.escapeLiteral(collate)} LC_CTYPE ${client.escapeLiteral(ctype)}`,
      );
    }
  } finally {
    await client.end();
  }
}

const HINT = '(a server of your own that may not create them: run jest with --runInBand)';

/** Creates the databases of workers 2..`workers` on the servers the suites use. */
export async function setUpWorkerDatabases(workers: number): Promise<void> {
  if (workers <= 1) return;
  const mariadb = process.env.PROXORM_MYSQL_URL;
  const postgres = process.env.PROXORM_PG_URL;
  try {
    if (mariadb) await createMariadbDatabases(mariadb, workers);
  } catch (err) {
    throw new Error(`could not create the jest workers' MariaDB databases ${HINT}: ${(err as Error).message}`);
  }
  try {
    if (postgres) await createPostgresDatabases(postgres, workers);
  } catch (err) {
    throw new Error(`could not create the jest workers' PostgreSQL databases ${HINT}: ${(err as Error).message}`);
  }
}
