import type { L1 } from '../cache/l1';
import { tablesChangedByDelete, type DeleteRule } from '../db/constraints';
import type { Database } from '../db/database';
import { withPinnedConnection } from '../db/pinned';
import type { L2Store } from '../cache/l2';
import type { Invalidation } from '../cache/store';
import type { LockId, SharedStore } from '../cache/shared/types';
import type { Key } from '../model/keys';
import type { ModelSet } from '../model/model-set';
import type { ModelSchema } from '../model/schema';

/**
 * What a transaction wrote to records the shared cache may hold, kept on its outermost
 * level until it ends: locked records (soft-locked before their statement), and whole
 * models a foreign key's ON DELETE may have changed (which records is not known).
 * Records without a lock were named by `invalidateRecord` (changed by raw SQL): they are
 * invalidated at commit, which is all a later reader needs (leases void older loads).
 */
export type SharedWrite =
  | { readonly model: string; readonly keys: readonly Key[]; readonly lock: LockId | undefined }
  /** model undefined: every model (a write changed a table no model of this pool holds in L2). */
  | { readonly model: string | undefined; readonly keys: 'all' };

/**
 * A pool's side of the shared cache (L2): the store, which models it holds, and the L1
 * of every live Environment of the pool, so that an invalidation (another process's, or
 * a commit of this pool) drops what they hold. Environments are held weakly: a fork is
 * often never closed, and must not be kept alive by the cache.
 *
 * Contract:
 * - Invalidations from other processes (`remote`) drop the records from every L1 of the
 *   pool; a reset (the channel was lost: invalidations may have been missed) drops every
 *   shared model from every L1. L1's versions refuse the put of a load that began before.
 * - This pool's own commits are fanned out by `published` (before the commit resolves),
 *   to every L1 but the writer's, which holds the committed values already.
 */
export class SharedCache {
  private readonly caches = new Set<WeakRef<L1>>();
  private readonly finalizer = new FinalizationRegistry<WeakRef<L1>>((ref) => this.caches.delete(ref));
  private readonly unsubscribe: () => void;
  /** The database's foreign keys, every table's (set by readDeleteRules at open and after sync). */
  private deleteRules: readonly DeleteRule[] = [];

  constructor(
    readonly l2: L2Store,
    private readonly models: ModelSet,
  ) {
    this.unsubscribe = l2.subscribe((invalidation) => {
      if (invalidation.source === 'remote') this.drop(invalidation, undefined);
    });
  }

  get store(): SharedStore {
    return this.l2.shared;
  }

  /** Whether the shared cache holds records of the model named `model` (undefined: of any model). */
  holdsModel(model: string | undefined): boolean {
    return this.models.schemas.some((s) => (model === undefined || s.name === model) && this.holds(s));
  }

  /** Whether the shared cache holds records of `schema`. */
  holds(schema: ModelSchema): boolean {
    return schema.cache.shared;
  }

  /**
   * Reads the database's foreign keys, which `changedByDelete` follows besides the
   * models' own: at open, and after this pool's sync (one statement, not traced).
   */
  async readDeleteRules(db: Database): Promise<void> {
    this.deleteRules = await withPinnedConnection(db.knex, undefined, (pinned) => db.dialect.readDeleteRules(pinned));
  }

  /**
   * What a DELETE from `schema`'s table may change in L2: the shared models of this pool
   * mapping the tables the database's ON DELETE rules reach (`declared`: those the models
   * themselves declare, for tables created since the rules were read), or 'every' when a
   * table reached is held by no shared model of this pool (nor is a relation table of its
   * many2many fields). That table may be mapped by
   * another pool on the same L2 (under a name this pool cannot know), whose entries
   * must not outlive the delete: the whole shared cache is invalidated.
   */
  changedByDelete(schema: ModelSchema, declared: readonly ModelSchema[]): string[] | 'every' {
    const tables = tablesChangedByDelete(this.deleteRules, schema.table);
    for (const s of declared) tables.add(s.table.toLowerCase());
    const models: string[] = [];
    for (const table of tables) {
      // A relation table of this pool's many2many: its links are x2many lists, which L2 does not hold.
      if (this.models.fieldsOnRelationTable(table).length > 0) continue;
      const held = this.models.schemas.filter((s) => this.holds(s) && s.table.toLowerCase() === table);
      if (held.length === 0) return 'every';
      models.push(...held.map((s) => s.name));
    }
    return [...new Set(models)];
  }

  register(l1: L1): void {
    const ref = new WeakRef(l1);
    this.caches.add(ref);
    this.finalizer.register(l1, ref, ref);
  }

  unregister(l1: L1): void {
    for (const ref of this.caches) {
      if (ref.deref() === l1) {
        this.caches.delete(ref);
        this.finalizer.unregister(ref);
      }
    }
  }

  /**
   * After the outermost level ended: `committed` (or its outcome is unknown) invalidates
   * and unlocks in L2 and drops the records from the pool's other L1s; a rollback only
   * unlocks. Never rejects (the store resolves every call).
   */
  async published(writes: readonly SharedWrite[], committed: boolean, writer: L1): Promise<void> {
    const sent: Promise<void>[] = [];
    for (const w of writes) {
      if (w.keys !== 'all' && w.lock !== undefined) sent.push(this.l2.release(w.model, w.keys, w.lock, committed));
      else if (committed) sent.push(this.l2.invalidate({ model: w.model, keys: w.keys, source: 'local' }));
    }
    await Promise.all(sent);
    if (!committed) return;
    for (const w of writes) this.drop({ model: w.model, keys: w.keys, source: 'local' }, writer);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.caches.clear();
    await this.l2.shared.close();
  }

  private drop(invalidation: Invalidation, except: L1 | undefined): void {
    const { model } = invalidation;
    const shared = this.models.schemas.filter((s) => this.holds(s)).map((s) => s.name);
    for (const ref of this.caches) {
      const l1 = ref.deref();
      if (l1 === undefined || l1 === except) continue;
      if (model !== undefined) {
        if (shared.includes(model)) l1.base.invalidate(invalidation);
      } else for (const name of shared) l1.base.invalidate({ model: name, keys: 'all', source: invalidation.source });
    }
  }
}
