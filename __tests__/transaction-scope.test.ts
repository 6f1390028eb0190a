import 'reflect-metadata';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import {
  BaseModel,
  ConnectionError,
  Environment,
  EnvironmentError,
  Field,
  LockTimeoutError,
  Model,
  TransactionEndedError,
  type EnvironmentConfig,
} from '../lib';
import { statementHooks } from '../lib/db/executor';
import { countQueries, describeEachDatabase, type TestDatabase } from './helpers/databases';
import { openAdmin } from './helpers/server-admin';

/**
 * Issue 9: the scope of a transaction. What runs in it (statements sent from its async
 * context, awaited or not, env.knex), what is refused once it ended (never run in
 * autocommit), what cannot get a connection while it holds one (fails at once, typed),
 * and close(), a killed connection, a rolled-back write and a second process racing
 * loads and writes. Interleavings are forced with `statementHooks.afterReply` (hold a
 * reply until something else happened), table locks and stdout lines of a child
 * process, never decided by sleeps. A deadline (`within`) only turns a hang into a fast
 * failure.
 */

@Model('ts_item')
class Item extends BaseModel {
  @Field() name!: string;
  @Field.integer() qty!: number | null;
}

@Model('ts_lock_item')
class LockItem extends BaseModel {
  @Field() name!: string;
}

class Boom extends Error {}

// ---- helpers ----

/**
 * Holds the reply of the first statement whose SQL matches `match` (after the database
 * answered, before the caller sees it) until `release()`. Other statements pass.
 */
interface Held {
  /** Resolves with the SQL once the matching statement's reply is held. */
  readonly arrived: Promise<string>;
  release(): void;
}
let releaseAll: Array<() => void> = [];
function holdReply(match: RegExp): Held {
  let arrive!: (sql: string) => void;
  const arrived = new Promise<string>((resolve) => (arrive = resolve));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  releaseAll.push(release);
  let taken = false;
  statementHooks.afterReply = (sql) => {
    if (taken || !match.test(sql)) return undefined;
    taken = true;
    arrive(sql);
    return gate;
  };
  return { arrived, release };
}
afterEach(() => {
  statementHooks.afterReply = undefined;
  for (const release of releaseAll) release();
  releaseAll = [];
});

type Outcome<T> =
  | { status: 'fulfilled'; value: T; ms: number }
  | { status: 'rejected'; reason: unknown; ms: number }
  | { status: 'pending'; ms: number };

/** How `p` settled within `ms` (a deadline that only turns a hang into a fast failure). */
async function within<T>(p: Promise<T>, ms: number): Promise<Outcome<T>> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  try {
    const r = await Promise.race([
      p.then(
        (value) => ({ status: 'fulfilled' as const, value }),
        (reason: unknown) => ({ status: 'rejected' as const, reason }),
      ),
      deadline,
    ]);
    return r === 'pending' ? { status: 'pending', ms: Date.now() - started } : { ...r, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The error `p` rejects with, or "resolved with ..." if it resolves. Observes `p` at
 * once, so a promise the test awaits later is never an unhandled rejection meanwhile.
 */
function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => `resolved with ${String(v)}`,
    (e: unknown) => e,
  );
}

/** The value `p` resolves with, or "rejected: <class>: <message>" (observed at once, as rejection()). */
function fulfillment<T>(p: Promise<T>): Promise<T | string> {
  return p.then(
    (v) => v,
    (e: unknown) => `rejected: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`,
  );
}

const nameInDb = async (knex: Environment['knex'], id: number): Promise<string | undefined> =>
  (await knex('ts_item').where('id', id).first())?.name as string | undefined;
const rowCount = async (knex: Environment['knex'], table = 'ts_item'): Promise<number> =>
  Number((await knex(table).count({ n: '*' }))[0].n);

/** Statements the pool sends (BEGIN, SAVEPOINT, COMMIT included), in order. */
function queryLog(env: Environment): string[] {
  const log: string[] = [];
  env.knex.on('query', (q: { sql: string }) => log.push(q.sql));
  return log;
}

/** A SQLite file of its own, or the test MariaDB: a database a second pool can open. */
async function openShared(
  db: TestDatabase,
): Promise<{ env: Environment; config: Parameters<typeof Environment.open>[0]; cleanup(): void }> {
  if (db.name === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxorm-ts-'));
    const config = { filename: path.join(dir, 'db.sqlite') };
    const env = await Environment.open(config);
    await env.sync();
    return { env, config, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  return { env: await db.open(), config: db.config, cleanup: () => undefined };
}

describeEachDatabase('transaction scope: statements of the callback', (db) => {
  let env: Environment;
  beforeEach(async () => {
    env = await db.open();
  });
  afterEach(async () => {
    await env.close();
  });

  const items = () => env.model(Item);
  /** A record created through a fork: `env` has nothing of it cached. */
  const seed = async (name = 'orig') => (await env.fork().model(Item).create({ name, qty: 1 })).id;

  it('E1: a write the callback does not await is committed with the transaction and resolves', async () => {
    const id = await seed();
    let write: Promise<unknown> | undefined;
    let create: Promise<number | string> | undefined;
    const sent = await countQueries(env, () =>
      env.transaction(async () => {
        write = fulfillment(items().browse(id).write({ name: 'unawaited' }));
        create = fulfillment(
          items()
            .create({ name: 'created' })
            .then((r) => r.id),
        );
      }),
    );
    expect(sent).toBe(2); // the UPDATE and the INSERT, before the COMMIT
    expect(await write).toBeUndefined();
    const createdId = await create!;
    expect(typeof createdId).toBe('number');
    if (typeof createdId !== 'number') return;
    expect(await nameInDb(env.knex, id)).toBe('unawaited');
    expect(await nameInDb(env.knex, createdId)).toBe('created');
    // Both reached the Environment's committed cache with the transaction.
    expect(
      await countQueries(env, async () => {
        expect(await items().browse(id).name).toBe('unawaited');
        expect(await items().browse(createdId).name).toBe('created');
      }),
    ).toBe(0);
    expect(await env.fork().model(Item).browse(id).name).toBe('unawaited');
  });

  it('E1: a write the callback does not await is rolled back with a transaction that throws', async () => {
    const id = await seed();
    expect(await items().browse(id).name).toBe('orig');
    let write: Promise<unknown> | undefined;
    await expect(
      env.transaction(async () => {
        write = fulfillment(items().browse(id).write({ name: 'unawaited' }));
        throw new Boom('after an un-awaited write');
      }),
    ).rejects.toThrow(Boom);
    expect(await write).toBeUndefined(); // its savepoint was released inside the transaction; the ROLLBACK undid it
    expect(await nameInDb(env.knex, id)).toBe('orig');
    expect(await countQueries(env, async () => expect(await items().browse(id).name).toBe('orig'))).toBe(0);
  });

  it('t20: a write still in flight when the callback returns is committed with it, resolves, and the Environment reads it after', async () => {
    const id = await seed();
    expect(await items().browse(id).name).toBe('orig'); // cached before the transaction
    const log = queryLog(env);
    const held = holdReply(/^update/i);
    let write!: Promise<string>;
    let txSettled = false;
    const tx = env
      .transaction(async () => {
        write = items()
          .browse(id)
          .write({ name: 'escaped' })
          .then(
            () => 'resolved',
            (e: unknown) => `rejected: ${String(e)}`,
          );
        await held.arrived; // the UPDATE ran; its reply is held: the callback returns with it in flight
      })
      .finally(() => (txSettled = true));
    await held.arrived;
    if (db.name !== 'sqlite') {
      // Another connection: the transaction has not committed while the write is in flight.
      expect(await env.fork().model(Item).browse(id).name).toBe('orig');
    }
    expect(txSettled).toBe(false);
    expect(log.some((sql) => /^commit/i.test(sql))).toBe(false);
    log.push('-- released --');
    held.release();
    await tx;
    expect(await write).toBe('resolved');
    const commitAt = log.findIndex((sql) => /^commit/i.test(sql));
    expect(commitAt).toBeGreaterThan(log.indexOf('-- released --'));
    expect(await nameInDb(env.knex, id)).toBe('escaped');
    expect(await countQueries(env, async () => expect(await items().browse(id).name).toBe('escaped'))).toBe(0);
    expect(await env.fork().model(Item).browse(id).name).toBe('escaped');
  });

  // The next two extend E1 to reads: a read requested in the callback and not awaited.
  it('a read the callback does not await is answered inside the transaction, not refused', async () => {
    const id = await seed();
    let read: Promise<string> | undefined;
    const sent = await countQueries(env, () =>
      env.transaction(async () => {
        await items().browse(id).write({ qty: 7 });
        read = fulfillment(items().browse(id).name); // not cached: a load, requested before the callback returns
      }),
    );
    expect(await read).toBe('orig');
    expect(sent).toBe(2); // the UPDATE and the load, both inside the transaction
  });

  it('an un-awaited prefetch of more than 1,000 records (two statements) completes inside the transaction', async () => {
    const ids = (
      await env
        .fork()
        .model(Item)
        .create(Array.from({ length: 1001 }, (_, i) => ({ name: `n${i}` })))
    ).ids;
    let prefetch: Promise<unknown> | undefined;
    const sent = await countQueries(env, () =>
      env.transaction(async () => {
        prefetch = fulfillment(items().browse(ids).prefetch(['name']));
      }),
    );
    expect(await prefetch).toBeUndefined();
    expect(sent).toBe(2);
    expect(await countQueries(env, async () => expect(await items().browse(ids[1000]).name).toBe('n1000'))).toBe(0);
  });

  it("E2: a search or create sent from the callback's context after commit fails with TransactionEndedError and never runs", async () => {
    const id = await seed();
    let committed!: () => void;
    const afterCommit = new Promise<void>((resolve) => (committed = resolve));
    let search: Promise<unknown> | undefined;
    let create: Promise<unknown> | undefined;
    await env.transaction(async () => {
      await items().browse(id).write({ qty: 2 });
      // Timers set inside the callback fire after it returned; they wait for the commit.
      const fired = new Promise((resolve) => setTimeout(resolve, 0)).then(() => afterCommit);
      search = rejection(fired.then(() => items().search([])));
      create = rejection(fired.then(() => items().create({ name: 'late' })));
    });
    const before = env.stats.queries;
    committed();
    const e1 = await search;
    const e2 = await create;
    expect(e1).toBeInstanceOf(TransactionEndedError);
    expect(e1).toBeInstanceOf(EnvironmentError);
    expect(e2).toBeInstanceOf(TransactionEndedError);
    expect(env.stats.queries).toBe(before); // nothing was sent
    expect(await rowCount(env.knex)).toBe(1); // the create did not run in autocommit
    expect(await items().search([['name', '=', 'late']])).toHaveLength(0);
  });

  it("E2: env.knex from the callback's context after commit throws TransactionEndedError (a raw statement would run in autocommit)", async () => {
    const id = await seed();
    let committed!: () => void;
    const afterCommit = new Promise<void>((resolve) => (committed = resolve));
    let raw: Promise<unknown> | undefined;
    await env.transaction(async () => {
      raw = rejection(
        new Promise((resolve) => setTimeout(resolve, 0))
          .then(() => afterCommit)
          .then(() => env.knex('ts_item').where('id', id).update({ name: 'raw' })),
      );
    });
    committed();
    expect(await raw).toBeInstanceOf(TransactionEndedError);
    expect(await nameInDb(env.knex, id)).toBe('orig');
  });

  it("E2: a write sent from a rolled-back transaction's context after it ended is refused and never runs", async () => {
    const id = await seed();
    let ended!: () => void;
    const afterEnd = new Promise<void>((resolve) => (ended = resolve));
    let write: Promise<unknown> | undefined;
    await expect(
      env.transaction(async () => {
        write = rejection(
          new Promise((resolve) => setTimeout(resolve, 0))
            .then(() => afterEnd)
            .then(() => items().browse(id).write({ name: 'late' })),
        );
        throw new Boom();
      }),
    ).rejects.toThrow(Boom);
    const before = env.stats.queries;
    ended();
    expect(await write).toBeInstanceOf(TransactionEndedError);
    expect(env.stats.queries).toBe(before);
    expect(await nameInDb(env.knex, id)).toBe('orig');
    expect(await items().browse(id).name).toBe('orig');
  });

  it("a statement from an ended savepoint's context, while the outer transaction is open, is refused (neither the outer level nor autocommit runs it)", async () => {
    const id = await seed();
    let innerEnded!: () => void;
    const afterInner = new Promise<void>((resolve) => (innerEnded = resolve));
    let late: Promise<unknown> | undefined;
    await env.transaction(async () => {
      await env.transaction(async () => {
        await items().browse(id).write({ qty: 5 });
        late = rejection(afterInner.then(() => items().browse(id).write({ name: 'from the ended savepoint' })));
      });
      innerEnded();
      expect(await late).toBeInstanceOf(TransactionEndedError);
      expect(await items().browse(id).qty).toBe(5);
    });
    expect(await nameInDb(env.knex, id)).toBe('orig');
    expect(Number((await env.knex('ts_item').where('id', id).first()).qty)).toBe(5);
  });

  it('inside a transaction env.knex is the transaction: a raw UPDATE in a rolled-back transaction is rolled back too', async () => {
    const id = await seed();
    await expect(
      env.transaction(async (tx) => {
        await tx.knex('ts_item').where('id', id).update({ name: 'raw' });
        // Same connection, same transaction: proxorm's own statements see the raw write.
        expect(await tx.model(Item).searchCount([['name', '=', 'raw']])).toBe(1);
        throw new Boom();
      }),
    ).rejects.toThrow(Boom);
    expect(await nameInDb(env.knex, id)).toBe('orig');
  });

  it('inside a savepoint env.knex is the savepoint: its raw statements roll back with it, the outer level commits', async () => {
    const id = await seed();
    await env.transaction(async () => {
      await env.knex('ts_item').where('id', id).update({ qty: 10 });
      await expect(
        env.transaction(async () => {
          await env.knex('ts_item').where('id', id).update({ name: 'inner raw' });
          throw new Boom();
        }),
      ).rejects.toThrow(Boom);
      await env.knex('ts_item').insert({ name: 'outer raw' });
    });
    const row = await env.knex('ts_item').where('id', id).first();
    expect([row.name, Number(row.qty)]).toEqual(['orig', 10]);
    expect(await rowCount(env.knex)).toBe(2);
  });

  it('t23: a root-scope load in flight while a transaction writes one of its records and rolls back: the rolled-back value is never served', async () => {
    const ids = (
      await env
        .fork()
        .model(Item)
        .create(Array.from({ length: 1000 }, () => ({ name: 'orig' })))
    ).ids;
    const all = await items().search([]);
    const victim = all.at(700);
    const held = holdReply(/^select [`"]id[`"] as [`"]proxorm_key[`"], [`"]name[`"]/i);
    const first = all.at(0).name; // loads the 1,000 records in one statement
    await held.arrived; // its reply (all 'orig') is held: the load is in flight
    expect(env.stats.queries).toBe(2);
    await expect(
      env.transaction(async () => {
        await victim.write({ name: 'tx' });
        expect(await victim.name).toBe('tx');
        throw new Boom('rollback');
      }),
    ).rejects.toThrow(Boom);
    expect(env.stats.queries).toBe(3);
    held.release();
    expect(await first).toBe('orig');
    expect(await countQueries(env, async () => expect(await victim.name).toBe('orig'))).toBe(0);
    expect(await nameInDb(env.knex, ids[700])).toBe('orig');
    expect(await env.fork().model(Item).browse(ids[700]).name).toBe('orig');
  });

  it('t23, committed: a root-scope load that read the record before the transaction committed never puts the old value back', async () => {
    await env
      .fork()
      .model(Item)
      .create(Array.from({ length: 1000 }, () => ({ name: 'orig' })));
    const all = await items().search([]);
    const victim = all.at(700);
    const held = holdReply(/^select [`"]id[`"] as [`"]proxorm_key[`"], [`"]name[`"]/i);
    const first = all.at(0).name;
    await held.arrived;
    await env.transaction(async () => {
      await victim.write({ name: 'tx' });
    });
    held.release();
    expect(await first).toBe('orig');
    expect(await countQueries(env, async () => expect(await victim.name).toBe('tx'))).toBe(0);
    expect(await env.fork().model(Item).browse(victim.id).name).toBe('tx');
  });

  it("a loop over a search's records after a transaction that read them rolled back costs one query, not one per record", async () => {
    await env
      .fork()
      .model(Item)
      .create(Array.from({ length: 20 }, (_, i) => ({ name: `n${i}` })));
    const recs = await items().search([]);
    const loop = () =>
      countQueries(env, async () => {
        for (const rec of recs) await rec.name;
      });
    await expect(
      env.transaction(async () => {
        expect(await loop()).toBe(1); // loaded into the transaction's layer, dropped by the rollback
        throw new Boom();
      }),
    ).rejects.toThrow(Boom);
    expect(await loop()).toBe(1);
  });

  if (db.name !== 'sqlite') {
    it("a fork's read inside a transaction works on a pool of 10 and sees the committed value", async () => {
      const id = await seed();
      const fork = env.fork();
      const out = await env.transaction(async () => {
        await items().browse(id).write({ name: 'uncommitted' });
        return countQueries(fork, async () => expect(await fork.model(Item).browse(id).name).toBe('orig'));
      });
      expect(out).toBe(1);
      expect(await env.fork().model(Item).browse(id).name).toBe('uncommitted');
    });
  }
});

describeEachDatabase('transaction scope: a second connection from inside a transaction', (db) => {
  if (db.name === 'sqlite') {
    let env: Environment;
    let id: number;
    beforeEach(async () => {
      env = await db.open();
      id = (await env.fork().model(Item).create({ name: 'orig' })).id;
    });
    afterEach(async () => {
      await env.close();
    });

    it.each([
      ["a fork's read", (e: Environment, id: number): Promise<unknown> => e.fork().model(Item).browse(id).name],
      ["a fork's search", (e: Environment): Promise<unknown> => e.fork().model(Item).search([])],
      [
        "the root Environment's read, inside a fork's transaction",
        (e: Environment, id: number): Promise<unknown> => e.model(Item).browse(id).name,
      ],
    ])(
      'G: %s fails at once with EnvironmentError saying why; the transaction goes on and commits',
      async (_what, statement) => {
        const tx = env.fork(); // the transaction runs on a fork; the statement comes from another Environment of the pool
        const out = await tx.transaction(async () => {
          await tx.model(Item).browse(id).write({ name: 'in-tx' });
          return within(statement(env, id), 1000);
        });
        expect(out.status).toBe('rejected');
        const reason = (out as { reason: unknown }).reason;
        expect(reason).toBeInstanceOf(EnvironmentError);
        expect(reason).not.toBeInstanceOf(TransactionEndedError);
        expect(String((reason as Error).message)).toMatch(/single connection/);
        expect(out.ms).toBeLessThan(1000);
        expect(await nameInDb(env.knex, id)).toBe('in-tx');
      },
    );

    it('G: another pool on the same SQLite file is a second connection: its read inside the transaction runs at once and sees the committed value', async () => {
      const shared = await openShared(db);
      const other = await Environment.open(shared.config);
      try {
        const fileId = (await shared.env.model(Item).create({ name: 'orig' })).id;
        const out = await shared.env.transaction(async () => {
          await shared.env.model(Item).browse(fileId).write({ name: 'in-tx' });
          return within(other.model(Item).browse(fileId).name, 1000); // rollback journal: A's RESERVED lock lets readers in
        });
        expect(out).toMatchObject({ status: 'fulfilled', value: 'orig' });
        expect(await other.fork().model(Item).browse(fileId).name).toBe('in-tx');
      } finally {
        await other.close();
        await shared.env.close();
        shared.cleanup();
      }
    });

    it("G: a fork's write from inside a transaction fails at once with EnvironmentError (it would need a second connection)", async () => {
      let write!: Promise<unknown>;
      const out = await env.transaction(async () => {
        await env.model(Item).browse(id).write({ qty: 1 });
        write = env.fork().model(Item).browse(id).write({ name: 'fork' });
        return within(write, 1000);
      });
      const settledLater = await within(write, 60_000); // (on failure: the write waited for the connection)
      expect({
        status: out.status,
        error: out.status === 'rejected' ? (out.reason as Error).constructor.name : undefined,
      }).toEqual({
        status: 'rejected',
        error: 'EnvironmentError',
      });
      expect(settledLater.status).toBe('rejected');
      expect(await nameInDb(env.knex, id)).toBe('orig');
    }, 70_000);

    it("G: another Environment's transaction() from inside a transaction fails at once with EnvironmentError", async () => {
      const other = env.fork();
      let nested!: Promise<unknown>;
      const out = await env.transaction(async () => {
        nested = other.transaction(async () => other.model(Item).browse(id).write({ name: 'other' }));
        return within(nested, 1000);
      });
      const settledLater = await within(nested, 60_000);
      expect({
        status: out.status,
        error: out.status === 'rejected' ? (out.reason as Error).constructor.name : undefined,
      }).toEqual({
        status: 'rejected',
        error: 'EnvironmentError',
      });
      expect(settledLater.status).toBe('rejected');
      expect(await nameInDb(env.knex, id)).toBe('orig');
    }, 70_000);
  }

  if (db.name !== 'sqlite') {
    const withPool = (poolMax: number) => ({ ...db.config, poolMax }) as EnvironmentConfig;

    it("poolMax: 1: a fork's read inside a transaction fails at once with EnvironmentError (the single-connection rule)", async () => {
      const setup = await db.open();
      const id = (await setup.model(Item).create({ name: 'orig' })).id;
      await setup.close();
      const env = await Environment.open(withPool(1));
      try {
        const out = await env.transaction(async () => {
          await env.model(Item).browse(id).write({ qty: 3 });
          return within(env.fork().model(Item).browse(id).name, 1000);
        });
        expect(out.status).toBe('rejected');
        expect((out as { reason: unknown }).reason).toBeInstanceOf(EnvironmentError);
        expect(String(((out as { reason: unknown }).reason as Error).message)).toMatch(/single connection/);
        expect(Number((await env.knex('ts_item').where('id', id).first()).qty)).toBe(3);
      } finally {
        await env.close();
      }
    });

    it("poolMax: 1: a fork's write inside a transaction fails at once with EnvironmentError", async () => {
      const setup = await db.open();
      const id = (await setup.model(Item).create({ name: 'orig' })).id;
      await setup.close();
      const env = await Environment.open(withPool(1));
      try {
        let write!: Promise<unknown>;
        const out = await env.transaction(async () => {
          await env.model(Item).browse(id).write({ qty: 3 });
          write = env.fork().model(Item).browse(id).write({ name: 'fork' });
          return within(write, 1000);
        });
        const settledLater = await within(write, 15_000);
        expect({
          status: out.status,
          error: out.status === 'rejected' ? (out.reason as Error).constructor.name : undefined,
        }).toEqual({
          status: 'rejected',
          error: 'EnvironmentError',
        });
        expect(settledLater.status).toBe('rejected');
        expect(await nameInDb(env.knex, id)).toBe('orig');
      } finally {
        await env.close();
      }
    }, 30_000);

    it("t10: every connection of the pool held by a transaction waiting for a fork's read: ConnectionError after the acquire timeout (10 s), rolled back, then the pool works", async () => {
      const setup = await db.open();
      const ids = (
        await setup.model(Item).create([
          { name: 'a', qty: 0 },
          { name: 'b', qty: 0 },
        ])
      ).ids;
      await setup.close();
      const env = await Environment.open(withPool(2));
      try {
        let arrive!: () => void;
        let count = 0;
        const bothHoldTheirConnection = new Promise<void>((resolve) => (arrive = resolve));
        // Neither transaction ends (and gives its connection back) before both reads settled:
        // else the later read's acquire could be served by the earlier one's rollback.
        let settle!: () => void;
        let settled = 0;
        const bothReadsSettled = new Promise<void>((resolve) => (settle = resolve));
        const started = Date.now();
        const results = await Promise.allSettled(
          ids.map((id, i) => {
            const worker = env.fork();
            return worker.transaction(async () => {
              await worker.model(Item).browse(id).write({ qty: 1 });
              if (++count === 2) arrive();
              await bothHoldTheirConnection;
              try {
                return await worker
                  .fork()
                  .model(Item)
                  .browse(ids[1 - i]).name; // needs a third connection
              } finally {
                if (++settled === 2) settle();
                await bothReadsSettled;
              }
            });
          }),
        );
        const ms = Date.now() - started;
        expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).constructor.name : r.value))).toEqual([
          'ConnectionError',
          'ConnectionError',
        ]);
        expect(results.every((r) => r.status === 'rejected' && r.reason instanceof ConnectionError)).toBe(true);
        expect(ms).toBeGreaterThanOrEqual(9_000);
        expect(ms).toBeLessThan(12_000);
        const rows = await env.knex('ts_item').whereIn('id', ids).orderBy('id');
        expect(rows.map((r: { qty: unknown }) => Number(r.qty))).toEqual([0, 0]);
        expect(await env.fork().model(Item).browse(ids[0]).qty).toBe(0);
      } finally {
        await env.close();
      }
    }, 30_000);
  }
});

describeEachDatabase('transaction scope: close()', (db) => {
  let env: Environment;
  beforeEach(async () => {
    env = await db.open();
  });
  afterEach(async () => {
    await env.close();
  });

  it('K: a read not yet sent when close() is called fails with EnvironmentError and sends nothing', async () => {
    const id = (await env.fork().model(Item).create({ name: 'orig' })).id;
    const read = rejection(env.model(Item).browse(id).name);
    await env.close();
    expect(await read).toBeInstanceOf(EnvironmentError);
    expect(env.stats.queries).toBe(0);
  });

  it('K / t16: a read in flight when close() is called fails with EnvironmentError and caches nothing', async () => {
    const id = (await env.fork().model(Item).create({ name: 'orig' })).id;
    const held = holdReply(/^select [`"]id[`"] as [`"]proxorm_key[`"], [`"]name[`"]/i);
    const read = rejection(env.model(Item).browse(id).name);
    await held.arrived;
    await env.close();
    held.release();
    expect(await read).toBeInstanceOf(EnvironmentError);
    expect(env.cache.has('ts_item', 'name', id)).toBe(false);
    expect(env.stats.queries).toBe(1);
  });

  it("a fork's read in flight when the fork is closed fails with EnvironmentError; the root still works", async () => {
    const id = (await env.fork().model(Item).create({ name: 'orig' })).id;
    const fork = env.fork();
    const held = holdReply(/^select [`"]id[`"] as [`"]proxorm_key[`"], [`"]name[`"]/i);
    const read = rejection(fork.model(Item).browse(id).name);
    await held.arrived;
    await fork.close();
    held.release();
    expect(await read).toBeInstanceOf(EnvironmentError);
    expect(fork.cache.has('ts_item', 'name', id)).toBe(false);
    expect(await env.model(Item).browse(id).name).toBe('orig');
  });

  it('a read after close() is a rejected promise (EnvironmentError), not a synchronous throw', async () => {
    const id = (await env.fork().model(Item).create({ name: 'orig' })).id;
    const rec = env.model(Item).browse(id);
    await env.close();
    let read: unknown;
    try {
      read = rec.name;
    } catch (e) {
      read = `threw synchronously: ${(e as Error).constructor.name}`;
    }
    expect(read).toBeInstanceOf(Promise);
    expect(await rejection(read as Promise<unknown>)).toBeInstanceOf(EnvironmentError);
  });

  it('t21: fork.close() while its create is in flight: the create resolves and the row exists', async () => {
    const fork = env.fork();
    const held = holdReply(/^insert/i);
    const create = fulfillment(
      fork
        .model(Item)
        .create({ name: 'in flight' })
        .then((r) => r.ids),
    );
    await held.arrived;
    await fork.close();
    held.release();
    const created = await create;
    expect(created).toHaveLength(1);
    expect(await nameInDb(env.knex, (created as number[])[0])).toBe('in flight');
    expect(await env.model(Item).searchCount([])).toBe(1);
  });

  it('t21, root: close() while a create is in flight waits for it: the create resolves and the row exists', async () => {
    const shared = await openShared(db);
    try {
      const root = shared.env;
      const held = holdReply(/^insert/i);
      const create = fulfillment(
        root
          .model(Item)
          .create({ name: 'in flight' })
          .then((r) => r.ids),
      );
      await held.arrived;
      let closed = false;
      const closing = root.close().then(() => (closed = true));
      await new Promise((resolve) => setImmediate(resolve));
      expect(closed).toBe(false); // the pool waits for the create's transaction
      held.release();
      const created = await create;
      await closing;
      expect(created).toHaveLength(1);
      const check = await Environment.open(shared.config);
      try {
        expect(await nameInDb(check.knex, (created as number[])[0])).toBe('in flight');
        expect(await rowCount(check.knex)).toBe(1);
      } finally {
        await check.close();
      }
    } finally {
      shared.cleanup();
    }
  });

  if (db.name !== 'sqlite') {
    /**
     * Five readers of five records (one prefetch set) in a fresh fork: their one batched
     * load waits in the server for a table lock; its connection is KILLed there.
     */
    async function killedLoad() {
      const ids = (
        await env
          .fork()
          .model(Item)
          .create(Array.from({ length: 5 }, (_, i) => ({ name: `n${i}`, qty: i })))
      ).ids;
      const work = env.fork();
      const recs = work.model(Item).browse(ids);
      const admin = await openAdmin(db);
      try {
        await admin.lockTable('ts_item'); // the load will wait for this lock in the server
        const reads = Promise.allSettled(ids.map((_, i) => recs.at(i).name));
        const loadConnection = await admin.waitingStatement('select `id` as `proxorm_key`, `name`%');
        await admin.kill(loadConnection);
        await admin.unlockTables();
        return { ids, work, recs, results: await reads };
      } finally {
        await admin.end();
      }
    }

    it('t16: the connection of a load killed while the load waits in the server: every reader gets ConnectionError, nothing is cached, the next read works', async () => {
      const { ids, work, recs, results } = await killedLoad();
      expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).constructor.name : r.value))).toEqual(
        Array(5).fill('ConnectionError'),
      );
      expect(results.every((r) => r.status === 'rejected' && r.reason instanceof ConnectionError)).toBe(true);
      expect(work.stats.queries).toBe(1); // one batched load for the five readers
      for (const id of ids) expect(work.cache.has('ts_item', 'name', id)).toBe(false);
      expect(await countQueries(work, async () => expect(await recs.at(0).name).toBe('n0'))).toBe(1);
    });

    it('t16: after a load failed, its prefetch set still loads in one statement (the next loop over the five records costs one query)', async () => {
      const { work, recs } = await killedLoad();
      const names: string[] = [];
      const sent = await countQueries(work, async () => {
        for (const rec of recs) names.push(await rec.name);
      });
      expect(names).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
      expect(sent).toBe(1);
    });

    it('t16: close() while a load waits in the server: the read fails with EnvironmentError, close() resolves', async () => {
      const id = (await env.fork().model(Item).create({ name: 'orig' })).id;
      const other = await Environment.open(db.config);
      const admin = await openAdmin(db);
      try {
        await admin.lockTable('ts_item');
        const read = rejection(other.model(Item).browse(id).name);
        await admin.waitingStatement('select `id` as `proxorm_key`, `name`%');
        const closing = other.close();
        await admin.unlockTables();
        await closing;
        expect(await read).toBeInstanceOf(EnvironmentError);
        expect(other.cache.has('ts_item', 'name', id)).toBe(false);
      } finally {
        await admin.end();
        await other.close();
      }
    });
  }
});

describe('transaction scope: two processes on one SQLite file [sqlite]', () => {
  const FIXTURE = path.join(__dirname, 'fixtures', 'sqlite-lock-holder.ts');
  let dir: string;
  let env: Environment;
  let child: ChildProcessWithoutNullStreams | undefined;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxorm-ts-'));
    env = await Environment.open({ filename: path.join(dir, 'db.sqlite') });
    await env.sync();
  });
  afterEach(async () => {
    if (child && child.exitCode === null) {
      child.stdin.end();
      await new Promise((resolve) => child!.once('exit', resolve));
    }
    child = undefined;
    await env.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the lock holder (process A); resolves with a function awaiting its next stdout line. */
  function startHolder(id: number): () => Promise<string> {
    child = spawn(
      process.execPath,
      ['-r', require.resolve('ts-node/register/transpile-only'), FIXTURE, path.join(dir, 'db.sqlite'), String(id)],
      {
        cwd: path.join(__dirname, '..'),
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const lines = readline.createInterface({ input: child.stdout });
    const queue: string[] = [];
    const waiting: Array<(line: string) => void> = [];
    lines.on('line', (line) => (waiting.length ? waiting.shift()!(line) : queue.push(line)));
    lines.on('close', () => waiting.splice(0).forEach((w) => w('<exit>')));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return () =>
      new Promise<string>((resolve) => (queue.length ? resolve(queue.shift()!) : waiting.push(resolve))).then((l) =>
        l === '<exit>' ? `<exit> ${stderr}` : l,
      );
  }

  it("t17: while process A holds a write transaction, B reads the committed value at once and B's write fails with LockTimeoutError after the busy timeout; after A commits B works", async () => {
    const id = (await env.model(LockItem).create({ name: 'orig' })).id;
    const nextLine = startHolder(id);
    expect(await nextLine()).toBe('locked');

    // B's read (rollback-journal mode: A's RESERVED lock lets readers in) sees the committed value.
    const reader = env.fork();
    let t0 = Date.now();
    expect(await reader.model(LockItem).browse(id).name).toBe('orig');
    expect(Date.now() - t0).toBeLessThan(1000);

    // B's write waits for better-sqlite3's busy timeout (5 s), then fails typed.
    t0 = Date.now();
    const error = await rejection(env.model(LockItem).browse(id).write({ name: 'B' }));
    const waited = Date.now() - t0;
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as LockTimeoutError).code).toBe('SQLITE_BUSY');
    expect(waited).toBeGreaterThanOrEqual(4_500);
    expect(waited).toBeLessThan(8_000);
    expect(await env.fork().model(LockItem).browse(id).name).toBe('orig'); // the failed write cached nothing

    child!.stdin.write('commit\n');
    expect(await nextLine()).toBe('committed');
    expect(await env.fork().model(LockItem).browse(id).name).toBe('A');
    await env.model(LockItem).browse(id).write({ name: 'B' });
    expect(await env.fork().model(LockItem).browse(id).name).toBe('B');
  }, 30_000);
});
