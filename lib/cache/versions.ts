import type { Key } from '../model/keys';
/**
 * When each part of one cache layer last changed, on the session's clock.
 *
 * Every change to what a layer may hold (a write, an unlink, an invalidation, a
 * dropped relation field, a cleared model) stamps what it touched with the clock's
 * time. A load remembers the time it started, and fills an entry only if nothing that
 * covers the entry changed since: `changedSince(model, field, id, start)` is false.
 * This one check is what keeps a load that began before a change from putting an
 * older value back, whatever the order in which promises settle.
 *
 * Stamps older than every load and transaction still running can answer no question
 * any more; `prune` forgets them, so memory stays bounded by what is in flight.
 */
export class Versions {
  private all = 0;
  private readonly models = new Map<string, number>();
  private readonly fields = new Map<string, Map<string, number>>();
  private readonly records = new Map<string, Map<Key, number>>();
  private recordCount = 0;

  changedSince(model: string, field: string, id: Key, since: number): boolean {
    if (this.all > since) return true;
    const m = this.models.get(model);
    if (m !== undefined && m > since) return true;
    const f = this.fields.get(model)?.get(field);
    if (f !== undefined && f > since) return true;
    const r = this.records.get(model)?.get(id);
    return r !== undefined && r > since;
  }

  /** Whether anything about the record (any field, its model, everything) changed after `since`. */
  recordChangedSince(model: string, id: Key, since: number): boolean {
    if (this.all > since) return true;
    const m = this.models.get(model);
    if (m !== undefined && m > since) return true;
    const byField = this.fields.get(model);
    if (byField) for (const f of byField.values()) if (f > since) return true;
    const r = this.records.get(model)?.get(id);
    return r !== undefined && r > since;
  }

  stampRecords(model: string, ids: Iterable<Key>, time: number): void {
    let byId = this.records.get(model);
    if (!byId) this.records.set(model, (byId = new Map<Key, number>()));
    for (const id of ids) {
      if (!byId.has(id)) this.recordCount++;
      byId.set(id, time);
    }
  }

  stampField(model: string, field: string, time: number): void {
    let byField = this.fields.get(model);
    if (!byField) this.fields.set(model, (byField = new Map<string, number>()));
    byField.set(field, time);
  }

  stampModel(model: string, time: number): void {
    this.models.set(model, time);
  }

  stampAll(time: number): void {
    this.all = time;
  }

  /** Number of per-record stamps held (for pruning decisions and tests). */
  get size(): number {
    return this.recordCount;
  }

  /** Forgets stamps at or before `horizon`: no running load or transaction started before it. */
  prune(horizon: number): void {
    for (const [model, byId] of this.records) {
      for (const [id, t] of byId) {
        if (t <= horizon) {
          byId.delete(id);
          this.recordCount--;
        }
      }
      if (byId.size === 0) this.records.delete(model);
    }
    for (const [model, byField] of this.fields) {
      for (const [f, t] of byField) if (t <= horizon) byField.delete(f);
      if (byField.size === 0) this.fields.delete(model);
    }
    for (const [model, t] of this.models) if (t <= horizon) this.models.delete(model);
  }
}
