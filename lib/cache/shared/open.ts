import { createHash } from 'crypto';
import { ValidationError } from '../../errors';
import { MemorySharedStore } from './memory-store';
import { RedisSharedStore, type RedisStoreOptions } from './redis-store';
import type { SharedStore, SharedStoreTestingOptions } from './types';

/**
 * `Environment.open({ cache: { shared } })`: where the shared cache (L2) lives.
 * - `'memory'`: in this process, shared by the pool's forks.
 * - `{ redis: url }` / `{ cluster: ['host:port', ...] }`: Redis, shared by every process
 *   on it (`prefix` names the key space, by default one per database: two databases'
 *   records of one model name must not share entries; `entryTtl` the entries' ms to live, the bound on
 *   what a lost invalidation can cost; `timeout` the ms after which a command counts as failed).
 */
export type SharedCacheOption =
  | 'memory'
  | (SharedCacheTuning & { readonly redis: string })
  | (SharedCacheTuning & { readonly cluster: readonly (string | { host: string; port: number })[] });

/** Test-only: the stores opened from now on get these (`leaseCheck: false`: the refill-race mutation). */
export const sharedStoreTesting: SharedStoreTestingOptions = {};

export interface SharedCacheTuning {
  readonly prefix?: string;
  /** Ms an entry lives in the shared cache (default 60,000). */
  readonly entryTtl?: number;
  /** Ms a Redis command may take before it counts as failed (default 1,000). */
  readonly timeout?: number;
}

const TUNING = ['prefix', 'entryTtl', 'timeout'];

/** Checks the option; ValidationError naming what is wrong (never the URL: it may hold a password). */
export function checkSharedOption(value: unknown): SharedCacheOption | undefined {
  if (value === undefined || value === 'memory') return value;
  const where = 'Environment.open: "cache.shared"';
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ValidationError(`${where} must be 'memory', { redis: url } or { cluster: nodes }`);
  const record = value as Record<string, unknown>;
  const kind = 'redis' in record ? 'redis' : 'cluster' in record ? 'cluster' : undefined;
  const unknown = Object.keys(record).filter((k) => k !== kind && !TUNING.includes(k));
  if (kind === undefined || unknown.length)
    throw new ValidationError(
      `${where} must be 'memory', { redis: url } or { cluster: nodes } (options: ${TUNING.join(', ')})`,
    );
  if (kind === 'redis' && typeof record.redis !== 'string')
    throw new ValidationError(`${where}.redis must be a URL string`);
  if (kind === 'cluster' && (!Array.isArray(record.cluster) || record.cluster.length === 0))
    throw new ValidationError(`${where}.cluster must be a non-empty list of nodes`);
  for (const name of ['entryTtl', 'timeout']) {
    const n = record[name];
    if (n !== undefined && (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1))
      throw new ValidationError(`${where}.${name} must be a positive integer (ms)`);
  }
  if (record.prefix !== undefined && typeof record.prefix !== 'string')
    throw new ValidationError(`${where}.prefix must be a string`);
  return value as SharedCacheOption;
}

/**
 * The store of an option, one per pool (closed with the root Environment). A Redis
 * store is given once its connections are up (or failed: then it answers bypass until
 * Redis is back, and the database serves every read).
 */
export async function openSharedStore(option: SharedCacheOption, database: string): Promise<SharedStore> {
  const testing = { ...sharedStoreTesting };
  if (option === 'memory') return new MemorySharedStore({}, testing);
  const options: RedisStoreOptions = {
    connection: 'redis' in option ? option.redis : { cluster: option.cluster },
    prefix: option.prefix ?? defaultPrefix(database),
    entryTtlMs: option.entryTtl,
    commandTimeoutMs: option.timeout,
  };
  const store = new RedisSharedStore(options, testing);
  await store.ready();
  return store;
}

/** `proxorm.` and a digest of the database's identity (db/database.ts): one key space per database. */
export function defaultPrefix(database: string): string {
  return `proxorm.${createHash('sha256').update(database).digest('hex').slice(0, 16)}`;
}
