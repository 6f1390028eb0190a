import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';
import { databaseOptionKeys, openDatabase, type DatabaseConfig } from '../db/database';
import type { DialectName } from '../db/dialect';
import { EVENT_NAMES, type EnvironmentEvents, type EventBus, type ListenOptions } from '../db/events';
import { syncSchemas, type SyncReport } from '../db/schema-sync';
import { ProxormError, ValidationError } from '../errors';
import { validKey, type Key } from '../model/keys';
import { ModelSet } from '../model/model-set';
import type { ModelSchema } from '../model/schema';
import { modelApi, type ModelApi } from '../record/model-api';
import type { FieldKeys, ModelClass } from '../record/types';
import { defaultSession, isDefaultSession, setDefaultSession } from '../session/default';
import type { Layer } from '../cache/layer';
import { levelStatsText } from '../cache/counters';
import { checkCacheOptions, retentionPolicy, type CacheOptions } from '../cache/options';
import { L2Store, l2StatsText, type L2Stats } from '../cache/l2';
import { openSharedStore } from '../cache/shared/open';
import { SharedCache } from '../session/shared-cache';
import type { LevelStats } from '../cache/store';
import { Session, type SharedPool } from '../session/session';
import type { TransactionFrame } from '../session/scope';
import type { Stats } from '../session/stats';
import { planWarm, runWarm, type WarmPlan, type WarmResult } from '../session/warm';
import type { Domain } from '../query/domain';
import { attachLogging, checkLogOption, type LogOption } from './log';

export type EnvironmentConfig = DatabaseConfig & {
  /** Automatic prefetch (default true). false: every miss loads one record: the N+1 baseline. */
  prefetch?: boolean;
  /**
   * Milliseconds a statement may run (default: no limit). Past it the statement is
   * cancelled on MySQL/MariaDB (KILL QUERY) and PostgreSQL (pg_cancel_backend) and the
   * call fails with QueryTimeoutError; SQLite statements run in-process and cannot be
   * interrupted.
   */
  queryTimeout?: number;
  /**
   * The model classes this Environment maps (default: every model registered when it
   * opens). Fixed for its pool: forks share it. Names and tables are unique within it,
   * and every relation targets a model of it (SchemaError at open); sync() creates only
   * its tables, and env.model / clearCache / invalidateRecord refuse other models
   * (SchemaError). Two Environments may map one table name with two classes.
   */
  models?: readonly ModelClass<unknown>[];
  /**
   * SQL logging for this pool (its forks included): `true` writes one line per statement
   * to stderr (`proxorm:sql <sql> -- <rows>, <ms> ms`), a function receives each line and
   * the statement's end event. Lines carry placeholders, never values. README "Seeing the SQL".
   */
  log?: LogOption<Environment>;
  /**
   * The record cache's size cap and expiry, for this Environment and each of its forks
   * (each fork has its own cache under the same policy): `{ maxRecords, ttl }`.
   * Default: no cap, no TTL. README "Cache size and expiry".
   */
  cache?: CacheOptions;
};

/** The options of open() that are the Environment's own (the rest are the database's). */
const ENVIRONMENT_OPTIONS: readonly string[] = ['prefetch', 'queryTimeout', 'models', 'log', 'cache'];

/** `env.stats`: the flat counters, and the cache's per level and per model. */
export interface EnvironmentStats extends Stats {
  readonly cache: {
    /** This Environment's own cache (a fork's is its own). */
    readonly l1: LevelStats;
    /**
     * The shared cache (L2) as this pool used it: every fork's reads together, since the
     * pool opened (resetStats leaves it), with the invalidations it received from other
     * processes and their latency. Absent without a shared cache.
     */
    readonly l2?: L2Stats;
  };
}

export interface TransactionOptions {
  /**
   * Outermost transaction only: how many times to run the callback again when the
   * database aborts the transaction (DeadlockError). Default 0.
   */
  retries?: number;
}

/**
 * A unit of work: a database connection pool (shared with forks), a record cache of its
 * own, statistics, and the transactions in progress, if any. This is the public front;
 * the state lives in a Session (session/), which the records talk to.
 *
 * Transactions follow the async context: inside `env.transaction(fn)`, every statement
 * this Environment sends from code called by `fn` runs in that transaction, whatever
 * recordset sends it, and what it writes or loads is visible only to that code until
 * the outermost commit. Forks have their own context and never join it.
 */
export class Environment {
  /** @internal */ readonly session: Session;

  private constructor(
    shared: SharedPool,
    prefetch: boolean,
    private readonly isRoot: boolean,
    parent?: Session,
  ) {
    this.session = new Session(shared, prefetch, this, parent);
  }

  /**
   * Opens a connection pool: with no argument an in-memory SQLite database;
   * `{ filename }` a SQLite file; `{ client: 'mysql2', connection }` MySQL/MariaDB;
   * `{ client: 'pg', connection }` PostgreSQL.
   * The new Environment becomes the default one (see `Environment.default`).
   */
  static async open(config: EnvironmentConfig = {}): Promise<Environment> {
    if (config === null || typeof config !== 'object')
      throw new ValidationError('Environment.open: config must be an object');
    // A misspelt or unsupported option (`logging`, `pool`) is refused, not silently ignored.
    const allowed = databaseOptionKeys((config as { client?: unknown }).client);
    const unknown =
      allowed && Object.keys(config).filter((k) => !ENVIRONMENT_OPTIONS.includes(k) && !allowed.includes(k));
    if (unknown && unknown.length > 0) {
      throw new ValidationError(
        `Environment.open: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} (allowed: ${[...ENVIRONMENT_OPTIONS, ...allowed].join(', ')})`,
      );
    }
    const { prefetch = true, queryTimeout = 0, models: classes, log, cache, ...dbConfig } = config;
    if (typeof prefetch !== 'boolean') throw new ValidationError('Environment.open: "prefetch" must be a boolean');
    if (!Number.isSafeInteger(queryTimeout) || queryTimeout < 0)
      throw new ValidationError('Environment.open: "queryTimeout" must be a non-negative integer (ms)');
    checkLogOption(log);
    const cacheOptions = checkCacheOptions(cache);
    const models = ModelSet.of(classes); // checked before a connection is made
    const warmers = models.schemas.flatMap((s) =>
      s.cache.warm
        ? [planWarm(s, s.cache.warm.domain ?? [], s.cache.warm.fields, `@Model "${s.name}": cache.warm`)]
        : [],
    );
    const retention = retentionPolicy(cacheOptions, models.schemas);
    const db = await openDatabase(dbConfig);
    try {
      models.checkIdentifiers(db.dialect); // the database's own limits, known once it is open
    } catch (e) {
      await db.knex.destroy();
      throw e;
    }
    let sharedCache: SharedCache | undefined;
    if (cacheOptions.shared !== undefined) {
      try {
        sharedCache = new SharedCache(new L2Store(await openSharedStore(cacheOptions.shared, db.identity)), models);
        await sharedCache.readDeleteRules(db);
      } catch (e) {
        await sharedCache?.close();
        await db.knex.destroy();
        throw e;
      }
    }
    const env = new Environment(
      {
        db,
        queryTimeout,
        models,
        closed: false,
        transactions: new AsyncLocalStorage<TransactionFrame>(),
        retention,
        sharedCache,
      },
      prefetch,
      true,
    );
    attachLogging(env.events, log);
    await env.runWarmers(warmers);
    setDefaultSession(env.session);
    return env;
  }

  /**
   * The models' warmers (`@Model({ cache: { warm } })`), one after the other. A warmer
   * that fails (a missing table, the database down) fails open with its error, after
   * closing the pool: an app that counts on a warm cache should not start cold unawares.
   */
  private async runWarmers(plans: readonly WarmPlan[]): Promise<void> {
    try {
      for (const plan of plans) await runWarm(this.session, plan, `@Model "${plan.schema.name}": cache.warm`);
    } catch (e) {
      await this.session.close(true);
      throw e;
    }
  }

  /** The Environment that `Model.browse/search/...` use: the last opened, or the one set. */
  static get default(): Environment {
    return defaultSession().front as Environment;
  }

  static setDefault(env: Environment): void {
    if (!(env instanceof Environment)) throw new ValidationError('Environment.setDefault: expected an Environment');
    setDefaultSession(env.session);
  }

  /** Automatic prefetch for recordsets this Environment creates. */
  get prefetch(): boolean {
    return this.session.prefetch;
  }

  /** The database's dialect: 'sqlite', 'mysql' (MySQL and MariaDB) or 'postgres'. */
  get dialect(): DialectName {
    return this.session.shared.db.dialect.name;
  }

  /**
   * The knex instance, for statements proxorm does not make (they bypass the cache).
   * Inside this Environment's transaction it is that transaction, so raw statements
   * run on the transaction's connection.
   */
  get knex(): Knex {
    return this.session.knex() as Knex;
  }

  /**
   * A snapshot of this Environment's counters: the flat ones (`queries`, `hits`, ...)
   * and `cache.l1.byModel[model]` (hits, misses, loads, puts, evictions, expirations,
   * invalidations), with their sums in `cache.l1.total`.
   */
  get stats(): EnvironmentStats {
    const l2 = this.session.shared.sharedCache?.l2.stats();
    return { ...this.session.stats, cache: { l1: this.session.l1.counters.snapshot(), ...(l2 && { l2 }) } };
  }

  /** The cache counters as text, one line per level and model (`l1 customer hits=... misses=...`), for a log. */
  statsText(): string {
    const l2 = this.session.shared.sharedCache?.l2.stats();
    return [...levelStatsText('l1', this.session.l1.counters.snapshot()), ...(l2 ? l2StatsText(l2) : [])].join('\n');
  }

  resetStats(): void {
    this.session.resetStats();
  }

  /** @internal The committed-state cache layer (tests look into it). */
  get cache(): Layer {
    return this.session.base;
  }

  /** Model-level calls (browse, search, searchCount, create) in this Environment; SchemaError for a model outside its `models`. */
  model<M>(cls: ModelClass<M>): ModelApi<M> {
    return modelApi(this.session, this.session.models.schemaOf(cls)) as ModelApi<M>;
  }

  /**
   * Loads the records of `domain` (default every record) into this Environment's cache
   * and, when the model is in the shared cache, into it: `fields` (default the
   * prefetchable ones; the prefetchable ones are loaded in any case), 1,000 records a
   * statement, as first reads would load them (README "Warming"). Outside a transaction
   * only (ValidationError inside one). Bad input (a model outside this Environment, a bad
   * domain, an unknown field) fails before any statement. Resolves how many records the
   * domain matched and how many statements the warm sent (its search included).
   */
  async warm<M>(model: ModelClass<M>, domain: Domain = [], fields?: readonly FieldKeys<M>[]): Promise<WarmResult> {
    const schema = this.session.models.schemaOf(model);
    const where = `env.warm(${schema.name})`;
    return runWarm(this.session, planWarm(schema, domain, fields, where), where);
  }

  /** Creates missing tables and columns for the models of this Environment (see `models`), and only those. */
  async sync(): Promise<SyncReport> {
    this.session.checkOpen();
    const db = this.session.shared.db;
    try {
      const report = await syncSchemas(
        db.knex,
        db.dialect,
        this.session.models.schemas,
        this.session.root.executor.origin,
      );
      await this.session.shared.sharedCache?.readDeleteRules(db);
      return report;
    } catch (e) {
      if (e instanceof ProxormError) throw e;
      throw db.dialect.translateError(e, undefined);
    }
  }

  /**
   * A new Environment on the same pool with an empty cache and its own stats: one per
   * request. Its events reach this Environment's listeners too (and the pool's `log`).
   */
  fork(options: { prefetch?: boolean } = {}): Environment {
    this.session.checkOpen();
    return new Environment(this.session.shared, options.prefetch ?? this.prefetch, false, this.session);
  }

  /**
   * Listens to an event of this Environment and of its forks: 'statement:start' and
   * 'statement:end' (see StatementStartEvent / StatementEndEvent), 'cache:load',
   * 'cache:evict' and 'cache:invalidate' (CacheLoadEvent, ...). Returns the function
   * that stops listening. Bound values reach the listener only with
   * `{ includeValues: true }`. A listener that throws never affects the statement: the
   * first error of each listener is reported as a process warning (PROXORM_LISTENER_ERROR).
   */
  on<K extends keyof EnvironmentEvents>(
    event: K,
    listener: (event: EnvironmentEvents<Environment>[K]) => void,
    options: ListenOptions = {},
  ): () => void {
    if (!EVENT_NAMES.includes(event))
      throw new ValidationError(
        `env.on: unknown event ${JSON.stringify(String(event))} (events: ${EVENT_NAMES.join(', ')})`,
      );
    if (typeof listener !== 'function') throw new ValidationError('env.on: the listener must be a function');
    if (options === null || typeof options !== 'object') throw new ValidationError('env.on: options must be an object');
    if (options.includeValues !== undefined && typeof options.includeValues !== 'boolean')
      throw new ValidationError('env.on: "includeValues" must be a boolean');
    return this.events.on(event, listener, options);
  }

  /** The bus of `on`, typed with this class as the events' `env`. */
  private get events(): EventBus<EnvironmentEvents<Environment>> {
    return this.session.events as EventBus<EnvironmentEvents<Environment>>;
  }

  /**
   * Runs `fn` in a transaction: commit when it resolves, rollback when it throws (the
   * error is rethrown). Nested calls use savepoints. See README "Transactions" for what
   * code inside and outside the transaction sees, and for `retries`.
   */
  async transaction<T>(fn: (env: this) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (options === null || typeof options !== 'object')
      throw new ValidationError('transaction: options must be an object');
    return this.session.transaction(() => fn(this), options.retries ?? 0);
  }

  /** Drops the cache of one model (by name or class, of this Environment's models), or all of it. */
  clearCache(model?: string | ModelClass<unknown>): void {
    this.session.clear(model === undefined ? undefined : this.modelName(model));
  }

  /**
   * Drops the cached values of records (by key): the next read loads them. Keys are
   * checked as browse checks them (a ValidationError, nothing dropped): the cache knows
   * records by their exact key, so `'5'` for the integer key 5 (a key from a URL) would
   * silently drop nothing and leave the stale values in place.
   */
  invalidateRecord(model: string | ModelClass<unknown>, ids: Key | readonly Key[]): void {
    const schema = this.schemaOf(model);
    const name = schema.name;
    const list: readonly unknown[] =
      typeof ids === 'number' || typeof ids === 'string' ? [ids] : Array.isArray(ids) ? ids : [ids];
    const keys = list.map((id) => validKey(schema.primaryKey, id, `${name}.invalidateRecord`));
    this.session.invalidate(name, keys);
  }

  /**
   * Closes the pool (for the root Environment: forks then stop working too) or, for a
   * fork, only drops its cache. Reads still waiting fail with EnvironmentError.
   */
  async close(): Promise<void> {
    if (isDefaultSession(this.session)) setDefaultSession(undefined);
    await this.session.close(this.isRoot);
  }

  get isClosed(): boolean {
    return this.session.isClosed;
  }

  /** The name of a model of this Environment; SchemaError for a name or class outside its models. */
  private modelName(model: string | ModelClass<unknown>): string {
    return this.schemaOf(model).name;
  }

  /** A model of this Environment, by name or class; SchemaError for another. */
  private schemaOf(model: string | ModelClass<unknown>): ModelSchema {
    return typeof model === 'string' ? this.session.models.named(model) : this.session.models.schemaOf(model);
  }
}
