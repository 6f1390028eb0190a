import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import knexFactory from 'knex';
import { BaseModel, ConnectionError, Environment, Field, Model, QueryTimeoutError, ValidationError } from '../lib';
import { announceSkipped } from './helpers/databases';

/**
 * Faults on a MariaDB server of this file's own (scripts/mariadb.sh on another port), so
 * that stopping it does not disturb the other suites: the server stops mid-run, a
 * statement times out, a connection dies inside a transaction. Each gives a typed
 * error, the cache keeps nothing from the failed call, and once the server is back the
 * same Environment works again.
 */

@Model('fault_item')
class Item extends BaseModel {
  @Field() name!: string;
  @Field.integer() qty!: number | null;
}

const SCRIPT = path.join(__dirname, '..', 'scripts', 'mariadb.sh');
const SERVER = { ...process.env, PROXORM_MARIADB_DIR: '/tmp/proxorm-faults', PROXORM_MARIADB_PORT: '33317' };
const server = (cmd: 'start' | 'stop') =>
  execFileSync('bash', [SCRIPT, cmd], { env: SERVER, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .trim()
    .split('\n')
    .pop() ?? '';

if (!process.env.PROXORM_MYSQL_URL) announceSkipped('faults [mariadb]');
else
  describe('faults [mariadb]', () => {
    let url: string;
    let env: Environment;

    beforeAll(() => {
      url = server('start');
    }, 60_000);
    afterAll(() => {
      server('stop');
    }, 60_000);

    beforeEach(async () => {
      env = await Environment.open({ client: 'mysql2', connection: url, queryTimeout: 1000 });
      await env.knex.schema.dropTableIfExists('fault_item');
      await env.sync();
    });
    afterEach(async () => {
      await env.close();
    });

    it('the server stops mid-run: typed errors, nothing cached from the failed calls, then it works again', async () => {
      const items = await env
        .fork()
        .model(Item)
        .create([
          { name: 'a', qty: 1 },
          { name: 'b', qty: 2 },
        ]);
      const work = env.fork();
      const a = work.model(Item).browse(items.ids[0]);
      expect(await a.name).toBe('a'); // loads both fields of a
      server('stop');
      const b = work.model(Item).browse(items.ids[1]);
      await expect(b.name).rejects.toThrow(ConnectionError);
      await expect(a.write({ qty: 10 })).rejects.toThrow(ConnectionError);
      await expect(work.model(Item).search([])).rejects.toThrow(ConnectionError);
      expect(work.cache.has('fault_item', 'name', items.ids[1])).toBe(false);
      expect(await a.qty).toBe(1); // the failed write did not reach the cache
      server('start');
      // The same Environment, without a restart.
      expect(await b.name).toBe('b');
      await a.write({ qty: 10 });
      expect(await env.fork().model(Item).browse(a.id).qty).toBe(10);
    }, 60_000);

    it('a statement past queryTimeout is cancelled with QueryTimeoutError and changes nothing', async () => {
      const item = await env.model(Item).create({ name: 'locked', qty: 1 });
      const other = knexFactory({ client: 'mysql2', connection: url });
      try {
        const trx = await other.transaction();
        await trx.raw('SELECT * FROM fault_item WHERE id = ? FOR UPDATE', [item.id]); // hold the row lock
        const started = Date.now();
        await expect(item.write({ qty: 2 })).rejects.toThrow(QueryTimeoutError);
        expect(Date.now() - started).toBeLessThan(5000);
        await trx.rollback();
        expect(await item.qty).toBe(1);
        expect(await env.fork().model(Item).browse(item.id).qty).toBe(1);
        await item.write({ qty: 3 }); // the Environment still works
        expect(await env.fork().model(Item).browse(item.id).qty).toBe(3);
      } finally {
        await other.destroy();
      }
    }, 60_000);

    it('a connection killed inside a transaction: ConnectionError, rolled back, cache dropped, then it works again', async () => {
      const item = await env.model(Item).create({ name: 'x', qty: 1 });
      const killer = knexFactory({ client: 'mysql2', connection: url });
      try {
        await expect(
          env.transaction(async (tx) => {
            await item.write({ qty: 50 });
            expect(await item.qty).toBe(50);
            const [rows] = await tx.knex.raw('SELECT CONNECTION_ID() AS id');
            await killer.raw(`KILL ${Number(rows[0].id)}`);
            await item.write({ name: 'after kill' });
          }),
        ).rejects.toThrow(ConnectionError);
        // Nothing of the transaction reached the committed-state cache: it still serves 1.
        expect(await item.qty).toBe(1);
        expect(await item.name).toBe('x');
        await item.write({ qty: 7 });
        expect(await env.fork().model(Item).browse(item.id).qty).toBe(7);
      } finally {
        await killer.destroy();
      }
    }, 60_000);

    it('a bad queryTimeout is a ValidationError', async () => {
      await expect(Environment.open({ queryTimeout: -1 })).rejects.toThrow(ValidationError);
    });
  });

/**
 * The same faults on PostgreSQL, on the test database of PROXORM_PG_URL (the server is
 * shared, so it is not stopped: its backends are ended with pg_terminate_backend, which is
 * what a server restart does to every connection).
 */
const pgUrl = process.env.PROXORM_PG_URL;
if (!pgUrl) {
  if (process.env.REQUIRE_PG === '1')
    describe('faults [postgres]', () => {
      it('needs PostgreSQL (REQUIRE_PG=1) but PROXORM_PG_URL is not set', () => {
        throw new Error('PostgreSQL required but not available');
      });
    });
  else announceSkipped('faults [postgres]', 'postgres');
} else
  describe('faults [postgres]', () => {
    let env: Environment;
    let admin: ReturnType<typeof knexFactory>;

    beforeEach(async () => {
      env = await Environment.open({ client: 'pg', connection: pgUrl, queryTimeout: 1000, models: [Item] });
      await env.knex.schema.dropTableIfExists('fault_item');
      await env.sync();
      admin = knexFactory({ client: 'pg', connection: pgUrl });
    });
    afterEach(async () => {
      await admin.destroy();
      await env.close();
    });

    /** Ends every other backend of this database, as a server restart would (not admin's own). */
    async function terminateAll(): Promise<number> {
      const { rows } = await admin.raw(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      return rows[0].n as number;
    }

    it('every connection ended under a load waiting in the server: ConnectionError, nothing cached, then it works again', async () => {
      const items = await env
        .fork()
        .model(Item)
        .create([
          { name: 'a', qty: 1 },
          { name: 'b', qty: 2 },
        ]);
      const work = env.fork();
      const a = work.model(Item).browse(items.ids[0]);
      expect(await a.name).toBe('a');
      // The write waits in the server for a row lock that admin holds; then every backend ends.
      const trx = await admin.transaction();
      await trx.raw('SELECT * FROM fault_item WHERE id = ? FOR UPDATE', [items.ids[0]]);
      const write = a.write({ qty: 10 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      for (let i = 0; i < 500; i++) {
        const { rows } = await admin.raw(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        if (rows[0].n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10)); // polling for a state, not deciding an outcome
      }
      expect(await terminateAll()).toBeGreaterThan(0);
      expect(await write).toBeInstanceOf(ConnectionError);
      await trx.rollback().catch(() => undefined); // its own connection was ended too
      expect(await a.qty).toBe(1); // the failed write did not reach the cache
      // The same Environment, without a restart: dead pooled connections are replaced.
      await a.write({ qty: 10 });
      expect(await env.fork().model(Item).browse(a.id).qty).toBe(10);
    }, 60_000);

    it('a statement past queryTimeout is cancelled (pg_cancel_backend) with QueryTimeoutError and changes nothing', async () => {
      const item = await env.model(Item).create({ name: 'locked', qty: 1 });
      const trx = await admin.transaction();
      try {
        await trx.raw('SELECT * FROM fault_item WHERE id = ? FOR UPDATE', [item.id]); // hold the row lock
        const started = Date.now();
        await expect(item.write({ qty: 2 })).rejects.toThrow(QueryTimeoutError);
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        await trx.rollback();
      }
      expect(await item.qty).toBe(1);
      expect(await env.fork().model(Item).browse(item.id).qty).toBe(1);
      await item.write({ qty: 3 }); // the Environment still works
      expect(await env.fork().model(Item).browse(item.id).qty).toBe(3);
    }, 60_000);

    it('a read past queryTimeout inside a transaction: QueryTimeoutError, and the transaction goes on and commits', async () => {
      const [locked, free] = (
        await env.model(Item).create([
          { name: 'locked', qty: 1 },
          { name: 'free', qty: 1 },
        ])
      ).ids;
      const trx = await admin.transaction();
      try {
        await trx.raw('LOCK TABLE fault_item IN ACCESS EXCLUSIVE MODE'); // every read of it waits
        const work = env.fork();
        const done = work.transaction(async () => {
          await expect(work.model(Item).search([['id', '=', locked]])).rejects.toThrow(QueryTimeoutError);
          await trx.rollback(); // the lock goes; the transaction is still usable
          await work.model(Item).browse(free).write({ qty: 5 });
          expect(await work.model(Item).searchCount([['qty', '=', 5]])).toBe(1);
        });
        await done;
      } finally {
        if (!trx.isCompleted()) await trx.rollback();
      }
      expect(await env.fork().model(Item).browse(free).qty).toBe(5);
    }, 60_000);

    it('a connection ended inside a transaction: ConnectionError, rolled back, cache dropped, then it works again', async () => {
      const item = await env.model(Item).create({ name: 'x', qty: 1 });
      await expect(
        env.transaction(async (tx) => {
          await item.write({ qty: 50 });
          expect(await item.qty).toBe(50);
          const { rows } = await tx.knex.raw('SELECT pg_backend_pid() AS pid');
          await admin.raw('SELECT pg_terminate_backend(?)', [rows[0].pid]);
          await item.write({ name: 'after kill' });
        }),
      ).rejects.toThrow(ConnectionError);
      // Nothing of the transaction reached the committed-state cache: it still serves 1.
      expect(await item.qty).toBe(1);
      expect(await item.name).toBe('x');
      await item.write({ qty: 7 });
      expect(await env.fork().model(Item).browse(item.id).qty).toBe(7);
    }, 60_000);
  });
