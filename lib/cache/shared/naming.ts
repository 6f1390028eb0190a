/**
 * Redis key names of the shared store. Each record has three keys sharing one hash tag,
 * `{<model>:<key>}`, so one Lua script can touch all three on a Cluster, while the
 * records of a model spread over every node (a per-model tag would put a whole model on
 * one node). Whatever the model name or key holds, the tag is made of [A-Za-z0-9_.~-]
 * only: no `{`, `}` or `:` from the data can move the slot or split the name.
 */
import type { Key } from '../../model/keys';

export interface RecordKeys {
  /** The entry (encoded, see codec.ts). */
  readonly entry: string;
  /** The current lease of a miss. */
  readonly lease: string;
  /** Soft locks: a sorted set of lock ids scored by their expiry time. */
  readonly lock: string;
}

const PLAIN = /^[A-Za-z0-9_.-]+$/;

/** A model name as is when plain, else `~` + its code units in base64url. */
export function encodeModel(model: string): string {
  return PLAIN.test(model) ? model : `~${units(model)}`;
}

/** An integer key in decimal (`n42`), a string key as its code units in base64url (`s...`). */
export function encodeKey(key: Key): string {
  return typeof key === 'number' ? `n${key}` : `s${units(key)}`;
}

// UTF-16 code units, not UTF-8: lossless for any string (UTF-8 turns every lone surrogate into U+FFFD).
function units(text: string): string {
  return Buffer.from(text, 'utf16le').toString('base64url');
}

export function recordKeys(prefix: string, model: string, key: Key): RecordKeys {
  const base = `${prefix}:{${encodeModel(model)}:${encodeKey(key)}}`;
  return { entry: `${base}:e`, lease: `${base}:l`, lock: `${base}:k` };
}

/** The pub/sub channel of invalidations. */
export function channelName(prefix: string): string {
  return `${prefix}:invalidations`;
}

/**
 * The hash of generations: field `<model>` counts the invalidateAll of that model, `*`
 * those of every model. One key (one slot); entries are tagged with what it held when
 * their load began.
 */
export function generationsKey(prefix: string): string {
  return `${prefix}:generations`;
}

/** The field of `model` in the generations hash (undefined: every model). */
export function generationField(model: string | undefined): string {
  return model === undefined ? '*' : encodeModel(model);
}
