import createDebug from 'debug';
import type { EventBus, EnvironmentEvents, StatementEndEvent } from '../db/events';
import { ValidationError } from '../errors';

/**
 * The `log` option of Environment.open: `true` writes one line per statement to stderr,
 * prefixed `proxorm:sql`; a function receives each line and the statement's end event.
 */
export type LogOption<E = unknown> = boolean | ((line: string, event: StatementEndEvent<E>) => void);

/** The `debug` namespace that prints the same lines (`DEBUG=proxorm:sql`). */
const debugSql = createDebug('proxorm:sql');

/**
 * One readable line for a finished statement, with placeholders and never values:
 * `select ... where "id" in (?, ?) -- 2 rows, 0.4 ms [trx 3]`.
 */
export function statementLine(e: StatementEndEvent): string {
  const outcome =
    e.error !== undefined
      ? `failed: ${e.error}`
      : e.rows === undefined
        ? undefined
        : `${e.rows} row${e.rows === 1 ? '' : 's'}`;
  const where =
    e.transaction === undefined ? '' : ` [trx ${e.transaction}${e.depth > 1 ? `, savepoint ${e.depth - 1}` : ''}]`;
  return `${e.sql} -- ${outcome ? `${outcome}, ` : ''}${e.durationMs.toFixed(1)} ms${where}`;
}

/** Checks a `log` option (ValidationError naming it) before anything is opened. */
export function checkLogOption(log: unknown): void {
  if (log !== undefined && typeof log !== 'boolean' && typeof log !== 'function') {
    throw new ValidationError('Environment.open: "log" must be true, false or a function (line, event) => void');
  }
}

/**
 * Subscribes the pool's logging to the root Environment's bus (forks forward to it):
 * the `log` option, and DEBUG=proxorm:sql when the `debug` package has that namespace
 * enabled as the Environment opens. Nothing is subscribed when neither asks. `log: true`
 * and DEBUG=proxorm:sql both print the line to stderr: with both, it is printed once
 * (through `debug`, which the user configured for the whole process).
 */
export function attachLogging<E>(bus: EventBus<EnvironmentEvents<E>>, log: LogOption<E> | undefined): void {
  if (typeof log === 'function') bus.on('statement:end', (e) => log(statementLine(e), e));
  if (debugSql.enabled)
    bus.on('statement:end', (e) => debugSql('%s', statementLine(e))); // '%s': a % in the SQL is not a format
  else if (log === true) bus.on('statement:end', (e) => void process.stderr.write(`proxorm:sql ${statementLine(e)}\n`));
}
