import type { Key } from '../model/keys';
import type { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';
import type { Database } from '../db/database';
import { EventBus, type EnvironmentEvents } from '../db/events';
import { Executor, statementHooks, type StatementGate } from '../db/executor';
import { newTransactionId, traceControl, type StatementOrigin } from '../db/trace';
import {
  ConnectionError,
  DeadlockError,
  EnvironmentError,
  DatabaseError,
  ProxormError,
  ValidationError,
} from '../errors';
import type { ModelSet } from '../model/model-set';
import { Clock } from '../cache/clock';
import { L1, type L1Store } from '../cache/l1';
import type { Layer } from '../cache/layer';
import type { RetentionPolicy } from '../cache/retention';
import type { ModelSchema } from '../model/schema';
import { Loader } from './loader';
import { changedByUnlink } from './relation-rules';
import type { SharedCache } from './shared-cache';
import { TransactionFrame, type Scope } from './scope';
import { emptyStats, type Stats } from './stats';

/** The connection pool and what the sessions sharing it (a root Environment and its forks) agree on. */
export interface SharedPool {
  readonly db: Database;
  readonly queryTimeout: number;
  /** The models the pool's Environments map: fixed at open, the same for every fork. */
  readonly models: ModelSet;
  closed: boolean;
  /** The transaction level of the current async context, whichever session of the pool owns it. */
  readonly transactions: AsyncLocalStorage<TransactionFrame>;
  /** The cap and TTLs of every L1 of the pool (each fork has its own L1 under them); undefined: none. */
  readonly retention: RetentionPolicy | undefined;
  /** The shared cache (L2) of the pool, or undefined (the default: none). */
  readonly sharedCache: SharedCache | undefined;
}

/** Versions kept before a prune is worth its scan while loads are running. */
const PRUNE_MIN = 10_000;

/**
 * The state of one Environment below its public front: the cache layers, the clock
 * their versions run on, the loader, the scopes statements run in, and the counters.
 * Records (record/) talk to this, never to the Environment itself.
 *
 * Transactions: `transaction` and `atomic` run a level (BEGIN or SAVEPOINT) with a
 * cache layer of its own. When the level commits, its layer merges into its parent's
 * at a new clock time, in the same job as the COMMIT's reply (so the cache follows
 * commit order); when it rolls back or fails, the layer is dropped; when its COMMIT
 * fails on a lost connection (outcome unknown), what it touched is forgotten below.
 */
export class Session {
  readonly clock = new Clock();
  /** This session's L1 cache. */
  readonly l1: L1;
  readonly stats: Stats = emptyStats();
  /** The listeners of `env.on`; a fork's forward to its parent's. */
  readonly events: EventBus<EnvironmentEvents>;
  readonly loader: Loader;
  readonly root: Scope;
  private readonly frames = new WeakSet<TransactionFrame>();
  private ownClosed = false;
  private pruneAt = PRUNE_MIN;

  constructor(
    readonly shared: SharedPool,
    /** Automatic prefetch for recordsets of this session. */
    readonly prefetch: boolean,
    /** The public object this session is the state of (what `Environment.default` returns). */
    readonly front: object,
    /** The session this one is a fork of, whose listeners hear this one's events too. */
    parent?: Session,
  ) {
    this.events = new EventBus(parent?.events);
    this.l1 = new L1(this.clock, shared.retention, this.events, front);
    this.loader = new Loader(this.stats, this.clock, () => this.prune(), shared.sharedCache);
    shared.sharedCache?.register(this.l1);
    this.root = {
      cache: this.l1.base,
      frame: undefined,
      executor: this.executor(shared.db.knex, this.rootGate(), {
        bus: this.events,
        env: front,
        transaction: undefined,
        depth: 0,
      }),
    };
  }

  /** The committed-state layer of L1. */
  get base(): Layer {
    return this.l1.base.layer;
  }

  /** Counts `n` reads of `model` served by L1 (the flat `hits` and the model's). */
  hit(model: string, n: number): void {
    this.stats.hits += n;
    this.l1.base.hit(model, n);
  }

  resetStats(): void {
    Object.assign(this.stats, emptyStats());
    this.l1.counters.reset();
  }

  /** The models this session maps (and caches): those of its pool. */
  get models(): ModelSet {
    return this.shared.models;
  }

  get isClosed(): boolean {
    return this.ownClosed || this.shared.closed;
  }

  checkOpen(): void {
    if (this.isClosed) throw new EnvironmentError('this Environment is closed');
  }

  /**
   * Where statements of the current async context run, and whose cache layer its reads
   * see. From the context of a transaction that ended, TransactionEndedError: neither a
   * statement nor a cached value of that transaction may serve it.
   */
  scope(): Scope {
    this.checkOpen();
    const frame = this.shared.transactions.getStore();
    if (frame === undefined || !this.frames.has(frame)) return this.root;
    frame.checkAlive();
    return frame;
  }

  /**
   * The knex of the current context: the transaction's inside one, else the pool. From
   * the context of a transaction that ended it throws TransactionEndedError (a raw
   * statement from there must not run in autocommit either).
   */
  knex(): Knex | Knex.Transaction {
    const frame = this.shared.transactions.getStore();
    if (frame === undefined || !this.frames.has(frame)) return this.shared.db.knex;
    // Throws once the transaction ended or was aborted. While a savepoint of this level
    // is open, a raw statement would run inside it (and be undone by its rollback):
    // refuse it rather than let that happen.
    if (frame.enter()) {
      throw new EnvironmentError(
        'env.knex was used by a transaction level while one of its savepoints (a nested transaction or a write) is open; await it first',
      );
    }
    return frame.trx;
  }

  /**
   * Runs `fn` in a transaction level that follows the async context: every statement
   * this session sends from code called by `fn` runs in it. `retries` (outermost level
   * only) runs `fn` again after a DeadlockError, up to that many times.
   */
  async transaction<T>(fn: () => Promise<T>, retries = 0): Promise<T> {
    const parent = this.scope().frame;
    if (!Number.isSafeInteger(retries) || retries < 0)
      throw new ValidationError('transaction: "retries" must be a non-negative integer');
    if (retries > 0 && parent)
      throw new ValidationError(
        'transaction: "retries" is for the outermost transaction only (a savepoint cannot be retried alone)',
      );
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.level(parent, (frame) => this.shared.transactions.run(frame, fn), true);
      } catch (e) {
        if (!(e instanceof DeadlockError) || attempt >= retries) throw e;
      }
    }
  }

  /**
   * Runs `fn` atomically: as a savepoint of the current transaction when there is one,
   * else in a transaction of its own. The async context is left alone: `fn` gets its
   * scope explicitly, and puts its cache effects in that scope's layer.
   */
  atomic<T>(fn: (scope: Scope) => Promise<T>): Promise<T> {
    return this.level(this.scope().frame, fn, false);
  }

  /**
   * Drops cached values (of one model, or all) in the base layer and in the current
   * transaction's, and in the shared cache (see forgetShared).
   */
  clear(model: string | undefined): void {
    this.visibleStore().invalidate({ model, keys: 'all', source: 'local' });
    this.forgetShared(model, 'all');
  }

  invalidate(model: string, ids: readonly Key[]): void {
    this.visibleStore().invalidate({ model, keys: ids, source: 'local' });
    this.forgetShared(model, ids);
  }

  /** Closes this session; `destroyPool` also closes the pool (forks then stop working). */
  async close(destroyPool: boolean): Promise<void> {
    this.ownClosed = true;
    this.base.clear(undefined, this.clock.tick());
    this.shared.sharedCache?.unregister(this.l1);
    if (destroyPool && !this.shared.closed) {
      this.shared.closed = true;
      await this.shared.db.knex.destroy();
      await this.shared.sharedCache?.close();
    }
  }

  /** `survivesFailures`: see TransactionFrame's (true for env.transaction, false for a write's level). */
  private level<T>(
    parent: TransactionFrame | undefined,
    body: (frame: TransactionFrame) => Promise<T>,
    survivesFailures: boolean,
  ): Promise<T> {
    const run = this.runLevel(parent, body, survivesFailures);
    parent?.sent(run);
    return run;
  }

  private async runLevel<T>(
    parent: TransactionFrame | undefined,
    body: (frame: TransactionFrame) => Promise<T>,
    survivesFailures: boolean,
  ): Promise<T> {
    this.checkOpen();
    const dialect = this.shared.db.dialect;
    if (!parent) this.checkConnectionAvailable();
    const release = parent ? await parent.openChild() : undefined;
    try {
      const origin = this.origin(parent);
      let trx: Knex.Transaction;
      try {
        trx = await traceControl(origin, parent ? 'SAVEPOINT' : 'BEGIN', () =>
          parent ? parent.trx.transaction() : this.shared.db.knex.transaction(),
        );
      } catch (e) {
        const err = dialect.translateError(e, parent ? 'SAVEPOINT' : 'BEGIN');
        throw parent ? parent.failed(err) : err;
      }
      const frame = new TransactionFrame(trx, parent, this.l1.base, this.clock.now(), survivesFailures);
      frame.executor = this.executor(trx, frame, origin);
      this.frames.add(frame);
      this.clock.hold(frame.start);
      try {
        const result = await this.complete(frame, body);
        if (!parent) await this.publish(frame, true);
        return result;
      } catch (e) {
        if (!parent) await this.publish(frame, frame.commitSent);
        throw e;
      } finally {
        frame.end();
        frame.detach();
        this.clock.release(frame.start);
        this.prune();
      }
    } finally {
      release?.();
    }
  }

  /** Runs the level's body, waits for what it sent, then commits (merging its layer) or rolls back. */
  private async complete<T>(frame: TransactionFrame, body: (frame: TransactionFrame) => Promise<T>): Promise<T> {
    const below = frame.cache.layer.parent!;
    let result: T;
    let failure: { error: unknown } | undefined;
    try {
      result = await body(frame);
    } catch (error) {
      failure = { error };
    }
    await frame.drain();
    frame.end(); // from here on, a statement from this level's context is refused
    const aborted = frame.root.aborted;
    const origin = frame.executor.origin;
    if (failure || aborted) {
      // The database already rolled an aborted transaction back: only the outermost
      // level still has something (the connection's state) to end.
      if (!aborted || !frame.parent) {
        await traceControl(origin, frame.parent ? 'ROLLBACK TO SAVEPOINT' : 'ROLLBACK', () =>
          frame.trx.rollback(),
        ).catch(() => undefined);
      }
      throw aborted ?? failure!.error;
    }
    if (!frame.parent) frame.commitSent = true;
    try {
      const reply: unknown = await traceControl(origin, frame.parent ? 'RELEASE SAVEPOINT' : 'COMMIT', () =>
        frame.trx.commit(),
      );
      if (!this.shared.db.dialect.committed(reply)) {
        throw new DatabaseError(
          'database error: the transaction was rolled back instead of committed: a statement in it failed and aborted it ' +
            '(a raw statement through env.knex: proxorm runs its own under savepoints)',
          'COMMIT',
          undefined,
          undefined,
        );
      }
    } catch (e) {
      const err =
        e instanceof ProxormError
          ? e
          : this.shared.db.dialect.translateError(e, frame.parent ? 'RELEASE SAVEPOINT' : 'COMMIT');
      if (err instanceof ConnectionError) frame.cache.layer.forgetIn(below, this.clock.tick());
      throw err;
    }
    // Test hook: a COMMIT's reply may reach us after a later COMMIT's (see Layer.mergeInto).
    if (statementHooks.afterReply) await statementHooks.afterReply(frame.parent ? 'RELEASE SAVEPOINT' : 'COMMIT');
    // Observations of the outermost level are as old as the transaction's snapshot.
    frame.cache.layer.mergeInto(below, this.clock.tick(), frame.start, frame.parent ? Infinity : frame.start);
    return result!;
  }

  /**
   * Before a write's statement: soft-locks `keys` of `schema` in the shared cache (readers
   * bypass them, loads that began before cannot fill them), until the outermost level
   * ends (publish). No-op without a shared cache, or for a model it does not hold.
   */
  async lockShared(scope: Scope, schema: ModelSchema, keys: Iterable<Key>): Promise<void> {
    const cache = this.shared.sharedCache;
    const list = [...keys];
    if (!cache || !cache.holds(schema) || list.length === 0 || !scope.frame) return;
    const lock = await cache.l2.lock(schema.name, list);
    scope.frame.root.sharedWrites.push({ model: schema.name, keys: list, lock });
  }

  /**
   * Rows of `schema` are deleted: what the database's ON DELETE rules change in other
   * tables (records it cannot name) is invalidated at commit, whole models, or the whole
   * shared cache when a table reached is not one this pool holds (SharedCache.changedByDelete).
   */
  invalidateSharedAfterDelete(scope: Scope, schema: ModelSchema): void {
    const cache = this.shared.sharedCache;
    if (!cache || !scope.frame) return;
    const changed = cache.changedByDelete(schema, changedByUnlink(this.models, schema));
    const models = changed === 'every' ? [undefined] : changed;
    for (const model of models) scope.frame.root.sharedWrites.push({ model, keys: 'all' });
  }

  /**
   * The outermost level ended: what its writes locked is invalidated and published
   * (committed, or a COMMIT whose outcome is unknown) or unlocked (rolled back), before
   * the transaction's promise settles: a fork created after it resolved never reads
   * the old values from the shared cache.
   */
  private async publish(frame: TransactionFrame, committed: boolean): Promise<void> {
    const cache = this.shared.sharedCache;
    if (!cache || frame.sharedWrites.length === 0) return;
    await cache.published(frame.sharedWrites.splice(0), committed, this.l1);
  }

  /** The store of the current transaction level (ended or not ours: the committed one). */
  private visibleStore(): L1Store {
    return this.liveFrame()?.cache ?? this.l1.base;
  }

  /** The current transaction level of this session, unless there is none or it ended. */
  private liveFrame(): TransactionFrame | undefined {
    this.checkOpen();
    const frame = this.shared.transactions.getStore();
    return frame !== undefined && this.frames.has(frame) && !frame.isEnded ? frame : undefined;
  }

  /**
   * clearCache / invalidateRecord reach the shared cache: the rows may have been changed
   * by raw SQL, and L2 would serve the old values to this and every other Environment.
   * Outside a transaction now (the store's commands are sent before this returns, ahead
   * of any later read's); inside one at its outermost commit, when the change is visible.
   */
  private forgetShared(model: string | undefined, keys: readonly Key[] | 'all'): void {
    const cache = this.shared.sharedCache;
    if (!cache || !cache.holdsModel(model)) return;
    const frame = this.liveFrame();
    if (frame === undefined) {
      void cache.l2.invalidate({ model, keys, source: 'local' });
      return;
    }
    const models = model === undefined ? this.models.schemas.filter((s) => cache.holds(s)).map((s) => s.name) : [model];
    for (const name of models)
      frame.root.sharedWrites.push(keys === 'all' ? { model: name, keys } : { model: name, keys, lock: undefined });
  }

  /**
   * Runs a statement whose result the caller puts in the cache as an observation made
   * at `since` (see Layer.fill): holds that time on the clock meanwhile, so the
   * versions it will be checked against are not pruned.
   */
  async observing<T>(fn: (since: number) => Promise<T>): Promise<T> {
    const since = this.clock.now();
    this.clock.hold(since);
    try {
      return await fn(since);
    } finally {
      this.clock.release(since);
      this.prune();
    }
  }

  private executor(knex: Knex | Knex.Transaction, gate: StatementGate, origin: StatementOrigin): Executor {
    return new Executor(
      knex,
      this.shared.db.dialect,
      () => this.stats.queries++,
      this.shared.queryTimeout,
      gate,
      origin,
    );
  }

  /** Who sends the statements of a new transaction level below `parent` (or below the pool). */
  private origin(parent: TransactionFrame | undefined): StatementOrigin {
    const above = (parent ?? this.root).executor.origin;
    return { ...above, transaction: above.transaction ?? newTransactionId(), depth: above.depth + 1 };
  }

  /** The pool's gate: refuses statements once closed, or when they could never get a connection. */
  private rootGate(): StatementGate {
    return {
      enter: () => {
        this.checkOpen();
        this.checkConnectionAvailable();
        return undefined;
      },
      sent: () => undefined,
      failed: (error: DatabaseError) =>
        this.isClosed
          ? new EnvironmentError('the Environment was closed while this statement was running', { cause: error })
          : error,
    };
  }

  /**
   * On a one-connection pool (SQLite), a statement or transaction that needs the pool
   * while the current async context is inside a transaction (of any Environment of the
   * pool) would wait forever for the connection that transaction holds: refuse it now.
   */
  private checkConnectionAvailable(): void {
    if (this.shared.db.maxConnections !== 1) return;
    const frame = this.shared.transactions.getStore();
    if (frame && !frame.isEnded) {
      throw new EnvironmentError(
        'a statement outside the current transaction (another Environment, or a fork) was sent from inside it, ' +
          'and the database has a single connection, which the transaction holds: it could never run',
      );
    }
  }

  private prune(): void {
    const versions = this.base.versions;
    if (versions.size === 0) return;
    const horizon = this.clock.horizon();
    if (horizon === this.clock.now() || versions.size > this.pruneAt) {
      versions.prune(horizon);
      this.pruneAt = Math.max(PRUNE_MIN, 2 * versions.size);
    }
  }
}
