/**
 * The Redis shared store (ioredis; one server or a Cluster). Protocol: types.ts; Lua:
 * redis-scripts.ts; key names: naming.ts.
 *
 * Failure contract: no call rejects. With Redis down or slow (commandTimeoutMs, no
 * offline queue, no retries), getMany answers bypass, putMany refuses, lock answers an
 * id that locks nothing, and each failure counts in `stats().errors`. A failed
 * invalidation is queued and sent again, in order, before the next invalidation, when
 * the connection is back, and every commandTimeoutMs meanwhile (a timeout need not drop
 * the connection; invalidating twice is harmless); until then the entry TTL bounds what
 * other processes may serve from L2.
 * Subscribers get `reset` when the subscriber connection drops and again once it is
 * subscribed again, on a Cluster perhaps to another node (redis-subscriber.ts):
 * invalidations sent in between were lost to this process.
 *
 * invalidateAll bumps a generation (naming.ts generationsKey) instead of finding every
 * key of a model on every node. getMany reads the generations in the same round trip as
 * the entries, passing the scripts the ones it last saw; if they moved meanwhile, that
 * call's hits are bypassed (the next call's scripts delete the older entries). A lease
 * carries the generations read before the load began, and its entry is tagged with them.
 * A generations hash that was lost restarts above every count it held (GENERATIONS in
 * redis-scripts.ts), so entries on other nodes keep failing the check.
 */
import { randomUUID } from 'crypto';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { EnvironmentError } from '../../errors';
import { wallClockMs } from '../latency';
import type { Key } from '../../model/keys';
import { decodeEntry, encodeEntry } from './codec';
import { channelName, generationField, generationsKey, recordKeys } from './naming';
import { checkTtl, resolveTtls } from './options';
import { GENERATIONS, GET, INVALIDATE, LOCK, UNLOCK, put } from './redis-scripts';
import { ChannelSubscriber, type Target } from './redis-subscriber';
import {
  emptyStats,
  type Entry,
  type Lease,
  type LockId,
  type Lookup,
  type Put,
  type SharedMessage,
  type SharedStore,
  type SharedStoreOptions,
  type SharedStoreTestingOptions,
} from './types';

export interface RedisStoreOptions extends SharedStoreOptions {
  /** A single server's URL (`redis://host:port/db`), or a Cluster's startup nodes (`host:port`). */
  connection: string | { readonly cluster: readonly (string | { host: string; port: number })[] };
  /** Prefix of every key and of the channel, [A-Za-z0-9_.-]+ (default 'proxorm'). */
  prefix?: string;
  /** A command unanswered after this long counts as failed (default 1,000 ms). */
  commandTimeoutMs?: number;
}

type Client = Redis | Cluster;
type Reply = [0 | 1 | 2, string?];

interface Scripts {
  proxormGenerations(hash: string, field: string): Promise<(string | null)[]>;
  proxormGet(
    entry: string,
    lease: string,
    lock: string,
    newLease: string,
    ttl: number,
    modelGeneration: number,
    allGeneration: number,
  ): Promise<Reply>;
  proxormPut(entry: string, lease: string, lock: string, token: string, text: string, ttl: number): Promise<number>;
  proxormLock(entry: string, lease: string, lock: string, id: string, ttl: number): Promise<number>;
  proxormInvalidate(entry: string, lease: string, lock: string, id: string): Promise<number>;
  proxormUnlock(entry: string, lease: string, lock: string, id: string): Promise<number>;
}

interface Wire {
  m: string | null;
  k: Key[] | 'all';
  t: number;
  /** The sending store's id. */
  o: string;
}

interface Pending {
  readonly model: string | undefined;
  readonly keys: readonly Key[] | 'all';
  readonly lock?: LockId;
}

const MAX_PENDING_KEYS = 100_000;
/** How often a Cluster client reads the slot map again (CLUSTER SLOTS, one command). */
const SLOTS_REFRESH_MS = 1000;

export class RedisSharedStore implements SharedStore {
  private epochValue = 0;
  private readonly ttl: Required<SharedStoreOptions>;
  readonly prefix: string;
  private readonly channel: string;
  private readonly client: Client;
  private readonly scripts: Scripts;
  private readonly listener: ChannelSubscriber;
  private readonly subscribers = new Set<(message: SharedMessage) => void>();
  private readonly counters = emptyStats();
  private pending: Pending[] = [];
  // The generations last read: model -> its generation, and '*' (see naming.ts).
  private readonly generations = new Map<string, number>();
  private pendingKeys = 0;
  private retry: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly retryMs: number;
  private readonly id = randomUUID();
  private closed = false;

  constructor(options: RedisStoreOptions, testing: SharedStoreTestingOptions = {}) {
    this.ttl = resolveTtls(options);
    this.prefix = options.prefix ?? 'proxorm';
    if (!/^[A-Za-z0-9_.-]+$/.test(this.prefix)) {
      throw new EnvironmentError('shared cache: prefix must be letters, digits, "_", "." or "-"');
    }
    const timeout = options.commandTimeoutMs ?? 1000;
    checkTtl('commandTimeoutMs', timeout);
    this.retryMs = timeout;
    this.channel = channelName(this.prefix);
    // Commands fail fast rather than wait for a connection: the database is the fallback.
    const { client, targets } = connect(options.connection, {
      commandTimeout: timeout,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
    });
    this.client = client;
    this.client.on('error', () => {}); // failures are counted per call; ioredis reconnects by itself
    this.client.on('ready', () => void this.flushPending());
    this.scripts = this.client as unknown as Scripts;
    this.client.defineCommand('proxormGenerations', { numberOfKeys: 1, lua: GENERATIONS });
    this.client.defineCommand('proxormGet', { numberOfKeys: 3, lua: GET });
    this.client.defineCommand('proxormPut', { numberOfKeys: 3, lua: put(testing.leaseCheck ?? true) });
    this.client.defineCommand('proxormLock', { numberOfKeys: 3, lua: LOCK });
    this.client.defineCommand('proxormInvalidate', { numberOfKeys: 3, lua: INVALIDATE });
    this.client.defineCommand('proxormUnlock', { numberOfKeys: 3, lua: UNLOCK });
    this.listener = new ChannelSubscriber(targets, this.channel, {
      message: (text) => this.receive(text),
      lost: () => this.reset('disconnected'),
      regained: () => this.reset('reconnected'),
    });
  }

  get epoch(): number {
    return this.epochValue;
  }

  /**
   * Resolves once both connections are up and the subscriber listens (invalidations
   * from then on are heard), or a first connection attempt failed (calls then resolve
   * as bypasses, and subscribers hear a reset when the subscriber listens). Until then
   * calls may answer bypass: the store does not queue commands.
   */
  ready(): Promise<void> {
    // A failed attempt: an error, or a close without one (a Cluster that says cluster_state:fail
    // fails ioredis's ready check, closes and tries again, forever, without an 'error').
    const failed = (client: Client) =>
      new Promise<void>((resolve) => {
        client.once('error', () => resolve());
        client.once('close', () => resolve());
      });
    const up = (client: Client) =>
      client.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => client.once('ready', () => resolve()));
    return Promise.all([this.listener.listening, Promise.race([up(this.client), failed(this.client)])]).then(() =>
      this.primeGenerations(),
    );
  }

  /** Reads the `*` generation once at start: a first read compares against it, not against 0. */
  private async primeGenerations(): Promise<void> {
    if (this.client.status !== 'ready') return;
    const read = await this.attempt(this.scripts.proxormGenerations(generationsKey(this.prefix), '*'));
    if (read !== undefined) this.generations.set('*', Number(read[1] ?? 0));
  }

  async getMany(model: string, keys: readonly Key[]): Promise<Lookup> {
    const hits = new Map<Key, Entry>();
    const leases = new Map<Key, Lease>();
    const field = generationField(model);
    const known = [this.generations.get(field) ?? 0, this.generations.get('*') ?? 0];
    const [read, ...replies] = await Promise.all([
      this.attempt(this.scripts.proxormGenerations(generationsKey(this.prefix), field)),
      ...keys.map((key) => {
        const k = recordKeys(this.prefix, model, key);
        return this.attempt(
          this.scripts.proxormGet(k.entry, k.lease, k.lock, randomUUID(), this.ttl.leaseTtlMs, known[0], known[1]),
        );
      }),
    ]);
    const now = read?.map((g) => Number(g ?? 0));
    if (now !== undefined) {
      // Taken as they are, even lower (a restarted server lost them, and its entries too).
      this.generations.set(field, now[0]);
      this.generations.set('*', now[1]);
    }
    // Hits checked against other generations than the current ones cannot be served.
    const hitsValid = now !== undefined && now[0] === known[0] && now[1] === known[1];
    const tag = now === undefined ? '' : `${now[0]}.${now[1]}`;
    keys.forEach((key, i) => {
      const reply = replies[i];
      const text = reply?.[0] === 1 && hitsValid ? reply[1]?.slice(reply[1].indexOf('|') + 1) : undefined;
      const entry = text === undefined ? undefined : decodeEntry(text);
      if (entry !== undefined) {
        hits.set(key, entry);
        this.counters.hits++;
      } else if (reply?.[0] === 0 && reply[1] !== undefined && tag !== '') {
        leases.set(key, `${tag}/${reply[1]}`);
        this.counters.misses++;
      } else {
        this.counters.bypasses++; // locked, unreadable, generations moved, or Redis unavailable
      }
    });
    return { hits, leases };
  }

  async putMany(model: string, puts: readonly Put[]): Promise<number> {
    const results = await Promise.all(
      puts.map(({ key, entry, lease }) => {
        const text = encodeEntry(entry);
        const slash = lease.indexOf('/');
        if (text === undefined || slash < 0) return Promise.resolve(0);
        const k = recordKeys(this.prefix, model, key);
        const [tag, token] = [lease.slice(0, slash), lease.slice(slash + 1)];
        return this.attempt(
          this.scripts.proxormPut(k.entry, k.lease, k.lock, token, `${tag}|${text}`, this.ttl.entryTtlMs),
        );
      }),
    );
    const stored = results.filter((r) => r === 1).length;
    this.counters.puts += stored;
    this.counters.putsRefused += puts.length - stored;
    return stored;
  }

  async lock(model: string, keys: readonly Key[], ttlMs = this.ttl.lockTtlMs): Promise<LockId> {
    checkTtl('lock ttlMs', ttlMs);
    const id = randomUUID();
    await Promise.all(
      keys.map((key) => {
        const k = recordKeys(this.prefix, model, key);
        return this.attempt(this.scripts.proxormLock(k.entry, k.lease, k.lock, id, ttlMs));
      }),
    );
    this.counters.locks++;
    return id;
  }

  async invalidate(model: string, keys: readonly Key[], lock?: LockId): Promise<void> {
    await this.sendInOrder(model, keys, lock);
  }

  async invalidateAll(model: string | undefined): Promise<void> {
    await this.sendInOrder(model, 'all', undefined);
  }

  async unlock(model: string, keys: readonly Key[], lock: LockId): Promise<void> {
    await Promise.all(
      keys.map((key) => {
        const k = recordKeys(this.prefix, model, key);
        return this.attempt(this.scripts.proxormUnlock(k.entry, k.lease, k.lock, lock));
      }),
    );
  }

  subscribe(fn: (message: SharedMessage) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  stats() {
    return { ...this.counters };
  }

  /** Invalidations waiting for Redis to come back (records). */
  get pendingInvalidations(): number {
    return this.pendingKeys;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.subscribers.clear();
    this.client.disconnect();
    this.listener.close();
    await Promise.resolve();
  }

  /** Deletes, voids, unlocks (or bumps a generation), then publishes; false if any step failed (the whole is retried). */
  private async send(
    model: string | undefined,
    keys: readonly Key[] | 'all',
    lock: LockId | undefined,
  ): Promise<boolean> {
    let done: unknown[];
    if (keys === 'all') {
      done = [await this.attempt(this.client.hincrby(generationsKey(this.prefix), generationField(model), 1))];
    } else {
      const named = model ?? '';
      done = await Promise.all(
        keys.map((key) => {
          const k = recordKeys(this.prefix, named, key);
          return this.attempt(this.scripts.proxormInvalidate(k.entry, k.lease, k.lock, lock ?? ''));
        }),
      );
    }
    if (done.some((r) => r === undefined)) return false;
    const wire: Wire = { m: model ?? null, k: keys === 'all' ? 'all' : [...keys], t: wallClockMs(), o: this.id };
    if ((await this.attempt(this.client.publish(this.channel, JSON.stringify(wire)))) === undefined) return false;
    this.counters.invalidationsSent++;
    return true;
  }

  /**
   * Sends one invalidation after those still queued (a subscriber must never hear a later
   * one first: it would take the earlier as delivered), or queues it behind them.
   */
  private async sendInOrder(
    model: string | undefined,
    keys: readonly Key[] | 'all',
    lock: LockId | undefined,
  ): Promise<void> {
    if (this.pending.length || this.flushing) await this.flushPending();
    if (this.pending.length || !(await this.send(model, keys, lock))) this.enqueue(model, keys, lock);
  }

  private enqueue(model: string | undefined, keys: readonly Key[] | 'all', lock: LockId | undefined): void {
    const count = keys === 'all' ? 1 : keys.length;
    if (this.pendingKeys + count > MAX_PENDING_KEYS) return; // counted as an error already; TTLs bound it
    this.pending.push({ model, keys, lock });
    this.pendingKeys += count;
    if (this.retry === undefined && !this.closed) {
      this.retry = setTimeout(() => {
        this.retry = undefined;
        void this.flushPending();
      }, this.retryMs);
      this.retry.unref();
    }
  }

  /** Sends the queued invalidations again; one run at a time (callers share the running one). */
  private flushPending(): Promise<void> {
    this.flushing ??= this.resend().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async resend(): Promise<void> {
    if (this.closed) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingKeys = 0;
    for (const { model, keys, lock } of batch) {
      // After one failure the rest wait behind it, in order.
      if (this.pending.length || !(await this.send(model, keys, lock))) this.enqueue(model, keys, lock);
    }
  }

  /** The command's result, or undefined (counted) if it failed or timed out. */
  private async attempt<T>(command: Promise<T>): Promise<T | undefined> {
    try {
      return await command;
    } catch {
      this.counters.errors++;
      return undefined;
    }
  }

  private reset(reason: 'disconnected' | 'reconnected'): void {
    this.epochValue++;
    this.counters.resets++;
    this.deliver({ kind: 'reset', reason });
  }

  private receive(text: string): void {
    let wire: Wire;
    try {
      wire = JSON.parse(text) as Wire;
    } catch {
      this.counters.errors++;
      return;
    }
    const modelOk = typeof wire?.m === 'string' || wire?.m === null;
    if (!modelOk || !(Array.isArray(wire.k) || wire.k === 'all') || typeof wire.t !== 'number') {
      this.counters.errors++;
      return;
    }
    const latency = Math.max(0, wallClockMs() - wire.t);
    this.counters.invalidationsReceived++;
    this.counters.invalidationLatencyTotalMs += latency;
    this.counters.invalidationLatencyMaxMs = Math.max(this.counters.invalidationLatencyMaxMs, latency);
    const local = wire.o === this.id;
    this.deliver({ kind: 'invalidate', model: wire.m ?? undefined, keys: wire.k, sentAt: wire.t, local });
  }

  private deliver(message: SharedMessage): void {
    for (const fn of [...this.subscribers]) {
      try {
        fn(message);
      } catch {
        this.counters.errors++; // one subscriber's failure is its own
      }
    }
  }
}

/**
 * The command client, and where the subscriber may listen: the server, or every Cluster
 * node known (the startup nodes, then those the client discovered since).
 */
function connect(
  connection: RedisStoreOptions['connection'],
  options: RedisOptions,
): { client: Client; targets: () => readonly Target[] } {
  if (typeof connection === 'string') return { client: new Redis(connection, options), targets: () => [connection] };
  const nodes = connection.cluster.map((node): { host: string; port: number } => {
    if (typeof node !== 'string') return { host: node.host, port: node.port };
    const at = node.lastIndexOf(':');
    return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
  });
  if (nodes.length === 0) throw new EnvironmentError('shared cache: a Cluster needs at least one node');
  const { enableOfflineQueue, ...redisOptions } = options;
  const client = new Cluster(nodes, {
    enableOfflineQueue,
    enableAutoPipelining: options.enableAutoPipelining,
    // The client forgets a node whose connection ended (it died), and a MOVED reply to an
    // automatically pipelined script does not bring it back: it would answer MOVED for
    // that node's slots forever. Reading the slots again brings the node back once it is up.
    slotsRefreshInterval: SLOTS_REFRESH_MS,
    redisOptions,
  });
  const targets = () => {
    const known = new Map(nodes.map((n) => [`${n.host}:${n.port}`, n]));
    for (const { options: o } of client.nodes('all')) {
      if (o.host !== undefined && o.port !== undefined)
        known.set(`${o.host}:${o.port}`, { host: o.host, port: o.port });
    }
    return [...known.values()];
  };
  return { client, targets };
}
