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
import { Client } from 'pg';

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

/**
 * PostgreSQL has no published script in data/: the MySQL one, rewritten where the two
 * dialects differ (identifiers in double quotes, N'...' literals as plain ones, NVARCHAR
 * as VARCHAR, DATETIME as TIMESTAMP) and without its DROP / CREATE / USE DATABASE lines,
 * is run into database `database` (dropped first if it exists, then created) on the
 * server of `serverUrl`. Returns that database's URL. Its text columns use the database's
 * default collation (C.UTF-8 on the test server): exact, unlike MySQL's utf8mb3_general_ci.
 * One difference in the data: MySQL reads `\ ` in a literal as a space, PostgreSQL keeps
 * the backslash (as the SQLite file has it).
 */
export async function loadChinookPostgres(serverUrl: string, database: string): Promise<string> {
  const url = urlFor(serverUrl, database);
  await onServer(serverUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${database}"`);
  });
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(chinookPostgresScript());
  } finally {
    await client.end();
  }
  return url;
}

/** Drops a database loadChinookPostgres made (no error if it is gone). */
export async function dropChinookPostgres(serverUrl: string, database: string): Promise<void> {
  if (!DATABASE_NAME.test(database)) throw new Error(`not a plain database name: ${JSON.stringify(database)}`);
  await onServer(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
}

/** The MySQL script as PostgreSQL runs it (see loadChinookPostgres). */
export function chinookPostgresScript(): string {
  const text = fs.readFileSync(CHINOOK_MYSQL_SCRIPT, 'utf8');
  const body = text.slice(
    text.indexOf('/*******************************************************************************\n   Create Tables'),
  );
  if (body.length === text.length || /`Chinook`/.test(body))
    throw new Error('Chinook_MySql.sql: expected its database statements before "Create Tables" only');
  return body
    .replace(/`/g, '"')
    .replace(/\bNVARCHAR\(/g, 'VARCHAR(')
    .replace(/\bDATETIME\b/g, 'TIMESTAMP')
    .replace(/([(,]\s*)N'/g, "$1'");
}

/** The URL of database `database` on the server of `serverUrl` (any scheme). */
function urlFor(serverUrl: string, database: string): string {
  if (!DATABASE_NAME.test(database)) throw new Error(`not a plain database name: ${JSON.stringify(database)}`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Runs `fn` on a connection to the server's maintenance database (`postgres`). */
async function onServer<T>(serverUrl: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: urlFor(serverUrl, 'postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
