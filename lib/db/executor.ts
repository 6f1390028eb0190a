import type { Knex } from 'knex';
import type { DatabaseError } from '../errors';
import type { Dialect, KnexQueryReply } from './dialect';
import { TracedStatement, traceControl, tracing, type StatementOrigin } from './trace';

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
  /**
   * Where a failed statement would abort the transaction (see
   * Dialect.failedStatementAbortsTransaction), and the transaction must survive it: runs
   * `send` inside a savepoint of its own (`savepoint` sends the control statements), which
   * is released after it, or rolled back after its failure unless the failure ended the
   * transaction anyway (a DeadlockError). Other statements of the level wait meanwhile.
   * Absent where a failed statement ends what it runs in anyway (outside a transaction, a
   * write's own level). Called unbound.
   */
  guard?<R extends StatementReply<unknown>>(
    this: void,
    savepoint: (sql: string) => Promise<unknown>,
    send: () => Promise<R>,
  ): Promise<R>;
}

/** How a statement ended: its result, or the typed error it failed with. */
export type StatementReply<T> = { ok: true; value: T } | { ok: false; error: DatabaseError };

/**
 * @internal Test hook: when set, every statement proxorm sends waits for it after the
 * database replied and before its caller sees the reply (or the error). Tests use it to
 * force interleavings (hold a load's result until a write committed) and a seeded
 * scheduler to release replies in an order drawn from a seed.
 */
export const statementHooks: { afterReply?: (sql: string) => Promise<void> | void } = {};

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
    /** Whose statements these are, for the 'statement:*' events. */
    readonly origin: StatementOrigin,
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
    const trace = tracing(this.origin) ? this.trace(qb) : undefined;
    // The statement's end is traced as it comes (before a savepoint around it is released).
    const attempt = async (): Promise<StatementReply<T>> => {
      let reply: StatementReply<T>;
      try {
        reply = { ok: true, value: (await qb) as T };
      } catch (error) {
        reply = { ok: false, error: this.dialect.translateError(error, sqlOf(qb)) };
      }
      trace?.end(reply.ok ? undefined : reply.error);
      return reply;
    };
    const guard = this.dialect.failedStatementAbortsTransaction ? this.gate.guard : undefined;
    let reply: StatementReply<T>;
    try {
      reply = guard ? await guard<StatementReply<T>>((sql) => this.control(sql), attempt) : await attempt();
    } catch (error) {
      // The savepoint's own statements failed (a lost connection, mostly).
      reply = { ok: false, error: this.dialect.translateError(error, 'SAVEPOINT') };
    }
    if (statementHooks.afterReply) await statementHooks.afterReply(sqlOf(qb) ?? '');
    if (reply.ok) return reply.value;
    throw this.gate.failed(reply.error);
  }

  /** A savepoint statement of `guard`, on this executor's transaction, traced as a transaction's. */
  private control(sql: string): Promise<unknown> {
    return traceControl(this.origin, sql, async (): Promise<void> => {
      await this.knex.raw(sql);
    });
  }

  /**
   * Follows the statement through knex's events: its start when knex sends it (after
   * the connection was acquired), its row count from the driver's reply.
   */
  private trace(qb: Knex.QueryBuilder): { end(error?: DatabaseError): void } {
    let statement: TracedStatement | undefined;
    let rows: number | undefined;
    qb.on('query', (q: KnexQuery) => {
      statement = new TracedStatement(this.origin, q.sql, 'query', q.bindings);
    });
    qb.on('query-response', (_result: unknown, q: KnexQueryReply) => {
      rows = this.dialect.rowCount(q);
    });
    // A statement that was never sent (no connection) has no start, and no end either.
    return { end: (error) => statement?.end(rows, error) };
  }
}

/** What knex's 'query' event tells of a statement it sends. */
interface KnexQuery {
  readonly sql: string;
  readonly bindings?: readonly unknown[];
}

/** The statement's SQL with placeholders (never values), if knex can tell. */
function sqlOf(qb: Knex.QueryBuilder): string | undefined {
  try {
    return qb.toSQL().sql;
  } catch {
    return undefined;
  }
}
