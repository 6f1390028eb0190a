/**
 * The record cache of one Environment, keyed field-first:
 * `Map<model, Map<field, Map<id, value>>>`, so "which records lack field F" and "drop
 * field F" are single map operations.
 *
 * Contract:
 * - A present key is a loaded value; a cached `null` is a value. Test presence with
 *   `has`, never by comparing the value with undefined/null.
 * - Values are canonical (see model/values.ts) and equal what the database holds as
 *   far as this Environment knows: writes update the cache only after their SQL
 *   succeeded, loads never overwrite a present value (a write that raced a load wins).
 * - `missing` remembers ids known not to exist, so reads of them fail without a query
 *   and prefetch does not ask for them again.
 */
export class RecordCache {
  private readonly data = new Map<string, Map<string, Map<number, unknown>>>();
  private readonly missing = new Map<string, Set<number>>();

  /** The id -> value map of one field, created on demand (hot path of reads and loads). */
  field(model: string, field: string): Map<number, unknown> {
    let byField = this.data.get(model);
    if (!byField) this.data.set(model, (byField = new Map()));
    let byId = byField.get(field);
    if (!byId) byField.set(field, (byId = new Map()));
    return byId;
  }

  peekField(model: string, field: string): Map<number, unknown> | undefined {
    return this.data.get(model)?.get(field);
  }

  has(model: string, field: string, id: number): boolean {
    return this.data.get(model)?.get(field)?.has(id) ?? false;
  }

  /** Records a statement just found to exist (a write matched them): not missing any more. */
  unmarkMissing(model: string, ids: Iterable<number>): void {
    const set = this.missing.get(model);
    if (set) for (const id of ids) set.delete(id);
  }

  isMissing(model: string, id: number): boolean {
    return this.missing.get(model)?.has(id) ?? false;
  }

  markMissing(model: string, ids: Iterable<number>): void {
    let set = this.missing.get(model);
    if (!set) this.missing.set(model, (set = new Set()));
    for (const id of ids) {
      set.add(id);
      this.forgetValues(model, id);
    }
  }

  /** Forgets everything about records (values and missing marks): the next read loads them. */
  invalidate(model: string, ids: Iterable<number>): void {
    const missing = this.missing.get(model);
    for (const id of ids) {
      missing?.delete(id);
      this.forgetValues(model, id);
    }
  }

  /** Forgets one field of a model for every record. */
  dropField(model: string, field: string): void {
    this.data.get(model)?.delete(field);
  }

  /** Forgets one model, or everything. */
  clear(model?: string): void {
    if (model === undefined) {
      this.data.clear();
      this.missing.clear();
    } else {
      this.data.delete(model);
      this.missing.delete(model);
    }
  }

  private forgetValues(model: string, id: number): void {
    const byField = this.data.get(model);
    if (byField) for (const byId of byField.values()) byId.delete(id);
  }
}
