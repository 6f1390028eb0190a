import 'reflect-metadata';
import { BaseModel, Environment, type EnvironmentConfig, Field, Model } from '../lib';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openDatabase, type DatabaseConfig } from '../lib/db/database';
import { describeEachDatabase, type TestDatabase } from './helpers/databases';

/*
 * Adversarial review of the PostgreSQL dialect (issue 13): each test states a promise that
 * must hold on every database, and was written failing on PostgreSQL before its fix.
 */

@Model('rpg_value')
class Value extends BaseModel {
  @Field.datetime() when!: Date | null;
  @Field.float() ratio!: number | null;
  @Field.json() data!: unknown;
}

/** A table name of 63 characters: the longest every database takes (PostgreSQL's NAMEDATALEN - 1). */
const LONGEST_TABLE = `rpg_${'t'.repeat(59)}`;

@Model({ name: 'rpg_longest', table: LONGEST_TABLE })
class Longest extends BaseModel {
  @Field.string() name!: string | null;
}

/**
 * `db`'s connection with the session settings a server may give every new session
 * (`ALTER DATABASE ... SET`, `ALTER ROLE ... SET`, postgresql.conf), here as startup options
 * of the connection so that no other suite sees them: PostgreSQL's DateStyle changes how
 * timestamps are written out, extra_float_digits how many digits a double keeps. The other
 * databases take their usual config: the promise is the same everywhere.
 */
function withServerSessionSettings(db: TestDatabase): EnvironmentConfig {
  if (db.name !== 'postgres') return db.config;
  const { connection } = db.config as { connection: string };
  return {
    client: 'pg',
    connection: { connectionString: connection, options: '-c DateStyle=German -c extra_float_digits=0' },
  };
}

/**
 * Two routes to `db`'s database: on PostgreSQL TCP (its URL) and the server's Unix socket,
 * on MariaDB 127.0.0.1 and localhost, on SQLite a file by two spellings of its path.
 */
async function twoRoutes(db: TestDatabase): Promise<[DatabaseConfig, DatabaseConfig]> {
  if (db.name === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxorm-rpg-'));
    return [
      { filename: path.join(dir, 'one.db') },
      { filename: path.join(dir, '.', '..', path.basename(dir), 'one.db') },
    ];
  }
  const { client, connection } = db.config as { client: 'mysql2' | 'pg'; connection: string };
  const url = new URL(connection);
  if (db.name === 'mariadb') {
    const other = new URL(connection);
    other.hostname = url.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
    return [db.config, { client, connection: other.toString() }];
  }
  const probe = await openDatabase(db.config);
  let socketDir: string;
  try {
    const { rows } = await probe.knex.raw<{ rows: Array<{ dirs: string }> }>(
      "SELECT current_setting('unix_socket_directories') AS dirs",
    );
    socketDir = rows[0].dirs.split(',')[0].trim();
  } finally {
    await probe.knex.destroy();
  }
  const socket = {
    host: socketDir,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
  };
  return [db.config, { client: 'pg', connection: socket }];
}

describeEachDatabase('review: postgres', (db) => {
  it('gives one database reached by two routes one identity (the key space of the shared cache)', async () => {
    const identities: string[] = [];
    const routes = await twoRoutes(db);
    try {
      for (const config of routes) {
        const opened = await openDatabase(config);
        identities.push(opened.identity);
        await opened.knex.destroy();
      }
    } finally {
      if ('filename' in routes[0]) fs.rmSync(path.dirname(routes[0].filename!), { recursive: true, force: true });
    }
    expect(identities[1]).toBe(identities[0]);
  });

  it("reads back from the database what the cache holds after a write, whatever the server's session settings", async () => {
    const root = await db.open({ models: [Value] });
    const env = await Environment.open({ ...withServerSessionSettings(db), models: [Value] });
    try {
      await env.sync(); // SQLite: another in-memory database; the servers: the tables root made
      const written = { when: new Date('2021-06-01T12:34:56.789Z'), ratio: 0.1 + 0.2, data: { r: 0.1 + 0.2 } };
      const rec = await env.model(Value).create(written);
      const cached = { when: await rec.when, ratio: await rec.ratio, data: await rec.data };
      const fresh = env.fork().model(Value).browse(rec.ids[0]);
      const read = { when: await fresh.when, ratio: await fresh.ratio, data: await fresh.data };
      expect(cached).toEqual(written);
      expect(read).toEqual(cached);
      expect(
        (
          await env
            .fork()
            .model(Value)
            .search([['when', '=', written.when]])
        ).ids,
      ).toEqual(rec.ids);
    } finally {
      await env.close();
      await root.close();
    }
  });

  it('syncs and uses a table whose name has the longest length every database takes (63 characters)', async () => {
    const env = await db.open({ models: [Longest] });
    try {
      const rec = await env.model(Longest).create({ name: 'a' });
      expect(await env.fork().model(Longest).browse(rec.ids[0]).name).toBe('a');
      await env.sync(); // a second run finds the table and its key as they are
      expect(await env.fork().model(Longest).searchCount([])).toBe(1);
    } finally {
      await env.close();
    }
  });
});
