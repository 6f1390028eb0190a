import type { SharedWrite } from './shared-cache';
import type { Knex } from 'knex';
import type { Executor, StatementGate, StatementReply } from '../db/executor';
import { DeadlockError, TransactionEndedError, type DatabaseError } from '../errors';
import type { L1Store } from '../cache/l1';

/**
 * Where a statement runs and which cache layer its results go to: the pool with the
 * base layer (the root scope), or one transaction level with a layer of its own.
 * Batches and in-flight loads are kept per scope, so a load inside a transaction never
 * shares a query with one outside it.
 */
export interface Scope {
  readonly executor: Executor;
  /** The L1 cache as this scope sees it (its own layer over those below). */
  readonly cache: L1Store;
  /** The transaction level, when the scope is one. */
  readonly frame: TransactionFrame | undefined;
}

/**
 * One level of a transaction: the outermost (BEGIN ... COMMIT) or a savepoint.
 *
 * Contract (the statement gate of its executor):
 * - While a savepoint of this level is open, statements of this level wait for it to
 *   end: sent now they would run inside the savepoint, and its rollback would undo them.
 *   Savepoints of one level open one after the other for the same reason.
 * - Every statement and savepoint sent from this level is remembered until it settles;
 *   the level ends (COMMIT or ROLLBACK) only once they all have.
 * - Once the level ended, a statement sent from it fails with TransactionEndedError:
 *   it never runs in autocommit.
 * - A DeadlockError from any statement of the transaction kills all its levels: every
 *   later statement fails with that error.
 */
export class TransactionFrame implements Scope, StatementGate {
  cache: L1Store;
  readonly root: TransactionFrame;
  executor!: Executor;
  /** Set on the outermost level when the database aborted the transaction. */
  aborted: DeadlockError | undefined;
  /** Outermost level: what its writes locked in the shared cache, published when it ends (session.ts). */
  readonly sharedWrites: SharedWrite[] = [];
  /** Outermost level: its COMMIT was sent (from then on a failure may still have committed). */
  commitSent = false;
  private ended = false;
  private child: Promise<void> | undefined;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    readonly trx: Knex.Transaction,
    readonly parent: TransactionFrame | undefined,
    /** The committed-state store, below the outermost level. */
    base: L1Store,
    /** Session clock time when the level began (bounds what its layer may need of versions). */
    readonly start: number,
    /**
     * Whether the level outlives a failed statement of its own (env.transaction's levels,
     * whose callback may catch the error and go on), rather than failing with it (a write's
     * level): see guard.
     */
    private readonly survivesFailures: boolean,
  ) {
    this.cache = (parent ? parent.cache : base).above();
    this.root = parent ? parent.root : this;
  }

  get frame(): TransactionFrame {
    return this;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  enter(): Promise<unknown> | undefined {
    this.checkAlive();
    return this.child;
  }

  sent(statement: Promise<unknown>): void {
    this.pending.add(statement);
    const forget = () => this.pending.delete(statement);
    statement.then(forget, forget);
  }

  failed(error: DatabaseError): Error {
    if (error instanceof DeadlockError && !this.root.aborted) this.root.aborted = error;
    return error;
  }

  /**
   * StatementGate.guard, for a level that outlives its failed statements: the statement
   * runs as this level's child (statements of the level wait for it, as for a savepoint),
   * inside `SAVEPOINT proxorm_statement` (one at a time per level, so the name always
   * means the newest). The slot is freed before the caller sees the reply, so that a test
   * hook holding the reply holds no other statement of the level.
   */
  get guard(): StatementGate['guard'] {
    return this.survivesFailures ? this.statementSavepoint : undefined;
  }

  private readonly statementSavepoint = async <R extends StatementReply<unknown>>(
    savepoint: (sql: string) => Promise<unknown>,
    send: () => Promise<R>,
  ): Promise<R> => {
    const release = await this.openChild();
    try {
      await savepoint('SAVEPOINT proxorm_statement');
      const reply = await send();
      if (reply.ok) await savepoint('RELEASE SAVEPOINT proxorm_statement');
      // A deadlock ended the whole transaction: nothing to roll back to. Otherwise the
      // failure is the statement's alone; if even the rollback fails (a lost
      // connection), the statement's error is the one to report.
      else if (!(reply.error instanceof DeadlockError))
        await savepoint('ROLLBACK TO SAVEPOINT proxorm_statement').catch(() => undefined);
      return reply;
    } finally {
      release();
    }
  };

  /**
   * Waits until a savepoint may be opened on this level; the returned function frees
   * the slot once the savepoint ended. (The caller registers the savepoint's whole run
   * with sent(), so that this level's end waits for it.)
   */
  async openChild(): Promise<() => void> {
    for (let wait = this.enter(); wait; wait = this.enter()) await wait;
    let release!: () => void;
    this.child = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.child = undefined;
      release();
    };
  }

  /** Resolves once every statement and savepoint sent from this level has settled. */
  async drain(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  end(): void {
    this.ended = true;
  }

  /**
   * Lets go of the level's cache layer once it ended (merged or dropped). The frame
   * itself may outlive it: async contexts created inside the transaction (a pooled
   * connection opened there, a timer) keep it, and must not keep the cache with it.
   */
  detach(): void {
    this.cache = this.cache.detached();
    this.pending.clear();
  }

  checkAlive(): void {
    if (this.root.aborted) throw this.root.aborted;
    if (this.ended)
      throw new TransactionEndedError(
        'this transaction has ended: a statement sent from its callback after it committed or rolled back is refused (await every call inside the callback)',
      );
  }
}
