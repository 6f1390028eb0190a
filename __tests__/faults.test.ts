import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { BaseModel, ConnectionError, Environment, Field, Model, QueryTimeoutError, ValidationError } from '../lib';
import { announceSkipped } from './helpers/databases';
import { isSelected } from './helpers/selected-databases';
import { postgresInstalled } from './setup/postgres-setup';

/**
 * Faults on servers of this file's own (scripts/mariadb.sh and scripts/postgres.sh on
 * ports and directories no other suite uses), so that stopping or killing them disturbs
 * no other suite: the server stops or dies mid-run, a statement times out, a connection
 * dies inside a transaction. Each gives a typed error, the cache keeps nothing from the
 * failed call, and once the server is back the same Environment works again.
 */

@Model('fault_item')
class Item extends BaseModel {
  @Field() name!: string;
  @Field.integer() qty!: number | null;
}

/** Runs `bash scripts/<script> <command>` for a server of this file's own; returns the last line it printed (start: its URL). */
type ServerScript = (command: 'start' | 'stop' | 'kill' | 'restart') => string;

function ownServer(script: string, settings: Readonly<Record<string, string>>): ServerScript {
  const file = path.join(__dirname, '..', 'scripts', script);
  return (command) =>
    execFileSync('bash', [file, command], {
      env: { ...process.env, ...settings },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    })
      .trim()
      .split('\n')
      .pop() ?? '';
}

/** The outcome of a call that is expected to fail: its error (or undefined), awaited later. */
function settle(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => undefined,
    (e: unknown) => e,
  );
}

/**
 * The server stops while a fork holds a loaded record: reads and writes fail with
 * ConnectionError and cache nothing, and after the server is started again the same
 * Environment, without a restart of its own, reads and writes.
 */
async function serverStopsMidRun(env: Environment, server: ServerScript): Promise<void> {
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
  const b = work.model(Item).browse(items.ids[1]);
  server('stop');
  try {
    await expect(b.name).rejects.toThrow(ConnectionError);
    await expect(a.write({ qty: 10 })).rejects.toThrow(ConnectionError);
    await expect(work.model(Item).search([])).rejects.toThrow(ConnectionError);
    expect(work.cache.has('fault_item', 'name', items.ids[1])).toBe(false);
    expect(await a.qty).toBe(1); // the failed write did not reach the cache
  } finally {
    server('start'); // also when an expectation failed: the next tests need the server
  }
  // The same Environment, without a restart.
  expect(await b.name).toBe('b');
  await a.write({ qty: 10 });
  expect(await env.fork().model(Item).browse(a.id).qty).toBe(10);
}

// Needs no server: the file keeps a test when no server database is selected (jest fails a file without one).
describe('faults', () => {
  it('a bad queryTimeout is a ValidationError', async () => {
    await expect(Environment.open({ queryTimeout: -1 })).rejects.toThrow(ValidationError);
  });
});

const mariadb = ownServer('mariadb.sh', { PROXORM_MARIADB_DIR: '/tmp/proxorm-faults', PROXORM_MARIADB_PORT: '33317' });

if (!isSelected('mariadb')) {
  // PROXORM_TEST_DATABASES leaves MariaDB out: nothing of it is tested.
} else if (!process.env.PROXORM_MYSQL_URL) announceSkipped('faults [mariadb]');
else
  describe('faults [mariadb]', () => {
    let url: string;
    let env: Environment;

    beforeAll(() => {
      url = mariadb('start');
    }, 60_000);
    afterAll(() => {
      mariadb('stop');
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
      await serverStopsMidRun(env, mariadb);
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
  });

/**
 * The same faults on a PostgreSQL of this file's own (scripts/postgres.sh: its cluster on
 * 5451 under /tmp/proxorm-faults-pg), which is stopped, and killed with its backends, as a
 * crash would; besides, backends ended one by one with pg_terminate_backend (what an
 * administrator or a failover does to a live server), and a timed-out read inside a
 * transaction, which PostgreSQL would otherwise abort.
 */
const postgres = ownServer('postgres.sh', { PROXORM_PG_DIR: '/tmp/proxorm-faults-pg', PROXORM_PG_PORT: '5451' });

if (!isSelected('postgres')) {
  // PROXORM_TEST_DATABASES leaves PostgreSQL out: nothing of it is tested.
} else if (!postgresInstalled()) {
  if (process.env.REQUIRE_PG === '1')
    describe('faults [postgres]', () => {
      it('needs PostgreSQL (REQUIRE_PG=1) but it is not installed (bash scripts/postgres.sh install)', () => {
        throw new Error('PostgreSQL required but not installed');
      });
    });
  else
    console.warn(
      '!!! NOT RUN: faults [postgres]: PostgreSQL is not installed (run "bash scripts/postgres.sh install")',
    );
} else
  describe('faults [postgres]', () => {
    let url: string;
    let env: Environment;
    /** Connections of their own, to hold locks and watch the server. */
    let admin: Knex;

    beforeAll(() => {
      url = postgres('start');
    }, 120_000);
    afterAll(() => {
      postgres('stop');
    }, 120_000);

    beforeEach(async () => {
      env = await Environment.open({ client: 'pg', connection: url, queryTimeout: 1000, models: [Item] });
      await env.knex.schema.dropTableIfExists('fault_item');
      await env.sync();
      admin = knexFactory({ client: 'pg', connection: url });
    });
    afterEach(async () => {
      await admin.destroy();
      await env.close();
    });

    /** Polls the server until it shows a state the test waits for; one it never shows (in 500 polls, some seconds) fails the test. */
    async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
      for (let i = 0; i < 500; i++) {
        const found = await probe();
        if (found !== undefined) return found;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`the server never showed ${what}`);
    }

    /** The backend of the one statement that waits for a lock in this database, once it waits. */
    function waitingForALock(): Promise<number> {
      return until('a statement waiting for a lock', async () => {
        const { rows } = await admin.raw(
          "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        if (rows.length > 1) throw new Error(`${rows.length} statements wait for a lock`);
        return rows.length === 1 ? (rows[0].pid as number) : undefined;
      });
    }

    /** Ends every other backend of this database, as a server restart would (not admin's own). */
    async function terminateAll(): Promise<number> {
      const { rows } = await admin.raw(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      return rows[0].n as number;
    }

    it('the server stops mid-run: typed errors, nothing cached from the failed calls, then it works again', async () => {
      await serverStopsMidRun(env, postgres);
    }, 60_000);

    it('the server is killed under a write waiting in it: ConnectionError, nothing cached, what was committed kept, then it works again', async () => {
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
      // The write waits in the server for a row lock that admin holds; then the server dies (SIGKILL, backends too).
      const trx = await admin.transaction();
      await trx.raw('SELECT * FROM fault_item WHERE id = ? FOR UPDATE', [a.id]);
      const write = settle(a.write({ qty: 10 }));
      await waitingForALock();
      const b = work.model(Item).browse(items.ids[1]);
      postgres('kill');
      try {
        const error = await write;
        await trx.rollback().catch(() => undefined); // its connection died with the server
        expect(error).toBeInstanceOf(ConnectionError);
        // While it is down, every call is refused: ConnectionError, and nothing cached.
        await expect(b.name).rejects.toThrow(ConnectionError);
        await expect(work.model(Item).search([])).rejects.toThrow(ConnectionError);
        expect(work.cache.has('fault_item', 'name', items.ids[1])).toBe(false);
        expect(await a.qty).toBe(1); // the failed write did not reach the cache
      } finally {
        postgres('restart'); // also when an expectation failed: the next tests need the server
      }
      // The same Environment, without a restart of its own; the rows committed before the kill are there.
      expect(await b.name).toBe('b');
      expect(await env.fork().model(Item).browse(a.id).qty).toBe(1);
      await a.write({ qty: 10 });
      expect(await env.fork().model(Item).browse(a.id).qty).toBe(10);
    }, 60_000);

    it('every connection ended under a write waiting in the server: ConnectionError, nothing cached, then it works again', async () => {
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
      const write = settle(a.write({ qty: 10 }));
      await waitingForALock();
      const ended = await terminateAll();
      const error = await write;
      await trx.rollback().catch(() => undefined); // its own connection was ended too
      expect(ended).toBeGreaterThan(0);
      expect(error).toBeInstanceOf(ConnectionError);
      expect(await a.qty).toBe(1); // the failed write did not reach the cache
      // The same Environment, without a restart: dead pooled connections are replaced.
      await a.write({ qty: 10 });
      expect(await env.fork().model(Item).browse(a.id).qty).toBe(10);
    }, 60_000);

    it('a statement past queryTimeout is cancelled on the server (pg_cancel_backend) with QueryTimeoutError and changes nothing', async () => {
      const item = await env.model(Item).create({ name: 'locked', qty: 1 });
      const trx = await admin.transaction();
      try {
        await trx.raw('SELECT * FROM fault_item WHERE id = ? FOR UPDATE', [item.id]); // hold the row lock
        const started = Date.now();
        const write = settle(item.write({ qty: 2 }));
        const pid = await waitingForALock();
        expect(await write).toBeInstanceOf(QueryTimeoutError);
        expect(Date.now() - started).toBeLessThan(5000);
        // While the lock is still held, its backend stops waiting (cancelled) and lives on (not ended).
        const after = await until('the timed-out statement cancelled', async () => {
          const { rows } = await admin.raw(
            'SELECT pid, wait_event_type AS waiting FROM pg_stat_activity WHERE pid = ?',
            [pid],
          );
          return rows.length === 0 || rows[0].waiting !== 'Lock' ? rows.map((r: { pid: number }) => r.pid) : undefined;
        });
        expect(after).toEqual([pid]);
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
