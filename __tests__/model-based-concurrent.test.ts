import 'reflect-metadata';
import { createHash } from 'node:crypto';
import {
  BaseModel,
  DeadlockError,
  Field,
  ForeignKeyViolationError,
  MissingError,
  Model,
  RecordSetBase,
  UniqueViolationError,
  ValidationError,
  type Domain,
  type Environment,
  type RecordSet,
} from '../lib';
import { GONE, MISS } from '../lib/cache/layer';
import { describeEachDatabase, type TestDatabase } from './helpers/databases';
import { mulberry32 } from './helpers/prng';
import { mariadbLockMonitor, postgresLockMonitor, SeededScheduler, type LockMonitor } from './helpers/seeded-scheduler';

/*
 * Model-based randomized test with concurrency: batches of calls issued together
 * (reads, writes, creates, unlinks, searches, clearCache / invalidateRecord, and
 * transactions with rollbacks, failing savepoints and failing writes) by three forks of
 * one root Environment, several calls per fork and batch, interleaved by a seeded
 * scheduler (helpers/seeded-scheduler.ts) that releases every statement and every
 * statement reply in an order drawn from the seed. After every batch, every value in
 * every fork's cache is checked against an oracle.
 *
 * THE ORACLE RULE
 *
 * The truth is the database after the batch (read with env.knex, bypassing proxorm).
 * Keys are (model, id, field); "MISSING" is the value of a record that does not exist.
 * A call's interval is [start, end] on a logical clock ticked by the test's code: when
 * it issued the call and when it saw the call settle. A change X certainly precedes Y
 * when X.end < Y.start. A change is a call (or a transaction) that succeeded (committed);
 * failed calls and rolled-back transactions / savepoints change nothing.
 *
 * For each change the test knows the keys it may have changed ("possible": e.g. the
 * entries list of every account an entry may have belonged to when it was moved, the
 * entries an account unlink may have cascaded to) and the keys it certainly changed
 * ("definite": fields written, records created or unlinked, lists whose old parent is
 * certain). A fork's drops (clearCache, clearCache(model), invalidateRecord) count as
 * definite freshenings of the keys they cover, at the instant they were called.
 *
 * Each fork F carries a set stale(F): keys whose cached value may legitimately be older
 * than the database. After a batch, for each key k:
 *  - if a change of ANOTHER fork may have changed k in the batch: k is fresh in F if F
 *    freshened k (its own definite change, or a drop) after every such change certainly
 *    ended; otherwise k is stale in F if F may hold the record (it touched it, ever);
 *  - else if F freshened k in the batch (own definite change, or drop): k is fresh;
 *  - else stale(F) is unchanged for k (a key F changed itself only possibly stays as it
 *    was: fresh keys stay fresh, because then only F's own changes touched it, and "the
 *    cache follows commit order").
 *  (And the entries list of an account any of whose columns is stale in F is stale too:
 *  F may hold the account as missing.)
 * Then every cached value of every fork (read from its cache layer directly, every
 * record id ever seen, every field) must be:
 *  - for a fresh key: exactly the database's value (MissingError for a deleted row);
 *  - for a stale key: MISSING or a value committed for that key at some point (written
 *    by a change that committed, or seen in the database after some batch); an entries
 *    list: ids of entries that were committed as children of that account at some point.
 * So after Promise.allSettled of a write and an unlink of the same record by the same
 * fork, that fork's cache holds what the database holds; and a value of a failed call or
 * of a rolled-back transaction or savepoint is never accepted anywhere: all written
 * values are unique (names, balances, amounts, tags from counters; forced unique clashes
 * copy another record's tag, which was never committed for this record).
 *
 * Values returned by reads during the batch (outside transactions) are checked after it:
 * a read of k by F that began after every change that may have changed k ended, and — if
 * another fork changed k, or k was stale in F — after an own freshening of k that itself
 * began after those other changes ended, must return the database's value; any other
 * read must return MISSING or a committed value, as above.
 *
 * Inside a transaction (or savepoint), right after an own successful call, the fork reads
 * what it wrote (values, MissingError for what it unlinked); after a failing savepoint
 * it never reads the savepoint's values.
 *
 * After every batch one search through a random fork must equal the database; at the end
 * of a seed every fork, its cache cleared, reads exactly the database.
 *
 * Every seed prints its counts; replay one with MB_SEED=<seed> (added to the fixed list;
 * isolate it with -t 'seed <n>'), and MB_TRACE=1 prints every call and outcome. A
 * failure names the database, seed, batch and check, with the batch's trace. A seed
 * replays the same interleaving: all random choices come from the seed (the calls of a
 * batch are planned before it runs; the scheduler has its own PRNG from the seed) and
 * the scheduler's decisions do not depend on timing. The digest printed per seed hashes
 * every release, call, outcome and the database after every batch: equal digests, equal
 * runs. On SQLite every run of a seed is the same. On MariaDB the server can still drift
 * on its own (InnoDB purges deleted rows in the background, which changes the record and
 * gap locks a later statement meets, hence whether it waits); runs then stay identical up
 * to the batch where that first happens (seen after 26 to 58 batches in some runs).
 *
 * Known lib bugs are pinned by the tests after the seeds (they fail until fixed); until
 * then some MariaDB seeds fail on them too.
 */

@Model('mbc_account')
class Account extends BaseModel {
  @Field({ required: true }) name!: string;
  @Field.integer() balance!: number | null;
  @Field.string({ unique: true, size: 40 }) tag!: string | null;
  @Field.one2many(() => Entry, 'account') entries!: Entry[];
}

@Model('mbc_entry')
class Entry extends BaseModel {
  @Field.many2one(() => Account, { onDelete: 'cascade', required: true }) account!: Account;
  @Field.integer() amount!: number | null;
}

class Boom extends Error {}

type ModelName = 'mbc_account' | 'mbc_entry';
const ACC: ModelName = 'mbc_account';
const ENT: ModelName = 'mbc_entry';
const MODELS: readonly ModelName[] = [ACC, ENT];
const FIELDS: Record<ModelName, readonly string[]> = {
  mbc_account: ['name', 'balance', 'tag', 'entries'],
  mbc_entry: ['account', 'amount'],
};
const COLUMNS: Record<ModelName, readonly string[]> = {
  mbc_account: ['name', 'balance', 'tag'],
  mbc_entry: ['account', 'amount'],
};
const MISSING = '<missing>';
const FAR = 900_000; // ids never created

const SEEDS = [11, 22, 33, 44, 55, 66];
/** Batches per seed: SQLite runs faster (in process), the servers have the lock waits. MB_BATCHES overrides them. */
const BATCHES = { sqlite: 160, mariadb: 80, postgres: 80 };
const batchesFor = (db: TestDatabase['name']) =>
  process.env.MB_BATCHES ? Number(process.env.MB_BATCHES) : BATCHES[db];
const extraSeed = process.env.MB_SEED ? Number(process.env.MB_SEED) : undefined;
const RUN_SEEDS =
  extraSeed !== undefined && Number.isFinite(extraSeed) && !SEEDS.includes(extraSeed) ? [...SEEDS, extraSeed] : SEEDS;
const TRACE = process.env.MB_TRACE === '1' || process.env.MB_TRACE === '2';

const key = (model: ModelName, id: number, field: string) => `${model}:${id}:${field}`;
function parseKey(k: string): { model: ModelName; id: number; field: string } {
  const [model, id, field] = k.split(':');
  return { model: model as ModelName, id: Number(id), field };
}

function jsonOf(field: string, value: unknown): string {
  if (value instanceof RecordSetBase) {
    const ids = [...value.ids].sort((a, b) => a - b);
    return JSON.stringify(field === 'account' ? (ids[0] ?? null) : ids);
  }
  if (Array.isArray(value)) return JSON.stringify([...(value as number[])].sort((a, b) => a - b));
  return JSON.stringify(value);
}

// ------------------------------------------------------------------------ the database
interface AccountRow {
  name: string;
  balance: number | null;
  tag: string | null;
}
interface EntryRow {
  account: number;
  amount: number | null;
}

/** The committed state, read with knex (bypassing proxorm and its cache). */
interface Truth {
  readonly accounts: Map<number, AccountRow>;
  readonly entries: Map<number, EntryRow>;
  readonly values: Map<string, string>;
}

async function readTruth(root: Environment): Promise<Truth> {
  const num = (v: unknown) => (v === null ? null : Number(v));
  const accRows = (await root.knex('mbc_account').select('id', 'name', 'balance', 'tag').orderBy('id')) as Array<
    Record<string, unknown>
  >;
  const entRows = (await root.knex('mbc_entry').select('id', 'account_id', 'amount').orderBy('id')) as Array<
    Record<string, unknown>
  >;
  const accounts = new Map<number, AccountRow>(
    accRows.map((r) => [
      Number(r.id),
      { name: String(r.name), balance: num(r.balance), tag: (r.tag as string | null) ?? null },
    ]),
  );
  const entries = new Map<number, EntryRow>(
    entRows.map((r) => [Number(r.id), { account: Number(r.account_id), amount: num(r.amount) }]),
  );
  const values = new Map<string, string>();
  const children = new Map<number, number[]>();
  for (const [id, e] of entries) {
    values.set(key(ENT, id, 'account'), JSON.stringify(e.account));
    values.set(key(ENT, id, 'amount'), JSON.stringify(e.amount));
    let list = children.get(e.account);
    if (!list) children.set(e.account, (list = []));
    list.push(id);
  }
  for (const [id, a] of accounts) {
    values.set(key(ACC, id, 'name'), JSON.stringify(a.name));
    values.set(key(ACC, id, 'balance'), JSON.stringify(a.balance));
    values.set(key(ACC, id, 'tag'), JSON.stringify(a.tag));
    values.set(key(ACC, id, 'entries'), JSON.stringify((children.get(id) ?? []).sort((x, y) => x - y)));
  }
  return { accounts, entries, values };
}

// ------------------------------------------------------------------------ what a batch did
/** A committed effect, as the calls describe it (keys are derived after the batch). */
type Effect =
  | { kind: 'writeAcc'; ids: number[]; values: Partial<AccountRow> }
  | { kind: 'writeEnt'; ids: number[]; values: Partial<EntryRow> }
  | {
      kind: 'createAcc';
      ids: number[];
      rows: AccountRow[];
      children: Array<Array<{ id: number | undefined; amount: number }>>;
    }
  | { kind: 'createEnt'; ids: number[]; rows: EntryRow[] }
  | { kind: 'unlinkAcc'; ids: number[] }
  | { kind: 'unlinkEnt'; ids: number[] };

interface Client {
  readonly name: string;
  readonly env: Environment;
  /** Over-approximation of the records this fork may hold anything about. */
  readonly cached: Record<ModelName, Set<number>>;
  /** Keys whose cached value may be older than the database (see the rule above). */
  readonly stale: Set<string>;
}

/** A committed call or transaction of one fork. */
interface Change {
  readonly client: Client;
  readonly member: number;
  readonly start: number;
  readonly end: number;
  readonly effects: Effect[];
  possible: Set<string>;
  definite: Set<string>;
}

interface Drop {
  readonly client: Client;
  readonly at: number;
  readonly model: ModelName | undefined;
  readonly ids: readonly number[] | undefined;
}

interface Observation {
  readonly client: Client;
  readonly member: number;
  readonly start: number;
  readonly end: number;
  readonly what: string;
  readonly values: Map<string, string>;
}

type ErrorClass = new (...args: never[]) => Error;

describeEachDatabase(
  'model-based, concurrent: batches of calls interleaved by a seeded scheduler, against an oracle',
  (db) => {
    for (const seed of RUN_SEEDS) {
      it(`seed ${seed}`, async () => {
        const started = Date.now();
        const root = await db.open();
        const monitor =
          db.name === 'mariadb'
            ? await mariadbLockMonitor(process.env.PROXORM_MYSQL_URL!)
            : db.name === 'postgres'
              ? await postgresLockMonitor(process.env.PROXORM_PG_URL!)
              : undefined;
        try {
          const report = await runSeed(root, db, seed, batchesFor(db.name), monitor);
          console.log(`model-based concurrent [${db.name}] seed ${seed}: ${report} in ${Date.now() - started} ms`);
        } finally {
          await monitor?.close();
          await root.close();
        }
      }, 300_000);
    }

    /*
     * Lib bugs the runs above found, each reduced to a few calls. They fail until fixed.
     */

    it('lib bug: a load by id range keeps rows that were not asked for (and the fork serves them, stale, later)', async () => {
      const root = await db.open();
      try {
        const writer = root.fork();
        const ids = [...(await writer.model(Account).create(['a', 'b', 'c', 'd', 'e'].map((name) => ({ name })))).ids];
        await writer.model(Account).browse([ids[1], ids[3]]).unlink();
        const reader = root.fork();
        // Dense ids: loadRows reads the range ids[0]..ids[4] with BETWEEN and drops the rows not
        // asked for only when it got more rows than ids asked; two of the four are gone, so
        // the row of ids[2] (never asked for) is kept and cached.
        await expect(reader.model(Account).browse([ids[0], ids[1], ids[3], ids[4]]).read(['name'])).rejects.toThrow(
          MissingError,
        );
        await writer.model(Account).browse(ids[2]).write({ name: 'c2' });
        // The reader never read ids[2]: its first read must load it.
        expect(await reader.model(Account).browse(ids[2]).name).toBe('c2');
      } finally {
        await root.close();
      }
    });

    if (db.name !== 'sqlite') {
      /** A transaction of `env` paused after `before`, while the test runs `meanwhile` outside it. */
      const pausedTransaction = async (
        env: Environment,
        before: () => Promise<unknown>,
        meanwhile: () => Promise<unknown>,
        after: () => Promise<unknown>,
      ) => {
        let paused!: () => void;
        const reached = new Promise<void>((resolve) => (paused = resolve));
        let resume!: () => void;
        const gate = new Promise<void>((resolve) => (resume = resolve));
        const tx = env.transaction(async () => {
          await before();
          paused();
          await gate;
          await after();
        });
        await reached;
        await meanwhile(); // outside the transaction's async context: the fork's own autocommit call
        resume();
        await tx;
      };

      it('lib bug: a committing transaction puts what it only loaded of a record it wrote over newer values of the same Environment', async () => {
        const root = await db.open();
        try {
          const f = root.fork();
          const acc = await f.model(Account).create({ name: 'a' });
          const entry = await f.model(Entry).create({ account: acc.id, amount: 1 });
          await pausedTransaction(
            f,
            async () => {
              await f.model(Account).browse(acc.id).write({ name: 'in the transaction' }); // the transaction changes the account...
              expect((await f.model(Account).browse(acc.id).entries).ids).toEqual([entry.id]); // ...and loads its entries
            },
            // Meanwhile the fork itself deletes the entry and commits (a child's DELETE takes no lock on the parent).
            () => f.model(Entry).browse(entry.id).unlink(),
            async () => undefined,
          );
          expect(await root.knex('mbc_entry').where({ id: entry.id })).toEqual([]);
          // Layer.mergeInto applies every cached field of a changed record as a change, the
          // loaded entries list included: the fork serves the entry it deleted itself.
          expect((await f.model(Account).browse(acc.id).entries).ids).toEqual([]);
        } finally {
          await root.close();
        }
      });

      it('lib bug: a transaction merges loads from its REPEATABLE READ snapshot over newer changes of the same Environment', async () => {
        const root = await db.open();
        try {
          const f = root.fork();
          const acc = await f.model(Account).create({ name: 'a' });
          const entry = await f.model(Entry).create({ account: acc.id, amount: 1 });
          await pausedTransaction(
            f,
            () => f.model(Account).search([['id', '=', acc.id]]), // the transaction's first read: its snapshot
            () => f.model(Entry).browse(entry.id).unlink(), // the fork deletes the entry and commits
            async () => {
              // Loaded after that commit, from the older snapshot: the entry is still there. The
              // load started after the unlink (versions cannot tell), and is merged at commit.
              await f.model(Account).browse(acc.id).entries;
            },
          );
          expect(await root.knex('mbc_entry').where({ id: entry.id })).toEqual([]);
          expect((await f.model(Account).browse(acc.id).entries).ids).toEqual([]);
        } finally {
          await root.close();
        }
      });
    }
  },
);

async function runSeed(
  root: Environment,
  db: TestDatabase,
  seed: number,
  batchCount: number,
  monitor: LockMonitor | undefined,
): Promise<string> {
  const rng = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
  const chance = (p: number) => rng() < p;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rng() * list.length)];
  const sample = <T>(list: readonly T[], n: number): T[] => {
    const copy = [...list];
    const out: T[] = [];
    while (out.length < n && copy.length) out.push(copy.splice(Math.floor(rng() * copy.length), 1)[0]);
    return out;
  };

  /** A server: transactions on connections of their own, which can deadlock. */
  const server = db.name !== 'sqlite';

  const clients: Client[] = [0, 1, 2].map((i) => ({
    name: `c${i}`,
    env: root.fork(),
    cached: { mbc_account: new Set(), mbc_entry: new Set() },
    stale: new Set(),
  }));
  /** Every value committed for a key at some point (not MISSING, always allowed for a stale key). */
  const history = new Map<string, Set<string>>();
  /** Entries that were committed as children of an account at some point. */
  const everChild = new Map<number, Set<number>>();
  /** Every record id referenced so far (the cache check looks at all of them). */
  const seen: Record<ModelName, Set<number>> = { mbc_account: new Set(), mbc_entry: new Set() };
  const counts = new Map<string, number>();
  const count = (what: string, n = 1) => counts.set(what, (counts.get(what) ?? 0) + n);
  let counter = 0;
  let clock = 0;
  const tick = () => ++clock;
  let trace: string[] = [];
  /** Digest of everything that happened (calls, outcomes, ids, the database after each batch): equal runs, equal digests. */
  const digest = createHash('sha1');
  const scheduler = new SeededScheduler(mulberry32(seed ^ 0x5bd1e995), monitor, (what) => {
    digest.update(`${what.replace(/\btrx\d+/g, 'trx')}\n`); // knex numbers savepoints process-wide
    if (process.env.MB_TRACE === '2') console.log(`[${db.name} ${seed}]     release ${what}`);
  });
  const log = (line: string) => {
    trace.push(line);
    digest.update(`${line}\n`);
    if (TRACE) console.log(`[${db.name} ${seed}] ${line}`);
  };

  const remember = (k: string, v: string) => {
    if (v === MISSING) return;
    let h = history.get(k);
    if (!h) history.set(k, (h = new Set()));
    h.add(v);
  };
  const addChild = (account: number, entry: number) => {
    let s = everChild.get(account);
    if (!s) everChild.set(account, (s = new Set()));
    s.add(entry);
  };
  const absorbTruth = (t: Truth) => {
    for (const [k, v] of t.values) remember(k, v);
    for (const [id, e] of t.entries) addChild(e.account, id);
    for (const id of t.accounts.keys()) seen.mbc_account.add(id);
    for (const id of t.entries.keys()) seen.mbc_entry.add(id);
  };

  let truth = await readTruth(root);
  absorbTruth(truth);

  // ---------------------------------------------------------------- values (all unique)
  const NAMES = ['ann', 'bob', 'carol', 'dave', 'x_y', 'p%q'];
  const genName = () => `${pick(NAMES)}-${++counter}`;
  const genBalance = () => (chance(0.1) ? null : (chance(0.5) ? -1 : 1) * ++counter);
  const genTag = () => (chance(0.3) ? null : `t${++counter}`);
  const genAmount = () => (chance(0.1) ? null : (chance(0.5) ? -1 : 1) * ++counter);

  // ---------------------------------------------------------------- the API
  const accounts = (c: Client) => c.env.model(Account);
  const entries = (c: Client) => c.env.model(Entry);
  const api = (c: Client, model: ModelName) =>
    (model === ACC ? accounts(c) : entries(c)) as unknown as {
      browse(ids: number | readonly number[], o?: { prefetch?: boolean }): RecordSet<unknown>;
      search(d?: Domain, o?: { order?: string }): Promise<RecordSet<unknown>>;
    };

  // ---------------------------------------------------------------- one batch's records
  interface BatchLog {
    changes: Change[];
    drops: Drop[];
    observations: Observation[];
    touched: Map<Client, Record<ModelName, Set<number>>>;
    /** Problems found by the calls themselves (inside transactions). */
    problems: string[];
    /** Checks to run once the batch's commits are known. */
    afterwards: Array<() => string | undefined>;
  }
  let batch: BatchLog;

  const touch = (c: Client, model: ModelName, ids: Iterable<number>) => {
    let t = batch.touched.get(c);
    if (!t) batch.touched.set(c, (t = { mbc_account: new Set(), mbc_entry: new Set() }));
    for (const id of ids) {
      t[model].add(id);
      seen[model].add(id);
    }
  };

  /** Where the effects of calls go: a root-level call, or a transaction level. */
  interface Sink {
    readonly effects: Effect[];
    readonly inTransaction: boolean;
  }

  const allowedFor = (classes: ErrorClass[]): ErrorClass[] => (server ? [...classes, DeadlockError] : classes);

  /**
   * Runs a call; it may fail only with one of `allowed` (whichever the interleaving
   * gives), and must fail when `mustFail` (a failure that no interleaving can avoid).
   */
  async function attempt(
    what: string,
    fn: () => Promise<unknown>,
    allowed: ErrorClass[],
    mustFail = false,
  ): Promise<Error | undefined> {
    try {
      await fn();
    } catch (e) {
      const err = e as Error;
      if (allowed.some((cls) => err instanceof cls)) {
        count(`${what} -> ${err.constructor.name}`);
        log(`    ${what} -> ${err.constructor.name}`);
        return err;
      }
      throw new Error(
        `${what}: expected ${mustFail ? '' : 'success or '}${allowed.map((c) => c.name).join('/')}, got ${err?.constructor?.name}: ${err?.message}`,
      );
    }
    if (mustFail) throw new Error(`${what}: expected ${allowed.map((c) => c.name).join('/')}, but it succeeded`);
    count(`${what} -> ok`);
    return undefined;
  }

  /** A committed effect: a change of its own at the root, part of the transaction's inside one. */
  function committed(c: Client, member: number, sink: Sink, effect: Effect, start: number, end: number): void {
    if (sink.inTransaction) sink.effects.push(effect);
    else
      batch.changes.push({
        client: c,
        member,
        start,
        end,
        effects: [effect],
        possible: new Set(),
        definite: new Set(),
      });
  }

  // ---------------------------------------------------------------- reading
  type Mode = 'fields' | 'toDict' | 'read' | 'noPrefetch' | 'entries';

  /** One observed value per key (JSON, or MISSING). */
  async function observe(
    c: Client,
    model: ModelName,
    ids: readonly number[],
    mode: Mode,
    set?: RecordSet<unknown>,
  ): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const fields = mode === 'entries' ? ['entries'] : FIELDS[model];
    const allMissing = (id: number) => fields.forEach((f) => out.set(key(model, id, f), MISSING));
    const rs = set ?? api(c, model).browse(ids, mode === 'noPrefetch' ? { prefetch: false } : {});
    touch(c, model, rs.ids);
    // A load of dense ids reads their whole id range, and may keep rows that were not
    // asked for (see the lib bug test at the end): the fork may hold any id in the range.
    const near = rs.ids.filter((id) => id < FAR);
    if (near.length)
      touch(
        c,
        model,
        Array.from({ length: Math.max(...near) - Math.min(...near) + 1 }, (_, i) => Math.min(...near) + i),
      );
    const settle = async (p: Promise<unknown>): Promise<{ ok: true; value: unknown } | { ok: false }> => {
      try {
        return { ok: true, value: await p };
      } catch (e) {
        if (e instanceof MissingError) return { ok: false };
        throw e;
      }
    };
    if (mode === 'fields' || mode === 'noPrefetch' || mode === 'entries') {
      const recs = [...rs];
      const results = await Promise.all(
        recs.map((r) => Promise.all(fields.map((f) => settle((r as unknown as Record<string, Promise<unknown>>)[f])))),
      );
      recs.forEach((r, i) =>
        results[i].forEach((res, j) =>
          out.set(key(model, r.ids[0], fields[j]), res.ok ? jsonOf(fields[j], res.value) : MISSING),
        ),
      );
    } else if (mode === 'toDict') {
      const recs = [...rs];
      const results = await Promise.all(recs.map((r) => settle(r.toDict() as Promise<unknown>)));
      recs.forEach((r, i) => {
        const res = results[i];
        if (!res.ok) return allMissing(r.ids[0]);
        const dict = res.value as Record<string, unknown>;
        for (const f of fields) out.set(key(model, r.ids[0], f), jsonOf(f, dict[f]));
      });
    } else {
      let todo = [...new Set(rs.ids)];
      for (let attempt = 0; todo.length && attempt < 6; attempt++) {
        try {
          const rows = (await (attempt === 0 ? rs : api(c, model).browse(todo)).read()) as unknown as Array<
            Record<string, unknown>
          >;
          for (const row of rows) for (const f of fields) out.set(key(model, row.id as number, f), jsonOf(f, row[f]));
          todo = [];
        } catch (e) {
          if (!(e instanceof MissingError)) throw e;
          for (const id of e.ids) allMissing(id as number);
          const before = todo.length;
          todo = todo.filter((id) => !e.ids.includes(id));
          if (todo.length === before)
            throw new Error(
              `read(): MissingError for ids ${JSON.stringify(e.ids)}, none of which was asked (${JSON.stringify(todo)})`,
            );
        }
      }
      if (todo.length) throw new Error(`read(): still MissingError after 6 attempts for ${JSON.stringify(todo)}`);
    }
    return out;
  }

  /** A read as a call of the batch: its values are checked after the batch (root scope only). */
  async function readCall(
    c: Client,
    member: number,
    model: ModelName,
    ids: number[],
    mode: Mode,
    sink: Sink | undefined,
    what = 'read',
  ): Promise<Map<string, string>> {
    count(`${what} ${model} (${mode})`);
    count('ops');
    const start = tick();
    const values = await observe(c, model, ids, mode);
    const end = tick();
    if (!sink?.inTransaction)
      batch.observations.push({
        client: c,
        member,
        start,
        end,
        what: `${what} ${model} ${JSON.stringify(ids)} (${mode})`,
        values,
      });
    return values;
  }

  // ---------------------------------------------------------------- planning (all random choices before the batch)
  type Call = (c: Client, member: number, sink: Sink) => Promise<void>;
  interface Plan {
    readonly label: string;
    readonly run: Call;
    /** For a write: the records it aims at. */
    readonly target?: { model: ModelName; ids: number[] };
  }

  const live = (model: ModelName) => [...(model === ACC ? truth.accounts : truth.entries).keys()];
  const dead = (model: ModelName) =>
    [...seen[model]].filter((id) => !(model === ACC ? truth.accounts : truth.entries).has(id));
  const maxSeen = (model: ModelName) => Math.max(0, ...[...seen[model]].filter((id) => id < FAR));

  /** Ids of the batch's hot records (most calls aim there, so that they overlap). */
  let hot: Record<ModelName, number[]> = { mbc_account: [], mbc_entry: [] };
  function chooseHot(): void {
    const accs = sample(live(ACC), int(1, 2));
    const ents = [...truth.entries].filter(([, e]) => accs.includes(e.account)).map(([id]) => id);
    hot = { mbc_account: accs, mbc_entry: [...sample(ents, 5), ...sample(live(ENT), 1)] };
  }

  /** Some ids: mostly hot, sometimes a deleted one, one not created yet, or one never created. */
  function pickIds(model: ModelName, max: number, odd: number): number[] {
    const pool = chance(0.75) && hot[model].length ? hot[model] : live(model);
    const ids = sample(pool, int(1, max));
    if (chance(odd) || ids.length === 0) {
      const r = rng();
      const gone = dead(model);
      if (r < 0.45 && gone.length) ids.push(pick(gone));
      else if (r < 0.85)
        ids.push(maxSeen(model) + int(1, 2)); // the next ids: a create of this batch may take them
      else ids.push(FAR + int(0, 99));
    }
    return [...new Set(ids)];
  }

  const MODES: readonly Mode[] = ['fields', 'toDict', 'read', 'noPrefetch', 'entries'];
  function planReadOf(model: ModelName, ids: number[], label: string): Plan {
    let mode = pick(MODES);
    if (mode === 'entries' && model === ENT) mode = 'fields';
    return {
      label: `${label} ${model} ${JSON.stringify(ids)} (${mode})`,
      run: async (c, m, sink) => void (await readCall(c, m, model, ids, mode, sink, label)),
    };
  }
  function planRead(label = 'read'): Plan {
    const model = chance(0.6) ? ACC : ENT;
    return planReadOf(model, pickIds(model, 5, 0.3), label);
  }

  /** After an own successful call inside a transaction: reads what it wrote (strict). */
  async function readBack(c: Client, model: ModelName, expected: Map<string, string>, what: string): Promise<void> {
    const byId = new Map<number, string[]>();
    for (const k of expected.keys()) {
      const { id } = parseKey(k);
      byId.set(id, []);
    }
    if (!byId.size) return;
    const got = await observe(c, model, [...byId.keys()], pick(['fields', 'toDict', 'read'] as const));
    for (const [k, want] of expected) {
      if (got.get(k) !== want)
        batch.problems.push(
          `${c.name} inside a transaction, after its own ${what}: reads ${k} = ${got.get(k)}, expected ${want}`,
        );
    }
  }

  function planWriteAcc(): Plan {
    const ids = pickIds(ACC, 3, 0.12);
    const far = ids.some((id) => id >= FAR);
    const nullName = chance(0.04);
    const fields = sample(['name', 'balance', 'tag'] as const, int(1, 3));
    const clash = chance(0.12);
    if (clash && !fields.includes('tag')) fields.push('tag');
    if (nullName && !fields.includes('name')) fields.push('name');
    const values: { name?: string | null; balance?: number | null; tag?: string | null } = {};
    for (const f of fields) {
      if (f === 'name') values.name = nullName ? null : genName();
      if (f === 'balance') values.balance = genBalance();
      if (f === 'tag') values.tag = genTag();
    }
    if (clash) {
      const tags = [...truth.accounts.values()].map((a) => a.tag).filter((t): t is string => t !== null);
      if (tags.length) values.tag = pick(tags);
    }
    const viaSearch = !nullName && chance(0.2);
    const label = `write account ${JSON.stringify(ids)} ${JSON.stringify(values)}${viaSearch ? ' (on a search of them)' : ''}`;
    return {
      label,
      target: { model: ACC, ids },
      run: async (c, member, sink) => {
        count('ops');
        touch(c, ACC, ids);
        // A search drops the ids that do not exist (at that moment).
        const rs = viaSearch ? await accounts(c).search([['id', 'in', ids]]) : accounts(c).browse(ids);
        const target = [...rs.ids];
        if (target.length === 0) return;
        const start = tick();
        const failed = nullName
          ? await attempt('write account (null name)', () => rs.write(values as never), [ValidationError], true)
          : await attempt(
              'write account',
              () => rs.write(values as never),
              allowedFor([MissingError, UniqueViolationError]),
              far && !viaSearch,
            );
        const end = tick();
        if (failed) return;
        const row = values as Partial<AccountRow>;
        committed(c, member, sink, { kind: 'writeAcc', ids: target, values: row }, start, end);
        if (sink.inTransaction) {
          const expected = new Map<string, string>();
          for (const id of target)
            for (const [f, v] of Object.entries(row)) expected.set(key(ACC, id, f), JSON.stringify(v));
          await readBack(c, ACC, expected, label);
        }
      },
    };
  }

  function planWriteEnt(): Plan {
    const ids = pickIds(ENT, 3, 0.12);
    const far = ids.some((id) => id >= FAR);
    const fields = sample(['account', 'amount'] as const, int(1, 2));
    const badAccount = chance(0.06);
    if (badAccount && !fields.includes('account')) fields.push('account');
    const values: { account?: number; amount?: number | null } = {};
    for (const f of fields) {
      if (f === 'amount') values.amount = genAmount();
      if (f === 'account') values.account = badAccount ? FAR + int(0, 99) : pick(pickIds(ACC, 1, 0));
    }
    const asRecordset = chance(0.2);
    const label = `write entry ${JSON.stringify(ids)} ${JSON.stringify(values)}`;
    return {
      label,
      target: { model: ENT, ids },
      run: async (c, member, sink) => {
        count('ops');
        touch(c, ENT, ids);
        if (values.account !== undefined) touch(c, ACC, [values.account]);
        const v =
          asRecordset && values.account !== undefined
            ? { ...values, account: accounts(c).browse(values.account) }
            : values;
        const start = tick();
        const failed = await attempt(
          'write entry',
          () => entries(c).browse(ids).write(v),
          allowedFor([MissingError, ForeignKeyViolationError]),
          far || badAccount,
        );
        const end = tick();
        if (failed) return;
        committed(c, member, sink, { kind: 'writeEnt', ids, values }, start, end);
        if (sink.inTransaction) {
          const expected = new Map<string, string>();
          for (const id of ids)
            for (const [f, val] of Object.entries(values)) expected.set(key(ENT, id, f), JSON.stringify(val));
          await readBack(c, ENT, expected, label);
        }
      },
    };
  }

  function planCreateAcc(): Plan {
    const n = chance(0.6) ? 1 : int(2, 4);
    const noName = chance(0.04);
    const clash = !noName && chance(0.1);
    const rows: Array<{ name?: string; balance: number | null; tag: string | null }> = Array.from(
      { length: n },
      () => ({ name: genName(), balance: genBalance(), tag: genTag() }),
    );
    if (clash) {
      const tags = [...truth.accounts.values()].map((a) => a.tag).filter((t): t is string => t !== null);
      if (tags.length) rows[int(0, n - 1)].tag = pick(tags);
    }
    if (noName) delete rows[int(0, n - 1)].name;
    const withChildren = !noName && n <= 2 && chance(0.3);
    const childAmounts = rows.map(() =>
      withChildren ? Array.from({ length: int(1, 2) }, () => 7_000_000 + ++counter) : [],
    );
    const label = `create account ${JSON.stringify(rows)}${withChildren ? ` children ${JSON.stringify(childAmounts)}` : ''}`;
    const firstFree = maxSeen(ENT) + 1;
    return {
      label,
      run: async (c, member, sink) => {
        count('ops');
        let ids: number[] = [];
        const values = rows.map((r, i) =>
          withChildren ? { ...r, entries: { create: childAmounts[i].map((amount) => ({ amount })) } } : r,
        );
        const call = async () => {
          ids = [...(await accounts(c).create(values as never[])).ids];
        };
        const start = tick();
        const failed = noName
          ? await attempt('create account (no name)', call, [ValidationError], true)
          : await attempt('create account', call, allowedFor([UniqueViolationError]));
        const end = tick();
        if (failed) return;
        touch(c, ACC, ids);
        // The children's ids: what this scope's cache layer holds for their (unique) amounts.
        const layer = c.env.session.scope().cache;
        const children = childAmounts.map((amounts) =>
          amounts.map((amount) => {
            // (From 1: SQLite gives the ids of rolled-back inserts again.)
            for (let id = 1; id < firstFree + 400; id++)
              if (layer.get(ENT, 'amount', id) === amount) return { id, amount };
            return { id: undefined, amount };
          }),
        );
        for (const list of children)
          touch(
            c,
            ENT,
            list.flatMap((ch) => (ch.id === undefined ? [] : [ch.id])),
          );
        if (withChildren)
          touch(
            c,
            ENT,
            Array.from({ length: 60 }, (_, i) => firstFree + i),
          ); // in case one was not found
        committed(c, member, sink, { kind: 'createAcc', ids, rows: rows as AccountRow[], children }, start, end);
        log(`    -> ids ${JSON.stringify(ids)}${withChildren ? ` children ${JSON.stringify(children)}` : ''}`);
        if (sink.inTransaction) {
          const expected = new Map<string, string>();
          ids.forEach((id, i) => {
            expected.set(key(ACC, id, 'name'), JSON.stringify(rows[i].name));
            expected.set(key(ACC, id, 'balance'), JSON.stringify(rows[i].balance));
            expected.set(key(ACC, id, 'tag'), JSON.stringify(rows[i].tag));
          });
          await readBack(c, ACC, expected, label);
        }
      },
    };
  }

  function planCreateEnt(): Plan {
    const n = int(1, 3);
    const bad = chance(0.06);
    const rows = Array.from({ length: n }, () => ({ account: pick(pickIds(ACC, 1, 0.05)), amount: genAmount() }));
    if (bad) rows[int(0, n - 1)].account = FAR + int(0, 99);
    const label = `create entry ${JSON.stringify(rows)}`;
    return {
      label,
      run: async (c, member, sink) => {
        count('ops');
        let ids: number[] = [];
        touch(
          c,
          ACC,
          rows.map((r) => r.account),
        );
        const start = tick();
        const failed = await attempt(
          'create entry',
          async () => {
            ids = [...(await entries(c).create(rows)).ids];
          },
          allowedFor([ForeignKeyViolationError]),
          bad,
        );
        const end = tick();
        if (failed) return;
        touch(c, ENT, ids);
        committed(c, member, sink, { kind: 'createEnt', ids, rows }, start, end);
        log(`    -> ids ${JSON.stringify(ids)}`);
        if (sink.inTransaction) {
          const expected = new Map<string, string>();
          ids.forEach((id, i) => {
            expected.set(key(ENT, id, 'account'), JSON.stringify(rows[i].account));
            expected.set(key(ENT, id, 'amount'), JSON.stringify(rows[i].amount));
          });
          await readBack(c, ENT, expected, label);
        }
      },
    };
  }

  function planUnlink(model: ModelName): Plan {
    const ids = pickIds(model, model === ACC ? 2 : 3, 0.15);
    const label = `unlink ${model} ${JSON.stringify(ids)}`;
    return {
      label,
      run: async (c, member, sink) => {
        count('ops');
        touch(c, model, ids);
        const start = tick();
        const failed = await attempt(`unlink ${model}`, () => api(c, model).browse(ids).unlink(), allowedFor([]));
        const end = tick();
        if (failed) return;
        committed(c, member, sink, model === ACC ? { kind: 'unlinkAcc', ids } : { kind: 'unlinkEnt', ids }, start, end);
        if (sink.inTransaction) {
          const expected = new Map<string, string>();
          for (const id of ids) for (const f of COLUMNS[model]) expected.set(key(model, id, f), MISSING);
          await readBack(c, model, expected, label);
        }
      },
    };
  }

  function planMutation(): Plan {
    const accs = truth.accounts.size;
    const r = rng();
    if (r < 0.24) return planWriteAcc();
    if (r < 0.44) return planWriteEnt();
    if (r < 0.58 || accs < 4) return accs < 4 || chance(0.5) ? planCreateAcc() : planCreateEnt();
    if (r < 0.78) return truth.entries.size < 40 ? planCreateEnt() : planUnlink(ENT);
    if (r < 0.9) return accs > 6 ? planUnlink(ACC) : planCreateAcc();
    return truth.entries.size > 3 ? planUnlink(ENT) : planCreateEnt();
  }

  function planDrop(): Plan {
    const what = rng();
    const model = chance(0.5) ? ACC : ENT;
    const ids = pickIds(model, 3, 0.1);
    const before = chance(0.5) ? planRead('read before drop') : undefined;
    const after = chance(0.6) ? planRead('read after drop') : undefined;
    const kind =
      what < 0.2
        ? 'clearCache()'
        : what < 0.45
          ? `clearCache(${model})`
          : `invalidateRecord(${model}, ${JSON.stringify(ids)})`;
    return {
      label: `${before ? `${before.label}; ` : ''}${kind}${after ? `; ${after.label}` : ''}`,
      run: async (c, member, sink) => {
        if (before) await before.run(c, member, sink);
        count('ops');
        count(kind.replace(/\(.*/, ''));
        const at = tick();
        if (what < 0.2) {
          c.env.clearCache();
          batch.drops.push({ client: c, at, model: undefined, ids: undefined });
        } else if (what < 0.45) {
          c.env.clearCache(model === ACC ? Account : 'mbc_entry');
          batch.drops.push({ client: c, at, model, ids: undefined });
        } else {
          c.env.invalidateRecord(model, ids);
          batch.drops.push({ client: c, at, model, ids });
        }
        if (after) await after.run(c, member, sink);
      },
    };
  }

  function planSearch(): Plan {
    const model = chance(0.6) ? ACC : ENT;
    const domain: Domain =
      model === ACC
        ? pick<Domain>([
            [['id', 'in', pickIds(ACC, 4, 0.3)]],
            [['balance', '>', int(-50, 50)]],
            [['name', 'ilike', pick(NAMES)]],
            [['tag', '!=', null]],
            [],
          ])
        : pick<Domain>([
            [['account', 'in', pickIds(ACC, 3, 0.2)]],
            [['amount', '<', int(-50, 50)]],
            [['id', 'in', pickIds(ENT, 4, 0.3)]],
          ]);
    const mode = pick(['fields', 'toDict', 'read', 'entries'] as const);
    const label = `search ${model} ${JSON.stringify(domain)}, read (${mode})`;
    return {
      label,
      run: async (c, member, sink) => {
        count('ops');
        count(`search ${model}`);
        const found = await api(c, model).search(domain, { order: 'id' });
        touch(c, model, found.ids);
        if (!found.length) return;
        const start = tick();
        const values = await observe(c, model, found.ids, mode === 'entries' && model === ENT ? 'fields' : mode, found);
        const end = tick();
        if (!sink.inTransaction)
          batch.observations.push({ client: c, member, start, end, what: `read of ${label}`, values });
      },
    };
  }

  /** A write then a read of what it wrote, by one call chain. */
  function planWriteThenRead(): Plan {
    const write = chance(0.5) ? planWriteAcc() : planWriteEnt();
    const { model, ids } = write.target!;
    const mode = pick(['fields', 'toDict', 'read', 'noPrefetch'] as const);
    return {
      label: `${write.label}; then read it (${mode})`,
      run: async (c, member, sink) => {
        await write.run(c, member, sink);
        await readCall(c, member, model, ids, mode, sink, 'read after own write');
      },
    };
  }

  function planTransaction(): Plan {
    const kind = pick(['commit', 'rollback', 'nested', 'nested'] as const);
    const outerFails = kind === 'rollback' || (kind === 'nested' && chance(0.3));
    const body = Array.from({ length: int(1, 3) }, () =>
      chance(0.25) ? planRead('read in transaction') : planMutation(),
    );
    const okSavepoint =
      kind === 'nested' && chance(0.4) ? Array.from({ length: int(1, 2) }, () => planMutation()) : undefined;
    const failing =
      kind === 'nested'
        ? Array.from({ length: int(1, 2) }, () => (chance(0.2) ? planRead('read in savepoint') : planMutation()))
        : undefined;
    const failHow = pick(['throw', 'throw', 'unique', 'missing'] as const);
    const failWrite = failing && failHow !== 'throw' ? planFailingWrite(failHow) : undefined;
    const tail =
      kind === 'nested'
        ? Array.from({ length: int(0, 2) }, () => (chance(0.3) ? planRead('read in transaction') : planMutation()))
        : [];
    const lines = [
      `transaction (${kind}${outerFails ? ', throws at the end' : ''}) {`,
      ...body.map((p) => `  ${p.label}`),
      ...(okSavepoint ? ['  savepoint {', ...okSavepoint.map((p) => `    ${p.label}`), '  }'] : []),
      ...(failing
        ? [
            `  savepoint (fails: ${failHow}) {`,
            ...failing.map((p) => `    ${p.label}`),
            ...(failWrite ? [`    ${failWrite.label}`] : []),
            '  }',
          ]
        : []),
      ...tail.map((p) => `  ${p.label}`),
      '}',
    ];
    return {
      label: lines.join('\n      '),
      run: async (c, member) => {
        count('ops');
        const start = tick();
        const committedEffects: Effect[] = [];
        /** Runs calls at one level; a failed call is part of the test (it changes nothing), a deadlock ends the transaction. */
        const calls = async (plans: readonly Plan[], level: Sink) => {
          for (const p of plans) await p.run(c, member, level);
        };
        const outcome = await attempt(
          `transaction ${kind}`,
          () =>
            c.env.transaction(async () => {
              const outer: Sink = { effects: [], inTransaction: true };
              await calls(body, outer);
              if (okSavepoint) {
                const level: Sink = { effects: [], inTransaction: true };
                await c.env.transaction(() => calls(okSavepoint, level));
                outer.effects.push(...level.effects);
              }
              if (failing) {
                const level: Sink = { effects: [], inTransaction: true };
                let error: unknown;
                try {
                  await c.env.transaction(async () => {
                    await calls(failing, level);
                    if (failWrite) await failWrite.run(c, member, level);
                    throw new Boom('savepoint');
                  });
                } catch (e) {
                  error = e;
                }
                if (error instanceof DeadlockError) throw error;
                if (
                  !(error instanceof Boom) &&
                  !(failWrite && (error instanceof UniqueViolationError || error instanceof MissingError))
                ) {
                  throw new Error(
                    `the failing savepoint ended with ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`,
                  );
                }
                // Nothing of the savepoint is visible to the transaction any more.
                await checkUndone(c, member, level.effects, outer.effects);
              }
              await calls(tail, outer);
              if (outerFails) throw new Boom('transaction');
              committedEffects.push(...outer.effects);
            }),
          allowedFor(outerFails ? [Boom] : []),
          outerFails,
        );
        const end = tick();
        if (!outcome && committedEffects.length)
          batch.changes.push({
            client: c,
            member,
            start,
            end,
            effects: committedEffects,
            possible: new Set(),
            definite: new Set(),
          });
        if (outcome instanceof DeadlockError) count('transaction aborted by a deadlock');
      },
    };
  }

  /** A write that fails inside a savepoint (in most interleavings): a unique clash or a missing record. */
  function planFailingWrite(how: 'unique' | 'missing'): Plan {
    const accs = live(ACC);
    const tags = [...truth.accounts.values()].map((a) => a.tag).filter((t): t is string => t !== null);
    if (how === 'missing' || !tags.length || accs.length < 2) {
      const ids = [...sample(hot.mbc_account.length ? hot.mbc_account : accs, 1), FAR + int(0, 99)];
      const values = { name: genName(), balance: genBalance() };
      return {
        label: `write account ${JSON.stringify(ids)} ${JSON.stringify(values)} (fails: MissingError)`,
        run: async (c) => {
          count('ops');
          touch(c, ACC, ids);
          const error = await attempt(
            'failing write account',
            () => accounts(c).browse(ids).write(values),
            allowedFor([MissingError]),
            true,
          );
          throw error ?? new Error('attempt(mustFail) returned no error');
        },
      };
    }
    const id = pick(accs);
    const values = { balance: genBalance(), tag: pick(tags) };
    return {
      label: `write account [${id}] ${JSON.stringify(values)} (may fail: unique tag)`,
      run: async (c, member, sink) => {
        count('ops');
        touch(c, ACC, [id]);
        const start = tick();
        const failed = await attempt(
          'clashing write account',
          () => accounts(c).browse(id).write(values),
          allowedFor([UniqueViolationError, MissingError]),
        );
        if (failed) throw failed;
        committed(c, member, sink, { kind: 'writeAcc', ids: [id], values }, start, tick());
      },
    };
  }

  /**
   * Inside the transaction, after a savepoint rolled back: the keys its calls wrote read
   * as the transaction's own earlier value when it has one (or MISSING: a cascade of
   * its own may have deleted the record), and never as a value of the savepoint that
   * was not committed by anyone (judged after the batch, when all its commits are known:
   * a null or an account id may well have been committed by another call).
   */
  async function checkUndone(
    c: Client,
    member: number,
    undone: readonly Effect[],
    kept: readonly Effect[],
  ): Promise<void> {
    const doomed = explicitValues(undone);
    if (!doomed.size) return;
    const own = explicitValues(kept);
    for (const model of MODELS) {
      const ids = [
        ...new Set(
          [...doomed.keys()]
            .map(parseKey)
            .filter((k) => k.model === model)
            .map((k) => k.id),
        ),
      ];
      if (!ids.length) continue;
      const got = await observe(c, model, ids, pick(['fields', 'toDict', 'read'] as const));
      for (const [k, v] of got) {
        if (!doomed.has(k) || v === MISSING) continue;
        const where = `${c.name} (m${member}) inside a transaction, after a rolled-back savepoint`;
        if (own.has(k)) {
          if (own.get(k) !== v)
            batch.problems.push(`${where}: reads ${k} = ${v}, expected its own earlier value ${own.get(k)}`);
        } else if (v === doomed.get(k)) {
          batch.afterwards.push(() =>
            history.get(k)?.has(v) ? undefined : `${where}: reads ${k} = ${v}, the savepoint's value, never committed`,
          );
        }
      }
    }
  }

  /** Calls of one fork on the same (hot) records, issued together: Promise.allSettled of reads, writes, unlinks, drops. */
  function planTogether(): Plan {
    // Mostly: a read of the hot accounts (their entries lists included) with changes of their entries.
    const read =
      chance(0.6) && hot.mbc_account.length
        ? planReadOf(ACC, sample(hot.mbc_account, int(1, 2)), 'read (together)')
        : planRead('read (together)');
    const change = () => {
      const r = rng();
      if (r < 0.2) return planDrop();
      if (r < 0.55) return chance(0.5) ? planCreateEnt() : planUnlink(ENT);
      if (r < 0.7) return planWriteEnt();
      return planMutation();
    };
    const parts = [read, ...Array.from({ length: int(1, 2) }, change)];
    if (chance(0.3)) parts.push(planRead('read (together)'));
    const order = sample(parts, parts.length);
    return {
      label: `together {\n${order.map((p) => `        ${p.label}`).join('\n')}\n      }`,
      run: async (c, member, sink) => {
        const results = await Promise.allSettled(order.map((p) => scheduler.branch(() => p.run(c, member, sink))));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      },
    };
  }

  function planMember(): Plan {
    const r = rng();
    if (r < 0.22) return planRead();
    if (r < 0.48) return planMutation();
    if (r < 0.53) return planWriteThenRead();
    if (r < 0.6) return planDrop();
    if (r < 0.65) return planSearch();
    if (r < 0.82) return planTogether();
    return planTransaction();
  }

  // ---------------------------------------------------------------- the oracle
  /** Values that calls wrote (the last one per key, in call order), MISSING for unlinked records. */
  function explicitValues(effects: readonly Effect[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const e of effects) {
      switch (e.kind) {
        case 'writeAcc':
        case 'writeEnt':
          for (const id of e.ids)
            for (const [f, v] of Object.entries(e.values))
              out.set(key(e.kind === 'writeAcc' ? ACC : ENT, id, f), JSON.stringify(v));
          break;
        case 'createAcc':
          e.ids.forEach((id, i) => {
            for (const f of COLUMNS[ACC]) out.set(key(ACC, id, f), JSON.stringify(e.rows[i][f as keyof AccountRow]));
            for (const ch of e.children[i]) {
              if (ch.id === undefined) continue;
              out.set(key(ENT, ch.id, 'account'), JSON.stringify(id));
              out.set(key(ENT, ch.id, 'amount'), JSON.stringify(ch.amount));
            }
          });
          break;
        case 'createEnt':
          e.ids.forEach((id, i) => {
            out.set(key(ENT, id, 'account'), JSON.stringify(e.rows[i].account));
            out.set(key(ENT, id, 'amount'), JSON.stringify(e.rows[i].amount));
          });
          break;
        case 'unlinkAcc':
        case 'unlinkEnt':
          for (const id of e.ids)
            for (const f of COLUMNS[e.kind === 'unlinkAcc' ? ACC : ENT])
              out.set(key(e.kind === 'unlinkAcc' ? ACC : ENT, id, f), MISSING);
          break;
      }
    }
    return out;
  }

  /** Parents an entry was given by the batch's committed effects (other than `except`). */
  function parentsSet(changes: readonly Change[], except?: Effect): Map<number, Set<number>> {
    const out = new Map<number, Set<number>>();
    const add = (e: number, p: number) => {
      let s = out.get(e);
      if (!s) out.set(e, (s = new Set()));
      s.add(p);
    };
    for (const ch of changes) {
      for (const e of ch.effects) {
        if (e === except) continue;
        if (e.kind === 'writeEnt' && e.values.account !== undefined) for (const id of e.ids) add(id, e.values.account);
        if (e.kind === 'createEnt') e.ids.forEach((id, i) => add(id, e.rows[i].account));
        if (e.kind === 'createAcc')
          e.ids.forEach((id, i) => e.children[i].forEach((ch2) => ch2.id !== undefined && add(ch2.id, id)));
      }
    }
    return out;
  }

  /** Fills each change's possible and definite keys. */
  function deriveKeys(changes: readonly Change[], before: Truth): void {
    const all = parentsSet(changes);
    const possibleParents = (e: number, extra?: Map<number, Set<number>>): Set<number> => {
      const s = new Set<number>(extra ? (extra.get(e) ?? []) : (all.get(e) ?? []));
      const p = before.entries.get(e)?.account;
      if (p !== undefined) s.add(p);
      return s;
    };
    const recordKeys = (model: ModelName, id: number) => FIELDS[model].map((f) => key(model, id, f));
    for (const ch of changes) {
      const possible = new Set<string>();
      const definite = new Set<string>();
      const both = (k: string) => (possible.add(k), definite.add(k));
      for (const e of ch.effects) {
        switch (e.kind) {
          case 'writeAcc':
            for (const id of e.ids) for (const f of Object.keys(e.values)) both(key(ACC, id, f));
            break;
          case 'writeEnt':
            for (const id of e.ids) {
              for (const f of Object.keys(e.values)) both(key(ENT, id, f));
              if (e.values.account === undefined) continue;
              const old = possibleParents(id, parentsSet(changes, e));
              for (const p of [...old, e.values.account])
                (old.size === 1 ? both : (k: string) => possible.add(k))(key(ACC, p, 'entries'));
            }
            break;
          case 'createAcc':
            e.ids.forEach((id, i) => {
              recordKeys(ACC, id).forEach(both);
              for (const child of e.children[i]) if (child.id !== undefined) recordKeys(ENT, child.id).forEach(both);
            });
            break;
          case 'createEnt':
            e.ids.forEach((id, i) => {
              recordKeys(ENT, id).forEach(both);
              both(key(ACC, e.rows[i].account, 'entries'));
            });
            break;
          case 'unlinkAcc': {
            for (const id of e.ids) recordKeys(ACC, id).forEach(both);
            const gone = new Set(e.ids);
            const candidates = new Set([...before.entries.keys(), ...all.keys()]);
            for (const ent of candidates) {
              const ps = possibleParents(ent);
              if (![...ps].some((p) => gone.has(p))) continue;
              recordKeys(ENT, ent).forEach([...ps].every((p) => gone.has(p)) ? both : (k: string) => possible.add(k));
            }
            break;
          }
          case 'unlinkEnt':
            for (const id of e.ids) {
              recordKeys(ENT, id).forEach(both);
              const ps = possibleParents(id);
              for (const p of ps) (ps.size === 1 ? both : (k: string) => possible.add(k))(key(ACC, p, 'entries'));
            }
            break;
        }
      }
      ch.possible = possible;
      ch.definite = definite;
    }
  }

  const covers = (d: Drop, k: string) => {
    if (d.model === undefined) return true;
    const { model, id } = parseKey(k);
    return d.model === model && (d.ids === undefined || d.ids.includes(id));
  };

  /** Freshenings of k by c in the batch: own definite changes and drops, as [start, end]. */
  function freshenings(c: Client, k: string): Array<{ start: number; end: number }> {
    const out: Array<{ start: number; end: number }> = [];
    for (const ch of batch.changes)
      if (ch.client === c && ch.definite.has(k)) out.push({ start: ch.start, end: ch.end });
    for (const d of batch.drops) if (d.client === c && covers(d, k)) out.push({ start: d.at, end: d.at });
    return out;
  }

  function allowedStale(k: string, got: string): boolean {
    if (got === MISSING) return true;
    const { id, field } = parseKey(k);
    if (field === 'entries') {
      const kids = everChild.get(id) ?? new Set<number>();
      return (JSON.parse(got) as number[]).every((e) => kids.has(e));
    }
    return history.get(k)?.has(got) ?? false;
  }

  function updateStale(c: Client): void {
    const keys = new Set<string>(c.stale);
    for (const ch of batch.changes) for (const k of ch.possible) keys.add(k);
    for (const k of keys) {
      const others = batch.changes.filter((ch) => ch.client !== c && ch.possible.has(k));
      const fresh = freshenings(c, k);
      const lastStart = Math.max(-1, ...fresh.map((f) => f.start));
      if (others.length) {
        const { model, id } = parseKey(k);
        if (fresh.length && others.every((o) => o.end < lastStart)) c.stale.delete(k);
        else if (c.cached[model].has(id)) c.stale.add(k);
        else c.stale.delete(k);
      } else if (fresh.length) {
        c.stale.delete(k);
      }
    }
    for (const k of [...c.stale]) {
      const { model, id, field } = parseKey(k);
      if (model === ACC && field !== 'entries' && c.cached[ACC].has(id)) c.stale.add(key(ACC, id, 'entries'));
    }
  }

  /** May a read of k by c during [start, end] have returned anything but the final value? */
  function readMayDiffer(o: Observation, staleBefore: Set<string>, k: string): boolean {
    const c = o.client;
    const changes = batch.changes.filter((ch) => ch.possible.has(k));
    if (changes.some((ch) => ch.end >= o.start)) return true;
    const others = changes.filter((ch) => ch.client !== c);
    const { model, id, field } = parseKey(k);
    if (field === 'entries') {
      for (const f of COLUMNS[model]) {
        const ck = key(model, id, f);
        if (staleBefore.has(ck) || batch.changes.some((ch) => ch.client !== c && ch.possible.has(ck))) return true;
      }
    }
    if (others.length || staleBefore.has(k)) {
      const fresh = freshenings(c, k).filter((f) => f.end < o.start);
      const lastStart = Math.max(-1, ...fresh.map((f) => f.start));
      if (!fresh.length || !others.every((ch) => ch.end < lastStart)) return true;
    }
    return false;
  }

  function fail(what: string): never {
    throw new Error(what);
  }

  function checkCaches(after: Truth, step: string): void {
    for (const c of clients) {
      for (const model of MODELS) {
        const max = maxSeen(model);
        const ids = new Set<number>([...seen[model]]);
        for (let id = 1; id <= max + 3; id++) ids.add(id);
        for (const id of ids) {
          for (const field of FIELDS[model]) {
            const v = c.env.cache.get(model, field, id);
            if (v === MISS) continue;
            const got = v === GONE ? MISSING : jsonOf(field, v);
            const k = key(model, id, field);
            const want = after.values.get(k) ?? MISSING;
            if (got === want) continue;
            if (c.stale.has(k) && allowedStale(k, got)) continue;
            fail(
              `${step}: ${c.name}'s cache holds ${k} = ${got}, the database ${want}` +
                (c.stale.has(k)
                  ? ` (may be stale, but ${got} was never committed for it; committed: ${JSON.stringify([...(history.get(k) ?? [])])}${field === 'entries' ? `, children ever: ${JSON.stringify([...(everChild.get(id) ?? [])])}` : ''})`
                  : ` (fresh for this fork: ${describeKey(c, k)})`),
            );
          }
        }
      }
    }
  }

  function describeKey(c: Client, k: string): string {
    const parts: string[] = [];
    for (const ch of batch.changes) {
      if (ch.possible.has(k))
        parts.push(
          `${ch.client === c ? 'own' : `${ch.client.name}'s`} ${ch.definite.has(k) ? 'definite' : 'possible'} change by m${ch.member} [${ch.start}, ${ch.end}]`,
        );
    }
    for (const d of batch.drops) if (d.client === c && covers(d, k)) parts.push(`own drop at ${d.at}`);
    return parts.length ? parts.join('; ') : 'no change of it in this batch';
  }

  function checkObservations(after: Truth, staleBefore: Map<Client, Set<string>>, step: string): void {
    for (const o of batch.observations) {
      for (const [k, got] of o.values) {
        const want = after.values.get(k) ?? MISSING;
        if (got === want) continue;
        const lenient = readMayDiffer(o, staleBefore.get(o.client)!, k);
        if (lenient && allowedStale(k, got)) continue;
        fail(
          `${step}: ${o.client.name} (m${o.member}) ${o.what} [${o.start}, ${o.end}] returned ${k} = ${got}, the database holds ${want} after the batch` +
            (lenient
              ? ` (and ${got} was never committed for it)`
              : ` (nothing could have changed it since: ${describeKey(o.client, k)})`),
        );
      }
    }
  }

  /** A search through a fork sees the database. */
  async function checkSearch(after: Truth, step: string): Promise<void> {
    const c = pick(clients);
    const bound = int(-30, 30);
    if (chance(0.5)) {
      const got = await accounts(c).search([['balance', '>', bound]], { order: 'id' });
      const want = [...after.accounts].filter(([, a]) => a.balance !== null && a.balance > bound).map(([id]) => id);
      if (JSON.stringify(got.ids) !== JSON.stringify(want))
        fail(
          `${step}: ${c.name} search balance > ${bound} found ${JSON.stringify(got.ids)}, the database ${JSON.stringify(want)}`,
        );
    } else {
      const acc = hot.mbc_account.length ? pick(hot.mbc_account) : 1;
      const got = await entries(c).searchCount([['account', '=', acc]]);
      const want = [...after.entries.values()].filter((e) => e.account === acc).length;
      if (got !== want) fail(`${step}: ${c.name} searchCount account = ${acc} is ${got}, the database ${want}`);
    }
  }

  // ---------------------------------------------------------------- the run
  scheduler.install(root.knex);
  let members = 0;
  try {
    for (let b = 0; b < batchCount; b++) {
      const step = `[${db.name}] seed ${seed}, batch ${b}`;
      trace = [`#${b}`];
      chooseHot();
      const n = int(2, 6);
      // A third of the batches are one fork's calls only; in the others half of the calls
      // come from one fork: its own calls overlap (and others' changes make fewer keys stale).
      const focus = pick(clients);
      const alone = chance(0.35);
      const plans = Array.from({ length: n }, () => ({
        client: alone || chance(0.5) ? focus : pick(clients),
        plan: planMember(),
      }));
      plans.forEach((p, i) => log(`  m${i} ${p.client.name}: ${p.plan.label}`));
      batch = { changes: [], drops: [], observations: [], touched: new Map(), problems: [], afterwards: [] };
      const staleBefore = new Map(clients.map((c) => [c, new Set(c.stale)]));
      members += n;
      count('batches');
      const t0 = Date.now();
      const results = await scheduler.run(
        plans.map(
          ({ client, plan }, i) =>
            () =>
              plan.run(client, i, { effects: [], inTransaction: false }),
        ),
      );
      count('msRun', Date.now() - t0);
      const errors = results.flatMap((r, i) =>
        r.status === 'rejected'
          ? [`m${i} (${plans[i].client.name}): ${(r.reason as Error)?.stack ?? String(r.reason)}`]
          : [],
      );
      try {
        if (errors.length) fail(`${step}: unexpected failure of a call:\n${errors.join('\n')}`);
        if (batch.problems.length) fail(`${step}: ${batch.problems.join('\n')}`);
        const before = truth;
        const after = await readTruth(root);
        deriveKeys(batch.changes, before);
        // What was committed: the database after the batch, and what committed calls wrote.
        absorbTruth(after);
        for (const ch of batch.changes) {
          for (const [k, v] of explicitValues(ch.effects)) remember(k, v);
          for (const [e, ps] of parentsSet([ch])) for (const p of ps) addChild(p, e);
          for (const k of ch.possible) {
            const { model, id } = parseKey(k);
            seen[model].add(id);
          }
        }
        for (const [c, t] of batch.touched)
          for (const model of MODELS) for (const id of t[model]) c.cached[model].add(id);
        for (const c of clients) updateStale(c);
        log(
          `  changes: ${batch.changes.map((ch) => `m${ch.member} ${ch.client.name} [${ch.start}, ${ch.end}]`).join(', ') || 'none'}`,
        );
        const t1 = Date.now();
        const late = batch.afterwards.flatMap((check) => check() ?? []);
        if (late.length) fail(`${step}: ${late.join('\n')}`);
        checkObservations(after, staleBefore, step);
        checkCaches(after, step);
        count('msCheck', Date.now() - t1);
        truth = after;
        digest.update(JSON.stringify([...after.values]));
        await checkSearch(after, step);
      } catch (e) {
        const err = e as Error;
        err.message = `${err.message}\n--- batch (replay: MB_SEED=${seed} MB_TRACE=1, -t 'seed ${seed}') ---\n${trace.join('\n')}`;
        throw err;
      }
    }
    // At the end, every fork, its cache cleared, reads exactly the database.
    for (const c of clients) {
      c.env.clearCache();
      for (const model of MODELS) {
        const ids = [...seen[model]];
        const got = await observe(c, model, ids, 'read');
        for (const [k, v] of got) {
          const want = truth.values.get(k) ?? MISSING;
          if (v !== want)
            fail(
              `[${db.name}] seed ${seed}, at the end: ${c.name} after clearCache() reads ${k} = ${v}, the database ${want}`,
            );
        }
      }
    }
  } finally {
    scheduler.uninstall();
  }
  const s = scheduler.stats;
  const outcomes = [...counts]
    .filter(([k]) => k.includes('->'))
    .sort()
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return (
    `${batchCount} batches, ${members} concurrent calls, ${counts.get('ops') ?? 0} operations ` +
    `(scheduler: ${s.decisions} releases = ${s.starts} starts + ${s.sends} sends + ${s.replies} replies, ` +
    `${s.lockWaits} decisions during a lock wait (${s.forced} forced), up to ${s.maxCandidates} held at once); ` +
    `${counts.get('msRun')} ms running, ${counts.get('msCheck')} ms checking; digest ${digest.digest('hex').slice(0, 12)}` +
    (TRACE ? `\n  ${outcomes}` : '')
  );
}
