import type { Knex } from 'knex';
import { ConnectionError } from '../../../errors';
import type { Dialect } from '../../dialect';

/**
 * Connects once (`SELECT 1`, then `read`, the dialect's questions to the server) so that
 * a wrong URL or a stopped server fails in open(), not at the first query. On failure
 * the pool is destroyed and the error is a ConnectionError, translated by `dialect`
 * (whatever the driver says, bad file, refused, access denied, the database cannot be used).
 */
export async function probe(knex: Knex, dialect: Dialect, read: () => Promise<void>): Promise<void> {
  try {
    await knex.raw('SELECT 1');
    await read();
  } catch (e) {
    await knex.destroy().catch(() => undefined);
    const err = dialect.translateError(e, 'SELECT 1');
    throw err instanceof ConnectionError
      ? err
      : new ConnectionError(`cannot open the database: ${err.message}`, err.sql, err.code, e);
  }
}
