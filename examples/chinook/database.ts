/**
 * Fresh copies of the Chinook sample database (data/, MIT, see data/LICENSE.md), for the
 * example and the tests: proxorm maps it as it is, so every user gets an untouched copy.
 *
 * - SQLite: the shipped file copied into a new temporary directory.
 * - MySQL / MariaDB: the shipped script (Chinook_MySql.sql, as published) run on one
 *   connection, with its database name `Chinook` rewritten to the one asked for. The
 *   script drops and recreates that database; it takes about half a second.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createConnection } from 'mysql2/promise';

export const CHINOOK_DATA = path.join(__dirname, 'data');
export const CHINOOK_SQLITE = path.join(CHINOOK_DATA, 'Chinook_Sqlite.sqlite');
export const CHINOOK_MYSQL_SCRIPT = path.join(CHINOOK_DATA, 'Chinook_MySql.sql');

/** A copy that belongs to its caller; `remove()` deletes it (and its directory). */
export interface SqliteCopy {
  readonly filename: string;
  remove(): void;
}

/** Copies the Chinook SQLite file into a new temporary directory. */
export function copyChinookSqlite(): SqliteCopy {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxorm-chinook-'));
  const filename = path.join(dir, 'chinook.sqlite');
  fs.copyFileSync(CHINOOK_SQLITE, filename);
  // The shipped file may be read-only (a checkout of a read-only tree): the copy is the caller's.
  fs.chmodSync(filename, 0o644);
  return { filename, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Database names the loader creates: plain identifiers only (they are spliced into the script). */
const DATABASE_NAME = /^[A-Za-z0-9_]{1,64}$/;

/**
 * The URL of database `database` on the server of `serverUrl` (same user, host, port).
 */
export function mysqlUrlFor(serverUrl: string, database: string): string {
  if (!DATABASE_NAME.test(database)) throw new Error(`not a plain database name: ${JSON.stringify(database)}`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * Runs the Chinook MySQL script into `database` on the server of `serverUrl` (which the
 * script drops first if it exists) and returns that database's URL. The database is
 * created with an explicit utf8mb4 default, so the result does not depend on the
 * server's character_set_server; the columns keep the script's own types (NVARCHAR is
 * utf8mb3_general_ci, a case-insensitive, PAD SPACE collation).
 */
export async function loadChinookMysql(serverUrl: string, database: string): Promise<string> {
  const url = mysqlUrlFor(serverUrl, database);
  const script = chinookMysqlScript(database);
  const base = new URL(serverUrl);
  base.pathname = '/';
  const connection = await createConnection({ uri: base.toString(), multipleStatements: true });
  try {
    await connection.query(script);
  } finally {
    await connection.end();
  }
  return url;
}

/** Drops a database the loader made (no error if it is gone). */
export async function dropChinookMysql(serverUrl: string, database: string): Promise<void> {
  if (!DATABASE_NAME.test(database)) throw new Error(`not a plain database name: ${JSON.stringify(database)}`);
  const base = new URL(serverUrl);
  base.pathname = '/';
  const connection = await createConnection({ uri: base.toString() });
  try {
    await connection.query(`DROP DATABASE IF EXISTS \`${database}\``);
  } finally {
    await connection.end();
  }
}

/** The shipped script with its database renamed; nothing else is changed. */
export function chinookMysqlScript(database: string): string {
  if (!DATABASE_NAME.test(database)) throw new Error(`not a plain database name: ${JSON.stringify(database)}`);
  const text = fs.readFileSync(CHINOOK_MYSQL_SCRIPT, 'utf8');
  const renamed = text
    .replace(
      'CREATE DATABASE `Chinook`;',
      `CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;`,
    )
    .replace(/`Chinook`/g, `\`${database}\``);
  if ((renamed.match(new RegExp(`\`${database}\``, 'g')) ?? []).length !== 3) {
    throw new Error('Chinook_MySql.sql: expected DROP DATABASE, CREATE DATABASE and USE of `Chinook`');
  }
  return renamed;
}
