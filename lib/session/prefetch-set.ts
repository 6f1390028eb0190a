import type { Key } from '../model/keys';
import type { L1Store } from '../cache/l1';
import { MISS } from '../cache/layer';

/**
 * The records a miss may load along with its own (Odoo's prefetch set): an id list (a
 * search or browse result), or the records reached through a relation field from
 * another prefetch set.
 */
export type PrefetchSource = readonly Key[] | RelatedSet;

/**
 * The targets of `model.field` over the records of a parent prefetch set, in order,
 * without duplicates. Computed from the cache as the parents' values arrive, and only
 * ever extended: each parent is looked at once, so a loop over N records costs O(N)
 * however many misses ask for the set. The walk stops at the first parent whose value
 * is not cached yet (loops load their parents in set order) and resumes there later.
 */
export class RelatedSet {
  private members: Key[] = [];
  private seen = new Set<Key>();
  private parentPos = 0;
  private walked: { layer: L1Store; generation: number; parents: readonly Key[] } | undefined;

  constructor(
    readonly parent: PrefetchSource,
    readonly model: string,
    readonly field: string,
  ) {}

  /**
   * The members known once the parents cached in `layer` are taken into account. When
   * the parents' values were dropped since the last walk (or the walk was over another
   * layer, or the parents are a new list), the members are computed again from the
   * top, as a new list.
   */
  extend(layer: L1Store): readonly Key[] {
    const generation = layer.generationOf(this.model);
    const parents = membersOf(this.parent, layer);
    const w = this.walked;
    if (!w || w.layer !== layer || w.generation !== generation || w.parents !== parents) {
      this.members = [];
      this.seen = new Set();
      this.parentPos = 0;
      this.walked = { layer, generation, parents };
    }
    while (this.parentPos < parents.length) {
      const value = layer.get(this.model, this.field, parents[this.parentPos]);
      if (value === MISS) break;
      // A many2one holds a key (or null), an x2many a list of keys.
      if (typeof value === 'number' || typeof value === 'string') this.add(value);
      else if (Array.isArray(value)) for (const id of value as readonly Key[]) this.add(id);
      this.parentPos++;
    }
    return this.members;
  }

  private add(id: Key): void {
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.members.push(id);
  }
}

export function membersOf(source: PrefetchSource, layer: L1Store): readonly Key[] {
  return source instanceof RelatedSet ? source.extend(layer) : source;
}

const relatedSets = new WeakMap<object, Map<string, RelatedSet>>();

/**
 * The one RelatedSet of (source, model.field), so that the loader sees one set however
 * many records ask through it.
 */
export function relatedSet(source: PrefetchSource, model: string, field: string): RelatedSet {
  let byField = relatedSets.get(source);
  if (!byField) relatedSets.set(source, (byField = new Map<string, RelatedSet>()));
  const key = `${model}\u0000${field}`;
  let set = byField.get(key);
  if (!set) byField.set(key, (set = new RelatedSet(source, model, field)));
  return set;
}
