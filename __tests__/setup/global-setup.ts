/**
 * Jest globalSetup: make a MariaDB server available to the MySQL half of the suite (and
 * PostgreSQL to its half: postgres-setup.ts; Redis to the shared-cache suites:
 * redis-setup.ts). A database left out of PROXORM_TEST_DATABASES gets no server.
 *
 * - MariaDB not selected           -> nothing.
 * - PROXORM_MYSQL_URL already set  -> use it, start nothing.
 * - mariadbd installed             -> `bash scripts/mariadb.sh start`, export its URL.
 * - otherwise                      -> throw if REQUIRE_MYSQL=1, else warn loudly and
 *                                     leave PROXORM_MYSQL_URL unset (MySQL tests skip).
 *
 * Env vars set here are inherited by the test workers (they are forked afterwards)
 * and, with --runInBand, seen directly by the tests. Each worker gets databases of its own
 * on these servers (helpers/worker-databases.ts), created here for `maxWorkers` workers.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { isSelected } from '../helpers/selected-databases';
import globalTeardown from './global-teardown';
import { setUpPostgres } from './postgres-setup';
import { setUpRedis } from './redis-setup';
import { setUpWorkerDatabases } from './worker-databases-setup';

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'mariadb.sh');

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Path of mariadbd if it can be found on PATH or in /usr/sbin, else null. */
export function findMariadbd(): string | null {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  dirs.push('/usr/sbin', '/usr/local/sbin', '/sbin');
  for (const dir of dirs) {
    const candidate = path.join(dir, 'mariadbd');
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function runScript(sub: string): string {
  return execFileSync('bash', [SCRIPT, sub], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}

function errorReason(err: unknown): string {
  const e = err as { message?: string; stderr?: string | Buffer };
  const firstLine = (e?.message ?? String(err)).split('\n')[0];
  const stderr = e?.stderr ? String(e.stderr).trim() : '';
  const tail = stderr ? stderr.split('\n').slice(-12).join('\n') : '';
  return [firstLine, tail].filter(Boolean).join('\n');
}

function warnSkipped(reason: string): void {
  const bar = '!'.repeat(78);
  const lines = [
    '',
    bar,
    '!!!  MariaDB is NOT available: the MariaDB/MySQL half of the test suite',
    '!!!  will be SKIPPED.',
    '!!!',
    ...reason.split('\n').map((l, i) => (i === 0 ? `!!!  reason: ${l}` : `!!!    ${l}`)),
    '!!!',
    '!!!  To enable it:   bash scripts/mariadb.sh install',
    '!!!  (or point PROXORM_MYSQL_URL at a server: mysql://user:pass@host:port/db)',
    '!!!  Set REQUIRE_MYSQL=1 to make this a hard failure instead.',
    bar,
    '',
  ];
  process.stderr.write(lines.join('\n') + '\n');
}

export default async function globalSetup(globalConfig: { readonly maxWorkers: number }): Promise<void> {
  try {
    setUpRedis();
    setUpMariadb();
    setUpPostgres();
    await setUpWorkerDatabases(globalConfig.maxWorkers);
  } catch (err) {
    // jest runs no teardown after a failed setup: stop what was started before the failure.
    await globalTeardown();
    throw err;
  }
}

function setUpMariadb(): void {
  if (!isSelected('mariadb') || process.env.PROXORM_MYSQL_URL) return;

  let reason: string;
  if (!findMariadbd()) {
    reason = 'mariadbd not found on PATH or in /usr/sbin';
  } else {
    try {
      // Was it already running before us (e.g. started by hand)? Then leave it running afterwards.
      let alreadyRunning = false;
      try {
        runScript('status');
        alreadyRunning = true;
      } catch {
        alreadyRunning = false;
      }
      const out = runScript('start');
      const url = out.trim().split('\n').pop()?.trim() ?? '';
      if (!/^mysql:\/\//.test(url)) {
        throw new Error(`scripts/mariadb.sh start printed no URL (stdout: ${JSON.stringify(out)})`);
      }
      process.env.PROXORM_MYSQL_URL = url;
      if (!alreadyRunning) process.env.PROXORM_MARIADB_STARTED = '1';
      return;
    } catch (err) {
      reason = `scripts/mariadb.sh start failed: ${errorReason(err)}`;
    }
  }

  if (process.env.REQUIRE_MYSQL === '1') {
    throw new Error(`MariaDB is required (REQUIRE_MYSQL=1) but unavailable: ${reason}`);
  }
  warnSkipped(reason);
}
