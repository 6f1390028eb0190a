import type { Knex } from 'knex';
import type { DatabaseError } from '../errors';
import type { Dialect } from './dialect';

/**
 * What decides whether a statement may be sent, and what its failure means: a
 * transaction level (which may be waiting for a savepoint, ended, or aborted by the
 * database) or the pool of an Environment (which may be closed).
 */
export interface StatementGate {
  /**
   * undefined when a statement may be sent now; a promise to wait for before asking
   * again; throws when it may never be sent (ended transaction, closed Environment).
   */
  enter(): Promise<unknown> | undefined;
  /** Every statement's promise, as it is issued, so that a transaction can wait for it. */
  sent(statement: Promise<unknown>): void;
  /** The error the caller gets for a statement that failed with `error`. */
  failed(error: DatabaseError): Error;
}

/**
 * Runs knex builders on one connection scope (the pool, or a transaction) for one
 * Environment: counts every statement knex actually sends (its 'query' event) and
 * turns driver errors into typed DatabaseErrors carrying the SQL.
 */
export class Executor {
  constructor(
    readonly knex: Knex | Knex.Transaction,
    readonly dialect: Dialect,
    private readonly onQuery: () => void,
    /** Milliseconds a statement may run before it is cancelled (QueryTimeoutError); 0: no limit. */
    private readonly timeoutMs: number,
    private readonly gate: StatementGate,
  ) {}

  table(name: string): Knex.QueryBuilder {
    return this.knex(name);
  }

  run<T>(qb: Knex.QueryBuilder): Promise<T> {
    const statement = this.send<T>(qb);
    this.gate.sent(statement);
    return statement;
  }

  private async send<T>(qb: Knex.QueryBuilder): Promise<T> {
    for (let wait = this.gate.enter(); wait; wait = this.gate.enter()) await wait;
    qb.on('query', this.onQuery);
    if (this.timeoutMs > 0) qb.timeout(this.timeoutMs, { cancel: this.dialect.canCancel });
    try {
      return (await qb) as T;
    } catch (e) {
      let sql: string | undefined;
      try {
        sql = qb.toSQL().sql;
      } catch {
        sql = undefined;
      }
      throw this.gate.failed(this.dialect.translateError(e, sql));
    }
  }
}
