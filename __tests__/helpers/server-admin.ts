import mysql from 'mysql2/promise';
import { Client } from 'pg';
import type { TestDatabase } from './databases';

/**
 * A connection of its own to a test server (MariaDB or PostgreSQL), for tests that make
 * the server do something to proxorm's connections: hold a table lock a statement waits
 * for, find that statement, end its connection.
 */
export interface ServerAdmin {
  /** Takes a lock on `table` that any other read of it waits for, until unlockTables. */
  lockTable(table: string): Promise<void>;
  unlockTables(): Promise<void>;
  /**
   * The connection id of the one statement of another connection whose text is `like`
   * (an SQL LIKE pattern written with MySQL's backticks; PostgreSQL's double quotes are
   * matched in their place), once it is waiting in the server.
   */
  waitingStatement(like: string): Promise<number>;
  /** Ends that connection on the server (MariaDB KILL, PostgreSQL pg_terminate_backend). */
  kill(connection: number): Promise<void>;
  end(): Promise<void>;
}

export async function openAdmin(db: TestDatabase): Promise<ServerAdmin> {
  const url = (db.config as { connection: string }).connection;
  if (db.name === 'postgres') return postgresAdmin(url);
  if (db.name === 'mariadb') return mariadbAdmin(url);
  throw new Error('a server admin needs a server database');
}

/** Polls for a state the test waits for (never to decide an outcome). */
async function poll(find: () => Promise<number[]>, like: string): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const ids = await find();
    if (ids.length === 1) return ids[0];
    if (ids.length > 1) throw new Error(`${ids.length} statements match ${like}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no statement like ${like} reached the server`);
}

async function mariadbAdmin(url: string): Promise<ServerAdmin> {
  const admin = await mysql.createConnection(url);
  return {
    lockTable: async (table) => {
      await admin.query(`LOCK TABLES \`${table}\` WRITE`);
    },
    unlockTables: async () => {
      await admin.query('UNLOCK TABLES');
    },
    waitingStatement: (like) =>
      poll(async () => {
        const [rows] = (await admin.query(
          'SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID() AND info LIKE ?',
          [like],
        )) as unknown as [Array<{ id: number }>];
        return rows.map((r) => Number(r.id));
      }, like),
    kill: async (id) => {
      await admin.query(`KILL ${Number(id)}`);
    },
    end: () => admin.end(),
  };
}

async function postgresAdmin(url: string): Promise<ServerAdmin> {
  const admin = new Client({ connectionString: url });
  await admin.connect();
  return {
    // A lock lasts as long as the transaction that takes it.
    lockTable: async (table) => {
      await admin.query('BEGIN');
      await admin.query(`LOCK TABLE "${table}" IN ACCESS EXCLUSIVE MODE`);
    },
    unlockTables: async () => {
      await admin.query('COMMIT');
    },
    waitingStatement: (like) =>
      poll(async () => {
        // Inside the lock's transaction, pg_stat_activity would show the snapshot first read.
        await admin.query('SELECT pg_stat_clear_snapshot()');
        const { rows } = await admin.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
           AND wait_event_type = 'Lock' AND query LIKE $1`,
          [like.replace(/`/g, '"')],
        );
        return rows.map((r) => r.pid);
      }, like),
    kill: async (pid) => {
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    },
    end: () => admin.end(),
  };
}
