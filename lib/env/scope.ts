import type { Knex } from 'knex';
import { Executor } from '../db/executor';

/**
 * Where a statement runs: the pool (the root scope) or one transaction level. Batches
 * and in-flight loads are kept per scope, so a load inside a transaction never shares
 * a query with one outside it.
 */
export interface Scope {
  readonly executor: Executor;
  /** Set inside a transaction: records whose cache entries must go if it rolls back. */
  readonly journal: Journal | undefined;
}

/** The records a transaction level touched (wrote, created, deleted or loaded), by model. */
export class Journal {
  readonly touched = new Map<string, Set<number>>();

  add(model: string, ids: Iterable<number>): void {
    let set = this.touched.get(model);
    if (!set) this.touched.set(model, (set = new Set()));
    for (const id of ids) set.add(id);
  }

  mergeInto(parent: Journal): void {
    for (const [model, ids] of this.touched) parent.add(model, ids);
  }
}

/** One level of `env.transaction`: a knex transaction (or savepoint) and its journal. */
export class TransactionFrame implements Scope {
  readonly journal = new Journal();
  readonly executor: Executor;

  constructor(readonly trx: Knex.Transaction, makeExecutor: (trx: Knex.Transaction) => Executor) {
    this.executor = makeExecutor(trx);
  }
}
