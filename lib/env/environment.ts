import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';
import { openDatabase, type Database, type DatabaseConfig } from '../db/database';
import { Executor } from '../db/executor';
import { syncSchemas, type SyncReport } from '../db/schema-sync';
import { EnvironmentError, ProxormError, ValidationError } from '../errors';
import { allSchemas, schemaOf } from '../model/registry';
import { ModelApi } from '../record/model-api';
import type { ModelClass } from '../record/types';
import { RecordCache } from './cache';
import { Loader } from './loader';
import { TransactionFrame, type Scope } from './scope';
import { emptyStats, type Stats } from './stats';

export type EnvironmentConfig = DatabaseConfig & {
  /** Automatic prefetch (default true). false: every miss loads one record: the N+1 baseline. */
  prefetch?: boolean;
  /**
   * Milliseconds a statement may run (default: no limit). Past it the statement is
   * cancelled on MySQL/MariaDB (KILL QUERY) and the call fails with QueryTimeoutError;
   * SQLite statements run in-process and cannot be interrupted.
   */
  queryTimeout?: number;
};

/** The connection pool and what the Environments sharing it (the root and its forks) agree on. */
interface Shared {
  readonly db: Database;
  readonly queryTimeout: number;
  closed: boolean;
}

/**
 * A unit of work: a database connection pool (shared with forks), a record cache of its
 * own, statistics, and the transaction in progress, if any.
 *
 * Transactions follow the async context: inside `env.transaction(fn)`, every statement
 * this Environment sends from code called by `fn` runs in that transaction, whatever
 * recordset sends it. Forks have their own context and never join it.
 */
export class Environment {
  private static defaultEnv: Environment | undefined;

  /** Automatic prefetch for recordsets this Environment creates. */
  readonly prefetch: boolean;
  /** @internal */ readonly cache = new RecordCache();
  /** @internal */ readonly counters: Stats = emptyStats();
  /** @internal */ readonly loader = new Loader(this.cache, this.counters);
  private readonly root: Scope;
  private readonly transactions = new AsyncLocalStorage<TransactionFrame>();
  private readonly apis = new Map<Function, ModelApi<unknown>>();
  private ownClosed = false;

  private constructor(private readonly shared: Shared, prefetch: boolean, private readonly isRoot: boolean) {
    this.prefetch = prefetch;
    this.root = { executor: this.executor(shared.db.knex), journal: undefined };
  }

  /**
   * Opens a connection pool: with no argument an in-memory SQLite database;
   * `{ filename }` a SQLite file; `{ client: 'mysql2', connection }` MySQL/MariaDB.
   * The new Environment becomes the default one (see `Environment.default`).
   */
  static async open(config: EnvironmentConfig = {}): Promise<Environment> {
    if (config === null || typeof config !== 'object') throw new ValidationError('Environment.open: config must be an object');
    const { prefetch = true, queryTimeout = 0, ...dbConfig } = config;
    if (typeof prefetch !== 'boolean') throw new ValidationError('Environment.open: "prefetch" must be a boolean');
    if (!Number.isSafeInteger(queryTimeout) || queryTimeout < 0) throw new ValidationError('Environment.open: "queryTimeout" must be a non-negative integer (ms)');
    const env = new Environment({ db: await openDatabase(dbConfig as DatabaseConfig), queryTimeout, closed: false }, prefetch, true);
    Environment.defaultEnv = env;
    return env;
  }

  /** The Environment that `Model.browse/search/...` use: the last opened, or the one set. */
  static get default(): Environment {
    const env = Environment.defaultEnv;
    if (!env || env.isClosed) throw new EnvironmentError('no open default Environment: call Environment.open() first');
    return env;
  }

  static setDefault(env: Environment): void {
    if (!(env instanceof Environment)) throw new ValidationError('Environment.setDefault: expected an Environment');
    Environment.defaultEnv = env;
  }

  /** 'sqlite' or 'mysql'. */
  get dialect(): 'sqlite' | 'mysql' {
    return this.shared.db.dialect.name;
  }

  /** The knex instance, for statements proxorm does not make (they bypass the cache). */
  get knex(): Knex {
    return this.shared.db.knex;
  }

  /** A snapshot of this Environment's counters. */
  get stats(): Stats {
    return { ...this.counters };
  }

  resetStats(): void {
    Object.assign(this.counters, emptyStats());
  }

  /** Model-level calls (browse, search, searchCount, create) in this Environment. */
  model<M>(cls: ModelClass<M>): ModelApi<M> {
    let api = this.apis.get(cls);
    if (!api) this.apis.set(cls, (api = new ModelApi<unknown>(this, schemaOf(cls))));
    return api as ModelApi<M>;
  }

  /** Creates missing tables and columns for every registered model. */
  async sync(): Promise<SyncReport> {
    this.checkOpen();
    const db = this.shared.db;
    try {
      return await syncSchemas(db.knex, db.dialect, allSchemas());
    } catch (e) {
      if (e instanceof ProxormError) throw e;
      throw db.dialect.translateError(e, undefined);
    }
  }

  /** A new Environment on the same pool with an empty cache and its own stats: one per request. */
  fork(options: { prefetch?: boolean } = {}): Environment {
    this.checkOpen();
    return new Environment(this.shared, options.prefetch ?? this.prefetch, false);
  }

  /**
   * Runs `fn` in a transaction: commit when it resolves, rollback when it throws (the
   * error is rethrown). Nested calls use savepoints. On rollback, every cache entry the
   * transaction (level) touched is dropped, so nothing it wrote stays visible.
   */
  async transaction<T>(fn: (env: this) => Promise<T>): Promise<T> {
    return this.runInTransaction((frame) => this.transactions.run(frame, () => fn(this)));
  }

  /** Drops the cache of one model (by name or class), or all of it. */
  clearCache(model?: string | ModelClass<unknown>): void {
    this.cache.clear(model === undefined ? undefined : this.modelName(model));
  }

  /** Drops the cached values of records: the next read loads them. */
  invalidateRecord(model: string | ModelClass<unknown>, ids: number | readonly number[]): void {
    this.cache.invalidate(this.modelName(model), typeof ids === 'number' ? [ids] : ids);
  }

  /**
   * Closes the pool (for the root Environment: forks then stop working too) or, for a
   * fork, only drops its cache.
   */
  async close(): Promise<void> {
    this.ownClosed = true;
    this.cache.clear();
    if (this.isRoot && !this.shared.closed) {
      this.shared.closed = true;
      await this.shared.db.knex.destroy();
    }
    if (Environment.defaultEnv === this) Environment.defaultEnv = undefined;
  }

  get isClosed(): boolean {
    return this.ownClosed || this.shared.closed;
  }

  /** @internal Where statements of the current async context run. */
  scope(): Scope {
    this.checkOpen();
    return this.transactions.getStore() ?? this.root;
  }

  /**
   * @internal Runs `fn` atomically: as a savepoint of the current transaction when there
   * is one, else in a transaction of its own. Unlike transaction(), the async context is
   * left alone: `fn` gets its scope explicitly (and promise hooks stay off until a user
   * transaction needs them).
   */
  atomic<T>(fn: (scope: Scope) => Promise<T>): Promise<T> {
    return this.runInTransaction((frame) => fn(frame));
  }

  /** Begin (or savepoint), run, commit; on failure roll back and drop what the level touched. */
  private async runInTransaction<T>(body: (frame: TransactionFrame) => Promise<T>): Promise<T> {
    this.checkOpen();
    const parent = this.transactions.getStore();
    const dialect = this.shared.db.dialect;
    let trx: Knex.Transaction;
    try {
      trx = await (parent ? parent.trx.transaction() : this.shared.db.knex.transaction());
    } catch (e) {
      throw dialect.translateError(e, 'BEGIN');
    }
    const frame = new TransactionFrame(trx, (t) => this.executor(t));
    let result: T;
    try {
      result = await body(frame);
    } catch (e) {
      await trx.rollback().catch(() => undefined);
      this.dropTouched(frame);
      throw e;
    }
    try {
      await trx.commit();
    } catch (e) {
      this.dropTouched(frame);
      throw dialect.translateError(e, 'COMMIT');
    }
    if (parent) frame.journal.mergeInto(parent.journal);
    return result;
  }

  private executor(knex: Knex | Knex.Transaction): Executor {
    return new Executor(knex, this.shared.db.dialect, () => this.counters.queries++, this.shared.queryTimeout);
  }

  private dropTouched(frame: TransactionFrame): void {
    for (const [model, ids] of frame.journal.touched) this.cache.invalidate(model, ids);
  }

  private modelName(model: string | ModelClass<unknown>): string {
    if (typeof model === 'string') return model;
    return schemaOf(model).name;
  }

  private checkOpen(): void {
    if (this.isClosed) throw new EnvironmentError('this Environment is closed');
  }
}
