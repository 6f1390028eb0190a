import type { Knex } from 'knex';
import type { Dialect } from './dialect';

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
    private readonly timeoutMs = 0,
  ) {}

  table(name: string): Knex.QueryBuilder {
    return this.knex(name);
  }

  async run<T>(qb: Knex.QueryBuilder): Promise<T> {
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
      throw this.dialect.translateError(e, sql);
    }
  }
}
