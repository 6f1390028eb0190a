import type { Knex } from 'knex';
import { statementHooks } from '../../lib/db/executor';

/**
 * Tools to force an interleaving of statements without sleeping: hold a statement's
 * reply (the database answered, the caller has not seen it yet) until released, and
 * wait for a statement to be sent. Only one hold can be installed at a time.
 */
export interface Hold {
  /** Resolves once a matching statement's reply arrived and is being held. */
  readonly reached: Promise<void>;
  release(): void;
}

export function holdReply(match: (sql: string) => boolean): Hold {
  let reachedResolve!: () => void;
  let releaseResolve!: () => void;
  const reached = new Promise<void>((r) => (reachedResolve = r));
  const released = new Promise<void>((r) => (releaseResolve = r));
  let used = false;
  statementHooks.afterReply = async (sql) => {
    if (used || !match(sql)) return;
    used = true;
    reachedResolve();
    await released;
  };
  return {
    reached,
    release() {
      statementHooks.afterReply = undefined;
      releaseResolve();
    },
  };
}

export function clearHooks(): void {
  statementHooks.afterReply = undefined;
}

/** Resolves when a statement matching `match` is sent through `knex` (its 'query' event). */
export function sent(knex: Knex, match: (sql: string) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const listener = (q: { sql: string }) => {
      if (!match(q.sql)) return;
      knex.removeListener('query', listener);
      resolve();
    };
    knex.on('query', listener);
  });
}

/** Lets `n` turns of the event loop pass (so that batched loads flush), never a timer. */
export async function turns(n = 2): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** A promise with its resolve function, to line up two callbacks. */
export function barrier(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

export const isSelect = (table: string) => (sql: string) => /^select/i.test(sql) && sql.includes(table);
