/**
 * The shared (L2) record cache: one entry per (model, key) holding the prefetchable
 * fields of a record, shared by the Environments of a pool (in-process) or of every
 * process (Redis). It is asynchronous and may be unavailable: every call resolves,
 * never rejects (an unavailable store answers "bypass" and refuses puts).
 *
 * The protocol that keeps it from serving a value older than a commit:
 * - Read: `getMany` returns hits, and for each miss a lease (after "Scaling Memcache",
 *   NSDI 2013). Keys in neither (soft-locked, or the store unavailable) are bypassed:
 *   read from the database and not put.
 * - Fill: `putMany` stores an entry only with a lease that is still valid: `lock` and
 *   `invalidate` void every lease of their keys, so a load whose SELECT ran before a
 *   write can never put its older value back after the write's invalidation.
 * - Write: `lock` before the statement (deletes the entries, voids leases, blocks reads
 *   and puts until the lock's TTL), then after the outermost commit `invalidate` with the
 *   lock (deletes, voids, unlocks, publishes), or `unlock` after a rollback.
 */
import type { Key } from '../../model/keys';

/** A record's prefetchable fields as the L1 cache holds them (Date, canonical decimal string, frozen JSON, key or null). */
export type Entry = Readonly<Record<string, unknown>>;

/** Permission to fill one missing key; opaque. */
export type Lease = string;

/** Identifies one writer's soft locks; opaque. */
export type LockId = string;

export interface Lookup {
  readonly hits: ReadonlyMap<Key, Entry>;
  /** Misses the caller may fill with putMany, each with its lease. */
  readonly leases: ReadonlyMap<Key, Lease>;
}

export interface Put {
  readonly key: Key;
  readonly entry: Entry;
  readonly lease: Lease;
}

/**
 * What subscribers hear. `invalidate`: drop these records (from any process, this one
 * included). `reset`: the store lost (or regained) the channel its invalidations come
 * on; what was cached before cannot be proven fresh and must be dropped.
 */
export type SharedMessage =
  | {
      readonly kind: 'invalidate';
      /** undefined: every model. */
      readonly model: string | undefined;
      /** 'all': every record of the model. */
      readonly keys: readonly Key[] | 'all';
      /** The sender's wallClockMs() (latency.ts) when it published (latency = receive time - sentAt). */
      readonly sentAt: number;
      /** Sent through this store object (this process), rather than by another one. */
      readonly local: boolean;
    }
  | { readonly kind: 'reset'; readonly reason: 'disconnected' | 'reconnected' };

/** Counters of one store, since it was created. */
export interface SharedStoreStats {
  hits: number;
  misses: number;
  /** Keys answered neither hit nor lease: soft-locked, or the store unavailable. */
  bypasses: number;
  puts: number;
  /** Puts refused: lease voided or expired, key locked, value not storable, store unavailable. */
  putsRefused: number;
  locks: number;
  invalidationsSent: number;
  invalidationsReceived: number;
  /** Sum and max of (receive time - sentAt) over invalidationsReceived, in ms. */
  invalidationLatencyTotalMs: number;
  invalidationLatencyMaxMs: number;
  resets: number;
  /** Failed or timed-out calls to the backend (warnings): each resolved as a miss or refusal. */
  errors: number;
}

export interface SharedStore {
  getMany(model: string, keys: readonly Key[]): Promise<Lookup>;
  /** Resolves to the number of entries stored. */
  putMany(model: string, puts: readonly Put[]): Promise<number>;
  /** Soft-locks `keys` for a write, for at most `ttlMs` (default: the store's lockTtlMs). */
  lock(model: string, keys: readonly Key[], ttlMs?: number): Promise<LockId>;
  /** After the outermost commit: deletes the entries, voids leases, releases `lock`, publishes. */
  invalidate(model: string, keys: readonly Key[], lock?: LockId): Promise<void>;
  /**
   * Drops every entry of `model` (undefined: of every model) and voids every lease issued
   * before; publishes. Soft locks stay.
   */
  invalidateAll(model: string | undefined): Promise<void>;
  /** After a rollback: releases `lock` (nothing changed, nothing is published). */
  unlock(model: string, keys: readonly Key[], lock: LockId): Promise<void>;
  /** Calls `fn` for every message; returns the unsubscribe function. */
  subscribe(fn: (message: SharedMessage) => void): () => void;
  /**
   * Bumped whenever the invalidation channel is lost or regained: a value loaded under
   * an older epoch may have missed an invalidation.
   */
  readonly epoch: number;
  stats(): SharedStoreStats;
  close(): Promise<void>;
}

/** TTLs common to both backends (ms). */
export interface SharedStoreOptions {
  /** Entry TTL: the safety net against a lost invalidation (default 60,000). */
  entryTtlMs?: number;
  /** How long a lease stays valid: longer than a batch load takes (default 10,000). */
  leaseTtlMs?: number;
  /** Default soft-lock TTL: longer than a write transaction takes (default 30,000). */
  lockTtlMs?: number;
}

/** Test-only: `leaseCheck: false` removes the refill-race guard, to show that a test catches its absence. */
export interface SharedStoreTestingOptions {
  leaseCheck?: boolean;
}

export const SHARED_DEFAULTS = { entryTtlMs: 60_000, leaseTtlMs: 10_000, lockTtlMs: 30_000 } as const;

export function emptyStats(): SharedStoreStats {
  return {
    hits: 0,
    misses: 0,
    bypasses: 0,
    puts: 0,
    putsRefused: 0,
    locks: 0,
    invalidationsSent: 0,
    invalidationsReceived: 0,
    invalidationLatencyTotalMs: 0,
    invalidationLatencyMaxMs: 0,
    resets: 0,
    errors: 0,
  };
}
