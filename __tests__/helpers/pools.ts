import { randomUUID } from 'crypto';
import * as os from 'os';
import * as path from 'path';
import { Environment, type EnvironmentConfig } from '../../lib';
import type { OpenOptions, TestDatabase } from './databases';

/**
 * Two pools on one database, as two processes would hold (the first syncs the models on
 * empty tables): on MariaDB and PostgreSQL the test database, on SQLite a fresh file in the temp dir.
 */
export async function openPair(db: TestDatabase, options: OpenOptions): Promise<{ a: Environment; b: Environment }> {
  const { models, cache } = options;
  if (db.name !== 'sqlite') {
    const a = await db.open(options);
    const b = await Environment.open({ ...db.config, models, cache });
    return { a, b };
  }
  const config: EnvironmentConfig = { filename: path.join(os.tmpdir(), `proxorm-pair-${randomUUID()}.db`) };
  const a = await Environment.open({ ...config, models, cache });
  await a.sync();
  const b = await Environment.open({ ...config, models, cache });
  return { a, b };
}
