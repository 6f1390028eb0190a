/**
 * The in-process shared store: one per pool, shared by all of its forks. Same protocol
 * as the Redis store (types.ts), with every step synchronous, so each call is atomic;
 * invalidations reach this process's subscribers before `invalidate` resolves.
 */
import type { Key } from '../../model/keys';
import { wallClockMs } from '../latency';
import { decodeEntry, encodeEntry } from './codec';
import { checkTtl, resolveTtls } from './options';
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

export interface MemoryStoreOptions extends SharedStoreOptions {
  /** The clock of every TTL (tests move it); default Date.now. */
  now?: () => number;
}

interface Timed<T> {
  readonly value: T;
  readonly expiresAt: number;
}

export class MemorySharedStore implements SharedStore {
  readonly epoch = 0; // no channel to lose
  private readonly ttl: Required<SharedStoreOptions>;
  private readonly now: () => number;
  private readonly entries = new Map<string, Map<Key, Timed<string>>>();
  private readonly leases = new Map<string, Map<Key, Timed<Lease>>>();
  private readonly locks = new Map<string, Map<Key, Map<LockId, number>>>();
  private readonly subscribers = new Set<(message: SharedMessage) => void>();
  private readonly counters = emptyStats();
  private nextId = 0;
  private nextSweep = 0;
  private readonly leaseCheck: boolean;

  constructor(options: MemoryStoreOptions = {}, testing: SharedStoreTestingOptions = {}) {
    this.leaseCheck = testing.leaseCheck ?? true;
    this.ttl = resolveTtls(options);
    this.now = options.now ?? Date.now;
  }

  getMany(model: string, keys: readonly Key[]): Promise<Lookup> {
    const hits = new Map<Key, Entry>();
    const leases = new Map<Key, Lease>();
    for (const key of keys) {
      if (this.isLocked(model, key)) {
        this.counters.bypasses++;
        continue;
      }
      const text = this.live(this.entries, model, key);
      const entry = text === undefined ? undefined : decodeEntry(text);
      if (entry !== undefined) {
        hits.set(key, entry);
        this.counters.hits++;
        continue;
      }
      // Readers of one miss share its lease: the first put uses it up.
      let lease = this.live(this.leases, model, key);
      if (lease === undefined) {
        lease = `m${++this.nextId}`;
        slot(this.leases, model).set(key, { value: lease, expiresAt: this.now() + this.ttl.leaseTtlMs });
      }
      leases.set(key, lease);
      this.counters.misses++;
    }
    return Promise.resolve({ hits, leases });
  }

  putMany(model: string, puts: readonly Put[]): Promise<number> {
    this.sweep();
    let stored = 0;
    for (const { key, entry, lease } of puts) {
      const text = encodeEntry(entry);
      const leaseVoid = this.leaseCheck && this.live(this.leases, model, key) !== lease;
      if (text === undefined || this.isLocked(model, key) || leaseVoid) {
        this.counters.putsRefused++;
        continue;
      }
      this.leases.get(model)?.delete(key);
      slot(this.entries, model).set(key, { value: text, expiresAt: this.now() + this.ttl.entryTtlMs });
      this.counters.puts++;
      stored++;
    }
    return Promise.resolve(stored);
  }

  lock(model: string, keys: readonly Key[], ttlMs = this.ttl.lockTtlMs): Promise<LockId> {
    checkTtl('lock ttlMs', ttlMs);
    const id = `w${++this.nextId}`;
    const expiresAt = this.now() + ttlMs;
    for (const key of keys) {
      this.drop(model, key);
      const holders = slot(this.locks, model).get(key) ?? new Map<LockId, number>();
      holders.set(id, expiresAt);
      slot(this.locks, model).set(key, holders);
    }
    this.counters.locks++;
    return Promise.resolve(id);
  }

  invalidate(model: string, keys: readonly Key[], lock?: LockId): Promise<void> {
    for (const key of keys) {
      this.drop(model, key);
      if (lock !== undefined) this.release(model, key, lock);
    }
    this.counters.invalidationsSent++;
    this.deliver({ kind: 'invalidate', model, keys: [...keys], sentAt: wallClockMs(), local: true });
    return Promise.resolve();
  }

  invalidateAll(model: string | undefined): Promise<void> {
    // Leases live in these maps: dropping them voids every lease issued before.
    for (const map of [this.entries, this.leases]) {
      if (model === undefined) map.clear();
      else map.delete(model);
    }
    this.counters.invalidationsSent++;
    this.deliver({ kind: 'invalidate', model, keys: 'all', sentAt: wallClockMs(), local: true });
    return Promise.resolve();
  }

  unlock(model: string, keys: readonly Key[], lock: LockId): Promise<void> {
    for (const key of keys) this.release(model, key, lock);
    return Promise.resolve();
  }

  subscribe(fn: (message: SharedMessage) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  stats() {
    return { ...this.counters };
  }

  /** Records held (entries, expired or not yet swept). */
  get size(): number {
    let n = 0;
    for (const byKey of this.entries.values()) n += byKey.size;
    return n;
  }

  close(): Promise<void> {
    this.subscribers.clear();
    return Promise.resolve();
  }

  private deliver(message: SharedMessage): void {
    if (message.kind === 'invalidate') {
      const latency = Math.max(0, wallClockMs() - message.sentAt);
      this.counters.invalidationsReceived++;
      this.counters.invalidationLatencyTotalMs += latency;
      this.counters.invalidationLatencyMaxMs = Math.max(this.counters.invalidationLatencyMaxMs, latency);
    }
    for (const fn of [...this.subscribers]) {
      try {
        fn(message);
      } catch {
        // A subscriber's failure is its own; the others still hear the message.
        this.counters.errors++;
      }
    }
  }

  /**
   * Drops every expired entry and lease, at most once per entry TTL (amortized over the
   * puts of that period): entries nobody reads again do not pile up.
   */
  private sweep(): void {
    const now = this.now();
    if (now < this.nextSweep) return;
    this.nextSweep = now + this.ttl.entryTtlMs;
    for (const map of [this.entries, this.leases] as Map<string, Map<Key, Timed<unknown>>>[]) {
      for (const byKey of map.values()) for (const [key, timed] of byKey) if (timed.expiresAt <= now) byKey.delete(key);
    }
  }

  /** Deletes the entry and voids the lease of one record. */
  private drop(model: string, key: Key): void {
    this.entries.get(model)?.delete(key);
    this.leases.get(model)?.delete(key);
  }

  private release(model: string, key: Key, lock: LockId): void {
    const holders = this.locks.get(model)?.get(key);
    holders?.delete(lock);
    if (holders?.size === 0) this.locks.get(model)?.delete(key);
  }

  private isLocked(model: string, key: Key): boolean {
    const holders = this.locks.get(model)?.get(key);
    if (holders === undefined) return false;
    const now = this.now();
    for (const [id, expiresAt] of holders) if (expiresAt <= now) holders.delete(id);
    if (holders.size === 0) this.locks.get(model)?.delete(key);
    return holders.size > 0;
  }

  /** The unexpired value of `key` in `map`, dropping an expired one. */
  private live<T>(map: Map<string, Map<Key, Timed<T>>>, model: string, key: Key): T | undefined {
    const byKey = map.get(model);
    const timed = byKey?.get(key);
    if (timed === undefined) return undefined;
    if (timed.expiresAt > this.now()) return timed.value;
    byKey?.delete(key);
    return undefined;
  }
}

function slot<V>(map: Map<string, Map<Key, V>>, model: string): Map<Key, V> {
  let byKey = map.get(model);
  if (byKey === undefined) map.set(model, (byKey = new Map<Key, V>()));
  return byKey;
}
