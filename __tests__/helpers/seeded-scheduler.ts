import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';
import { statementHooks } from '../../lib/db/executor';

/**
 * A seeded scheduler for concurrent tests: it decides, from a PRNG, the order in which
 * the concurrent calls of a batch start, send their statements and see their replies,
 * so that a seed replays the same interleaving (on the same database) every time.
 *
 * What it holds back (the "candidates" of a decision):
 * - the start of each batch member (a function given to `run`);
 * - every statement knex is about to send to the driver, data statements and
 *   transaction control alike (BEGIN, SAVEPOINT, COMMIT, ROLLBACK): the driver call
 *   (`_query`) of the knex client is wrapped while a batch runs;
 * - every reply of a data statement after it arrived and before proxorm's caller sees
 *   it (the executor's `statementHooks.afterReply` test hook): a load's result can be
 *   held back while writes, unlinks and commits of the same Environment go ahead.
 *
 * How a decision is made: the scheduler waits until the process is quiescent — no
 * JavaScript left to run (two macrotask turns without any event), no statement at the
 * database except one waiting for a row lock (MariaDB: seen twice in SHOW ENGINE INNODB
 * STATUS, from a connection of its own), no connection being opened — then sorts the
 * candidates by a key that does not depend on timing (the member, or branch of a
 * member, that caused them, and their rank among its candidates, tracked with
 * AsyncLocalStorage) and releases one. A third of the batches release a uniformly drawn
 * one; a third the one of highest random priority (which holds some replies back for
 * long stretches, as PCT does with threads); a third any start or send before any reply
 * (the one of highest priority among them): every load's result then waits while the
 * other calls go as far as they can, writes and commits of the same Environment
 * included. Exactly one thing moves at a time, so the
 * database sees the statements in an order fixed by the seed and proxorm sees the
 * replies in an order fixed by the seed. Timers only decide when to look again, never
 * what to release.
 *
 * Lock waits (MariaDB): while a statement waits for a lock, no other data statement is
 * sent unless nothing else can move (then a plain SELECT goes first, which never waits,
 * else one of a transaction that may hold the lock). Two waiters woken by one COMMIT run
 * at the same time at the server, and their order (even whether they deadlock, which
 * auto-increment ids they get) then depends on timing: the one way a MariaDB replay can
 * drift from the original run.
 *
 * It cannot deadlock by itself: whenever nothing can move without it, it releases a
 * candidate; if there is none while members are still running (nothing held back,
 * nothing at the database but lock waits), it throws with what is pending. SQLite has
 * one connection: a statement of another transaction waits in the pool (not here) until
 * the transaction holding the connection ends, which only needs that transaction's own
 * candidates.
 */

interface Candidate {
  readonly kind: 'start' | 'send' | 'reply';
  /** The member (or branch of a member, "2.1") whose code caused it. */
  readonly member: string;
  readonly rank: number;
  readonly sql: string;
  /** For a send: the server thread of the connection it goes to. */
  readonly threadId: number | undefined;
  readonly release: () => void;
  /** Drawn at the first decision that sees the candidate (in key order, so independent of arrival order). */
  priority?: number;
}

interface AtDatabase {
  readonly threadId: number | undefined;
  readonly sql: string;
}

/** Which server threads (connections) are waiting for a row lock now (MariaDB, PostgreSQL). */
export interface LockMonitor {
  lockWaiting(): Promise<Set<number>>;
  /**
   * How long the database lets statements wait for locks before it looks for a deadlock
   * among them (PostgreSQL's deadlock_timeout; InnoDB looks at once: 0). While every
   * statement waits for a lock and nothing is held back, the scheduler waits that long
   * (and a margin) for the database to end the deadlock before it calls itself stuck.
   */
  readonly deadlockCheckMs: number;
  close(): Promise<void>;
}

export interface SchedulerStats {
  decisions: number;
  starts: number;
  sends: number;
  replies: number;
  /** Decisions taken while a statement waited for a lock. */
  lockWaits: number;
  /** Of those, how many had to let another data statement go (nothing else could move). */
  forced: number;
  maxCandidates: number;
}

type Strategy = 'uniform' | 'priority' | 'replies last';
/** How a batch picks among candidates (a third each). */
const pickStrategy = (r: number): Strategy => (r < 1 / 3 ? 'uniform' : r < 2 / 3 ? 'priority' : 'replies last');

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const CONTROL = /^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE\s+SAVEPOINT|SET\s+TRANSACTION)\b/i;

type QueryFn = (this: unknown, connection: unknown, obj: unknown) => Promise<unknown>;
type Context = { member: string; rank: number; branches: number };

export class SeededScheduler {
  readonly stats: SchedulerStats = {
    decisions: 0,
    starts: 0,
    sends: 0,
    replies: 0,
    lockWaits: 0,
    forced: 0,
    maxCandidates: 0,
  };
  private active = false;
  private progress = 0;
  private orphanRank = 0;
  private readonly candidates: Candidate[] = [];
  private readonly atDatabase = new Set<AtDatabase>();
  /** Server threads with a transaction open (BEGIN sent, no COMMIT / ROLLBACK yet). */
  private readonly inTransaction = new Set<number>();
  private readonly waiters = new Set<() => void>();
  private readonly members = new AsyncLocalStorage<Context>();
  private restore: (() => void) | undefined;
  private pool: { numPendingCreates(): number } | undefined;

  constructor(
    private readonly rng: () => number,
    private readonly monitor: LockMonitor | undefined,
    /** Told of every release, in order (a test hashes them to show that a replay is exact). */
    private readonly onRelease?: (what: string) => void,
  ) {}

  /** Wraps the knex client's driver call and sets the executor's afterReply hook. */
  install(knex: Knex): void {
    if (this.restore) throw new Error('scheduler already installed');
    const client = (knex as unknown as { client: { pool?: { numPendingCreates(): number } } }).client;
    // Transaction clients are made with Object.create(client.constructor.prototype): wrap there.
    const proto = Object.getPrototypeOf(client) as { _query: QueryFn };
    const own = Object.prototype.hasOwnProperty.call(proto, '_query');
    const original = proto._query;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const scheduler = this;
    proto._query = function (this: unknown, connection: unknown, obj: unknown): Promise<unknown> {
      if (!scheduler.active) return original.call(this, connection, obj);
      const sql = typeof obj === 'string' ? obj : ((obj as { sql?: string } | null)?.sql ?? '');
      // mysql2's connection id; pg's backend process id.
      const c = connection as { threadId?: number; processID?: number } | null;
      const threadId = c?.threadId ?? c?.processID;
      return new Promise<void>((resolve) => scheduler.hold('send', sql, threadId, resolve)).then(() =>
        scheduler.atTheDatabase(threadId, sql, () => original.call(this, connection, obj)),
      );
    };
    const hookBefore = statementHooks.afterReply;
    statementHooks.afterReply = (sql: string) =>
      this.active ? new Promise<void>((resolve) => this.hold('reply', sql, undefined, resolve)) : undefined;
    this.pool = client.pool;
    this.restore = () => {
      if (own) proto._query = original;
      else delete (proto as Partial<typeof proto>)._query;
      statementHooks.afterReply = hookBefore;
    };
  }

  uninstall(): void {
    this.restore?.();
    this.restore = undefined;
  }

  /**
   * Runs `fn` as a branch of the current member: calls a member issues together
   * (Promise.all) are told apart, so that the order of their candidates never depends
   * on which reply arrived first.
   */
  branch<T>(fn: () => Promise<T>): Promise<T> {
    const parent = this.members.getStore();
    if (!parent) return fn();
    return this.members.run({ member: `${parent.member}.${++parent.branches}`, rank: 0, branches: 0 }, fn);
  }

  /**
   * Runs the members concurrently under the scheduler and returns how each settled.
   * The members' own random choices must be made before (from the test's PRNG).
   */
  async run<T>(members: ReadonlyArray<() => Promise<T>>): Promise<Array<PromiseSettledResult<T>>> {
    if (!this.restore) throw new Error('scheduler not installed');
    const results = new Array<PromiseSettledResult<T>>(members.length);
    let running = members.length;
    members.forEach((fn, i) => {
      this.candidates.push({
        kind: 'start',
        member: String(i),
        rank: 0,
        sql: '',
        threadId: undefined,
        release: () => {
          this.members
            .run({ member: String(i), rank: 0, branches: 0 }, () => Promise.resolve().then(fn))
            .then(
              (value) => (results[i] = { status: 'fulfilled', value }),
              (reason: unknown) => (results[i] = { status: 'rejected', reason }),
            )
            .finally(() => {
              running--;
              this.bump();
            });
        },
      });
    });
    const strategy = pickStrategy(this.rng());
    this.active = true;
    try {
      for (;;) {
        const lockWait = await this.quiesce();
        if (this.candidates.length === 0) {
          if (running === 0 && this.atDatabase.size === 0) break;
          if (await this.deadlockEnded()) continue;
          throw new Error(
            `seeded scheduler: stuck with ${running} member(s) running, nothing held back, and ` +
              `${this.atDatabase.size} statement(s) waiting for locks at the database: ${[...this.atDatabase].map((s) => s.sql).join(' | ')}`,
          );
        }
        this.stats.maxCandidates = Math.max(this.stats.maxCandidates, this.candidates.length);
        this.candidates.sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : a.rank - b.rank));
        for (const c of this.candidates) if (c.priority === undefined) c.priority = this.rng();
        let eligible = this.candidates;
        if (lockWait) {
          this.stats.lockWaits++;
          const isData = (c: Candidate) => c.kind === 'send' && !CONTROL.test(c.sql);
          eligible = this.candidates.filter((c) => !isData(c));
          if (eligible.length === 0) {
            // Nothing else can move: first a plain read (it never waits for a lock), then a
            // statement of an open transaction (it may hold the lock), then anything.
            this.stats.forced++;
            const reads = this.candidates.filter((c) => /^\s*select\b/i.test(c.sql));
            const holders = this.candidates.filter(
              (c) => c.threadId !== undefined && this.inTransaction.has(c.threadId),
            );
            eligible = reads.length ? reads : holders.length ? holders : this.candidates;
          }
        }
        if (strategy === 'replies last') {
          const moving = eligible.filter((c) => c.kind !== 'reply');
          if (moving.length) eligible = moving;
        }
        let index = 0;
        if (strategy !== 'uniform') {
          for (let i = 1; i < eligible.length; i++) if (eligible[i].priority! > eligible[index].priority!) index = i;
        } else {
          index = Math.floor(this.rng() * eligible.length);
        }
        const next = eligible[index];
        this.candidates.splice(this.candidates.indexOf(next), 1);
        this.stats.decisions++;
        this.stats[next.kind === 'start' ? 'starts' : next.kind === 'send' ? 'sends' : 'replies']++;
        this.onRelease?.(`${next.kind} m${next.member}.${next.rank} ${next.sql}`);
        next.release();
      }
    } finally {
      this.active = false;
      for (const c of this.candidates.splice(0)) c.release();
    }
    return results;
  }

  private hold(kind: 'send' | 'reply', sql: string, threadId: number | undefined, release: () => void): void {
    const ctx = this.members.getStore();
    this.candidates.push({
      kind,
      member: ctx ? ctx.member : '-',
      rank: ctx ? ++ctx.rank : ++this.orphanRank,
      sql,
      threadId,
      release,
    });
    this.bump();
  }

  private async atTheDatabase<R>(threadId: number | undefined, sql: string, send: () => Promise<R>): Promise<R> {
    const entry: AtDatabase = { threadId, sql };
    if (threadId !== undefined) {
      if (/^\s*BEGIN\b/i.test(sql)) this.inTransaction.add(threadId);
      else if (/^\s*(COMMIT|ROLLBACK)\s*;?\s*$/i.test(sql)) this.inTransaction.delete(threadId);
    }
    this.atDatabase.add(entry);
    this.bump();
    try {
      return await send();
    } finally {
      this.atDatabase.delete(entry);
      this.bump();
    }
  }

  /**
   * Every statement at the database waits for a lock and nothing is held back: a deadlock
   * the database has yet to notice (PostgreSQL checks after deadlock_timeout). Whether
   * something moved within that time and a margin.
   */
  private async deadlockEnded(): Promise<boolean> {
    const ms = this.monitor?.deadlockCheckMs ?? 0;
    if (ms === 0) return false;
    const before = this.progress;
    const until = Date.now() + 3 * ms + 1000;
    while (this.progress === before && Date.now() < until) await this.nextEvent(until - Date.now());
    return this.progress !== before;
  }

  private bump(): void {
    this.progress++;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Resolves at the next event or after `ms`, whichever comes first (only decides when to look again). */
  private nextEvent(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }

  /**
   * Waits until nothing can move any more without a release. Returns whether a
   * statement is at the database waiting for a lock.
   */
  private async quiesce(): Promise<boolean> {
    for (;;) {
      const before = this.progress;
      await turn();
      await turn();
      if (this.progress !== before) continue;
      const creating = () => this.pool?.numPendingCreates() ?? 0;
      if (this.atDatabase.size === 0 && creating() === 0) return false;
      // The database (or a connection being opened) has yet to answer.
      await this.nextEvent(1);
      if (this.progress !== before || creating() !== 0 || !this.monitor) continue;
      // Nothing answered: are all the statements at the database waiting for locks?
      if (!(await this.allWaitingForLocks(before))) continue;
      await this.nextEvent(1);
      if (this.progress === before && (await this.allWaitingForLocks(before))) return true;
    }
  }

  private async allWaitingForLocks(before: number): Promise<boolean> {
    const waiting = await this.monitor!.lockWaiting();
    if (this.progress !== before) return false;
    return [...this.atDatabase].every((s) => s.threadId !== undefined && waiting.has(s.threadId));
  }
}

/**
 * A LockMonitor on a connection of its own (not knex's pool, not held back by the
 * scheduler). It reads SHOW ENGINE INNODB STATUS, which is computed when asked:
 * information_schema.INNODB_TRX is a cache that InnoDB refreshes only once nobody has
 * read it for 100 ms, so polled often it never shows a new lock wait.
 */
export async function mariadbLockMonitor(url: string): Promise<LockMonitor> {
  const mysql = await import('mysql2/promise');
  const conn = await mysql.createConnection(url);
  return {
    deadlockCheckMs: 0,
    async lockWaiting() {
      const [rows] = (await conn.query('SHOW ENGINE INNODB STATUS')) as unknown as [Array<{ Status: string }>];
      const waiting = new Set<number>();
      for (const trx of rows[0].Status.split('\n---TRANSACTION ').slice(1)) {
        const thread = /thread id (\d+)/.exec(trx);
        if (thread && /\nLOCK WAIT /.test(trx)) waiting.add(Number(thread[1]));
      }
      return waiting;
    },
    async close() {
      await conn.end();
    },
  };
}

/**
 * The same on PostgreSQL: the backends of this database waiting for a lock, from
 * pg_stat_activity (each query of this connection is a transaction of its own, so it sees
 * the current state, not a snapshot taken earlier).
 */
export async function postgresLockMonitor(url: string): Promise<LockMonitor> {
  const { Client } = await import('pg');
  const conn = new Client({ connectionString: url });
  await conn.connect();
  const { rows } = await conn.query<{ ms: string }>(
    "SELECT setting AS ms FROM pg_settings WHERE name = 'deadlock_timeout'",
  );
  return {
    deadlockCheckMs: Number(rows[0].ms),
    async lockWaiting() {
      const { rows } = await conn.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      return new Set(rows.map((r) => r.pid));
    },
    async close() {
      await conn.end();
    },
  };
}
