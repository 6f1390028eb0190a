/**
 * Counts SQL statements the same way for every contender.
 *
 * SQLite: every statement execution through either driver the contenders use
 * (better-sqlite3 for proxorm, knex, TypeORM, Objection and Drizzle; sqlite3 for
 * Sequelize and MikroORM) is counted by wrapping the drivers' own execute methods, in
 * this process, before any contender loads them.
 * PostgreSQL: every contender reaches the server through `pg` (node-postgres), whose
 * `Client#query` sends each statement (a pool's query goes through it too), so that one
 * method is wrapped the same way. The server has no statement counter short of the
 * pg_stat_statements extension, which needs a server restart to load.
 * MySQL/MariaDB: the server's `Questions` status counter, read over a separate
 * connection (each read adds one statement of its own, which is subtracted).
 */
import mysql from 'mysql2/promise';
import type { BenchDb } from './types';

/** Statements counted by the wrapped drivers (one database per run, so one count). */
let driverCount = 0;
const patched = new Set<string>();

function wrap(proto: Record<string, unknown>, names: string[]): void {
  for (const name of names) {
    const original = proto[name];
    if (typeof original !== 'function') continue;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      driverCount++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
}

export function patchSqliteDrivers(): void {
  if (patched.has('sqlite')) return;
  patched.add('sqlite');
  // better-sqlite3: statements share one prototype; exec runs raw SQL.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Better = require('better-sqlite3');
  const probe = new Better(':memory:');
  wrap(Object.getPrototypeOf(probe.prepare('SELECT 1')), ['all', 'get', 'run', 'iterate']);
  wrap(Better.prototype, ['exec']);
  probe.close();
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sqlite3 = require('sqlite3');
    // Database#all/get/run/each go through a Statement; exec does not.
    wrap(sqlite3.Statement.prototype, ['all', 'get', 'run', 'each']);
    wrap(sqlite3.Database.prototype, ['exec']);
  } catch {
    // sqlite3 not installed: contenders that need it will fail to set up, and say so.
  }
}

export function patchPgDriver(): void {
  if (patched.has('pg')) return;
  patched.add('pg');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require('pg') as { Client: { prototype: Record<string, unknown> } };
  wrap(pg.Client.prototype, ['query']);
}

export interface QueryCounter {
  read(): Promise<number>;
  close(): Promise<void>;
}

export async function queryCounter(db: BenchDb): Promise<QueryCounter> {
  if (db.kind !== 'mysql') {
    if (db.kind === 'sqlite') patchSqliteDrivers();
    else patchPgDriver();
    return { read: async () => driverCount, close: async () => undefined };
  }
  const conn = await mysql.createConnection(db.mysql!);
  let reads = 0;
  return {
    async read() {
      const [rows] = await conn.query("SHOW GLOBAL STATUS LIKE 'Questions'");
      reads++;
      return Number((rows as Array<{ Value: string }>)[0].Value) - reads;
    },
    close: () => conn.end(),
  };
}
