import type { EventEmitter } from 'node:events';
import type { EnvironmentEvents, EventBus, StatementStartEvent } from './events';

/** Who sends the statements of one executor: an Environment, and the transaction level it is in. */
export interface StatementOrigin {
  readonly bus: EventBus<EnvironmentEvents>;
  readonly env: unknown;
  /** The outermost transaction's id (newTransactionId), undefined outside one. */
  readonly transaction: number | undefined;
  /** 0 outside a transaction, 1 in one, 2 and more in savepoints. */
  readonly depth: number;
}

let lastStatementId = 0;
let lastTransactionId = 0;

export function newTransactionId(): number {
  return ++lastTransactionId;
}

/** Whether statements of `origin` are worth tracing: the only cost paid while nobody listens. */
export function tracing(origin: StatementOrigin): boolean {
  return origin.bus.has('statement:start') || origin.bus.has('statement:end');
}

/** One statement being traced: its start is emitted on creation, its end by `end`. */
export class TracedStatement {
  private readonly start: StatementStartEvent;
  private readonly startedAt = performance.now();

  constructor(
    private readonly origin: StatementOrigin,
    sql: string,
    kind: StatementStartEvent['kind'],
    private readonly bindings: readonly unknown[] | undefined,
  ) {
    this.start = {
      id: ++lastStatementId,
      sql,
      kind,
      env: origin.env,
      transaction: origin.transaction,
      depth: origin.depth,
    };
    origin.bus.emit('statement:start', this.start, this.values());
  }

  end(rows: number | undefined, error?: unknown): void {
    const durationMs = performance.now() - this.startedAt;
    const failed = error === undefined ? undefined : { error: error instanceof Error ? error.name : typeof error };
    this.origin.bus.emit(
      'statement:end',
      { ...this.start, durationMs, rows: failed ? undefined : rows, ...failed },
      this.values(),
    );
  }

  private values(): (() => readonly unknown[]) | undefined {
    const bindings = this.bindings;
    return bindings && (() => [...bindings]);
  }
}

/**
 * Runs a transaction control statement that knex sends itself (`sql`: what it is,
 * e.g. 'BEGIN'), traced as one statement when anybody listens.
 */
export async function traceControl<T>(origin: StatementOrigin, sql: string, run: () => Promise<T>): Promise<T> {
  if (!tracing(origin)) return run();
  const traced = new TracedStatement(origin, sql, 'transaction', []);
  try {
    const result = await run();
    traced.end(undefined);
    return result;
  } catch (e) {
    traced.end(undefined, e);
    throw e;
  }
}

/**
 * Traces the statements a knex builder sends, from its own events: for the statements
 * knex runs whole (a schema sync's: several per builder at times). Their rows are not
 * counted (undefined); a failure names the driver's error class.
 */
export function traceBuilder<B extends object>(builder: B, origin: StatementOrigin): B {
  // Every knex builder is an EventEmitter at run time; the typings of SchemaBuilder omit it.
  const emitter = builder as unknown as EventEmitter;
  let statement: TracedStatement | undefined;
  const end = (error?: unknown) => {
    statement?.end(undefined, error);
    statement = undefined;
  };
  emitter.on('query', (q: { sql: string; bindings?: readonly unknown[] }) => {
    statement = new TracedStatement(origin, q.sql, 'schema', q.bindings);
  });
  emitter.on('query-response', () => end());
  emitter.on('query-error', (error: unknown) => end(error));
  return builder;
}
