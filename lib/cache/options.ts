import { ValidationError } from '../errors';
import type { ModelSchema } from '../model/schema';
import { CHUNK } from '../query/statements';
import type { RetentionPolicy } from './retention';
import { checkSharedOption, type SharedCacheOption } from './shared/open';

/** `Environment.open({ cache })`: the L1 policy of the Environment and of each of its forks. */
export interface CacheOptions {
  /**
   * Most records (all models together) an Environment's cache holds once committed;
   * the least recently used are dropped past it and load again when read. At least
   * 1,000 (one load statement's worth). Default: no cap.
   */
  maxRecords?: number;
  /**
   * Ms a cached record serves reads before it loads again (a model's `@Model({ cache:
   * { ttl } })` overrides it). Default 0: no TTL.
   */
  ttl?: number;
  /**
   * A cache shared across Environments and processes (L2): `'memory'`, `{ redis: url }`
   * or `{ cluster: nodes }` (shared/open.ts). Default: none (each Environment caches alone).
   */
  shared?: SharedCacheOption;
}

const KEYS: readonly string[] = ['maxRecords', 'ttl', 'shared'];

/** Checks `open({ cache })`; ValidationError naming the option. */
export function checkCacheOptions(value: unknown): CacheOptions {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ValidationError('Environment.open: "cache" must be an object ({ maxRecords, ttl, shared })');
  const unknown = Object.keys(value).filter((k) => !KEYS.includes(k));
  if (unknown.length)
    throw new ValidationError(
      `Environment.open: unknown cache option ${unknown.map((k) => JSON.stringify(k)).join(', ')} (allowed: ${KEYS.join(', ')})`,
    );
  const { maxRecords, ttl } = value as { maxRecords?: unknown; ttl?: unknown };
  if (maxRecords !== undefined) {
    if (typeof maxRecords !== 'number' || !Number.isSafeInteger(maxRecords))
      throw new ValidationError('Environment.open: "cache.maxRecords" must be an integer (records)');
    // Below one batch, a load could evict what it just loaded before its readers read it.
    if (maxRecords < CHUNK)
      throw new ValidationError(
        `Environment.open: "cache.maxRecords" must be at least ${CHUNK} (one load statement's records), or left out for no cap`,
      );
  }
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 0))
    throw new ValidationError('Environment.open: "cache.ttl" must be a non-negative integer (ms; 0: no TTL)');
  return { maxRecords, ttl, shared: checkSharedOption((value as { shared?: unknown }).shared) };
}

/**
 * The retention of an Environment's committed layer, or undefined when there is
 * nothing to retain by (no cap, no TTL anywhere): then L1 costs nothing extra.
 */
export function retentionPolicy(options: CacheOptions, schemas: Iterable<ModelSchema>): RetentionPolicy | undefined {
  const ttls = new Map<string, number>();
  for (const schema of schemas) {
    const ttl = schema.cache.ttl ?? options.ttl ?? 0;
    if (ttl > 0) ttls.set(schema.name, ttl);
  }
  if (options.maxRecords === undefined && ttls.size === 0) return undefined;
  return { maxRecords: options.maxRecords, ttls };
}
