/**
 * The event hook of an Environment (`env.on`): one small bus per Environment, typed by
 * an event map. A fork's bus forwards to its parent's, so a listener on an Environment
 * also hears its forks (and `log` given to open() covers the whole pool).
 *
 * The cache (lib/cache/) emits its events (load, evict, invalidate) on the same bus.
 */

/** Where a statement ran; `E` is the Environment class (the bus lives below it). */
export interface StatementStartEvent<E = unknown> {
  /** Unique within the process, increasing: pairs a start with its end. */
  readonly id: number;
  /**
   * The statement with placeholders; never values. DDL (kind 'schema') has no placeholders:
   * a CREATE TABLE shows the fields' declared defaults, which are schema, not record values.
   */
  readonly sql: string;
  /**
   * 'query': a statement proxorm built for records (what env.stats.queries counts);
   * 'transaction': BEGIN, SAVEPOINT, COMMIT, RELEASE SAVEPOINT, ROLLBACK, ROLLBACK TO
   * SAVEPOINT; 'schema': a statement of env.sync() (its lock, introspection, DDL).
   * Statements sent through `env.knex` are the caller's own and not traced.
   */
  readonly kind: 'query' | 'transaction' | 'schema';
  /** The Environment (or fork) that sent it. */
  readonly env: E;
  /** Id of the outermost transaction it ran in (unique within the process); undefined outside one. */
  readonly transaction: number | undefined;
  /** 0 outside a transaction, 1 in one, 2 and more inside savepoints. */
  readonly depth: number;
  /** The bound values, only for a listener subscribed with `{ includeValues: true }`. */
  readonly bindings?: readonly unknown[];
}

export interface StatementEndEvent<E = unknown> extends StatementStartEvent<E> {
  /** Milliseconds from sending the statement to its reply (fractional). */
  readonly durationMs: number;
  /**
   * Rows a 'query' statement returned (SELECT) or changed (INSERT, UPDATE, DELETE), as
   * the driver reports them; undefined when it does not say, for the other kinds and for failures.
   */
  readonly rows: number | undefined;
  /** The class name of the error the statement failed with (e.g. 'UniqueViolationError'). */
  readonly error?: string;
}

/** A load put records into a cache level. Model names and counts only: never keys or values. */
export interface CacheLoadEvent<E = unknown> {
  readonly env: E;
  readonly level: 'l1' | 'l2';
  readonly model: string;
  /** Records the load brought (values or missing marks), stored or not. */
  readonly count: number;
}

/**
 * A cache level dropped records without their being changed: 'lru' to stay under its
 * size cap, 'ttl' because their time to live passed. Drops of one model and reason
 * within one turn of the event loop are reported as one event.
 */
export interface CacheEvictEvent<E = unknown> {
  readonly env: E;
  readonly level: 'l1' | 'l2';
  readonly model: string;
  readonly count: number;
  readonly reason: 'lru' | 'ttl';
}

/**
 * A cache level forgot records because they (may have) changed: `keys` records of
 * `model`, or 'all' of it; `model` undefined: everything. `source`: 'local' when this
 * Environment asked (clearCache, invalidateRecord), 'remote' when another process's
 * commit did (through a shared cache).
 */
export interface CacheInvalidateEvent<E = unknown> {
  readonly env: E;
  readonly level: 'l1' | 'l2';
  readonly model: string | undefined;
  readonly keys: number | 'all';
  readonly source: 'local' | 'remote';
}

/** Every event of `env.on`, by name. */
export interface EnvironmentEvents<E = unknown> {
  'statement:start': StatementStartEvent<E>;
  'statement:end': StatementEndEvent<E>;
  'cache:load': CacheLoadEvent<E>;
  'cache:evict': CacheEvictEvent<E>;
  'cache:invalidate': CacheInvalidateEvent<E>;
}

export type EventName = keyof EnvironmentEvents;

export const EVENT_NAMES: readonly EventName[] = [
  'statement:start',
  'statement:end',
  'cache:load',
  'cache:evict',
  'cache:invalidate',
];

export interface ListenOptions {
  /** Give this listener the statement's bound values (`bindings`). Default false: values stay out of traces. */
  includeValues?: boolean;
}

type Listener = (event: never) => unknown;

interface Subscription {
  readonly fn: Listener;
  readonly includeValues: boolean;
}

/**
 * Listeners by event name. Emitting costs nothing but a lookup while nobody listens
 * (callers ask `has` before building an event). A listener that throws (or rejects)
 * never affects the statement: the error is reported once per listener as a process
 * warning (code PROXORM_LISTENER_ERROR), naming the event and the error's class only.
 */
export class EventBus<M extends object> {
  private readonly listeners = new Map<keyof M, Subscription[]>();
  private readonly reported = new WeakSet<Listener>();

  constructor(private readonly parent?: EventBus<M>) {}

  /** Adds a listener; returns the function that removes it (calling it twice is harmless). */
  on<K extends keyof M>(name: K, fn: (event: M[K]) => unknown, options: ListenOptions = {}): () => void {
    const sub: Subscription = { fn: fn, includeValues: options.includeValues === true };
    // A new array each time: an emit in progress keeps iterating the one it took.
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), sub]);
    return () => {
      const list = this.listeners.get(name)?.filter((s) => s !== sub) ?? [];
      if (list.length > 0) this.listeners.set(name, list);
      else this.listeners.delete(name);
    };
  }

  /** Whether anyone hears `name` here or on a parent. */
  has(name: keyof M): boolean {
    return this.listeners.has(name) || (this.parent?.has(name) ?? false);
  }

  /**
   * Calls the listeners of `name` here, then the parent's. `values` is asked for only
   * when a listener wants them, and added to its copy of the event as `bindings`.
   */
  emit<K extends keyof M>(name: K, event: M[K], values?: () => readonly unknown[]): void {
    let withValues: M[K] | undefined;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- walks the parent chain from here
    for (let bus: EventBus<M> | undefined = this; bus; bus = bus.parent) {
      for (const sub of bus.listeners.get(name) ?? []) {
        if (sub.includeValues && values && !withValues) withValues = { ...event, bindings: values() };
        bus.call(name, sub.fn, sub.includeValues && withValues ? withValues : event);
      }
    }
  }

  private call(name: keyof M, fn: Listener, event: unknown): void {
    try {
      const result = (fn as (e: unknown) => unknown)(event);
      if (result instanceof Promise) result.catch((e: unknown) => this.report(name, fn, e));
    } catch (e) {
      this.report(name, fn, e);
    }
  }

  private report(name: keyof M, fn: Listener, error: unknown): void {
    if (this.reported.has(fn)) return;
    this.reported.add(fn);
    const cls = error instanceof Error ? error.name : typeof error;
    process.emitWarning(
      `a "${String(name)}" listener threw ${cls}; the statement was not affected (reported once per listener)`,
      {
        type: 'ProxormWarning',
        code: 'PROXORM_LISTENER_ERROR',
      },
    );
  }
}
