/**
 * Jest globalTeardown: stop the throwaway servers (MariaDB, PostgreSQL, Redis) that
 * global-setup started.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';
import { tearDownPostgres } from './postgres-setup';
import { tearDownRedis } from './redis-setup';

const ROOT = path.resolve(__dirname, '..', '..');

export default async function globalTeardown(): Promise<void> {
  tearDownRedis();
  tearDownPostgres();
  if (process.env.PROXORM_MARIADB_STARTED !== '1') return;
  try {
    execFileSync('bash', [path.join(ROOT, 'scripts', 'mariadb.sh'), 'stop'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 120_000,
    });
  } catch (err) {
    process.stderr.write(`global-teardown: scripts/mariadb.sh stop failed: ${(err as Error).message}\n`);
  } finally {
    delete process.env.PROXORM_MARIADB_STARTED;
  }
}
