/**
 * The PostgreSQL half of the jest global setup: makes a server available to the
 * PostgreSQL half of the suite (scripts/postgres.sh), as global-setup.ts does for MariaDB.
 *
 * - PostgreSQL not selected (PROXORM_TEST_DATABASES) -> nothing.
 * - PROXORM_PG_URL already set -> use it, start nothing.
 * - PostgreSQL installed (/usr/lib/postgresql/<version>/bin) -> `bash scripts/postgres.sh
 *   start`, export its URL as PROXORM_PG_URL.
 * - otherwise -> throw if REQUIRE_PG=1, else warn loudly and leave PROXORM_PG_URL unset
 *   (the PostgreSQL halves say NOT RUN).
 * PROXORM_PG_STARTED=1 says the server was started here, for teardown.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { isSelected } from '../helpers/selected-databases';

const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'postgres.sh');
/** Where Debian's postgresql packages put each version's server binaries. */
const PG_LIB = '/usr/lib/postgresql';

function postgresScript(sub: string): string {
  return execFileSync('bash', [SCRIPT, sub], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}

/** Whether some /usr/lib/postgresql/<version>/bin holds the server (what the script runs). */
export function postgresInstalled(): boolean {
  try {
    return fs.readdirSync(PG_LIB).some((version) => {
      try {
        fs.accessSync(path.join(PG_LIB, version, 'bin', 'postgres'), fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

function reasonOf(err: unknown): string {
  const e = err as { message?: string; stderr?: string | Buffer };
  const stderr = e?.stderr ? String(e.stderr).trim().split('\n').slice(-12).join('\n') : '';
  return [(e?.message ?? String(err)).split('\n')[0], stderr].filter(Boolean).join('\n');
}

export function setUpPostgres(): void {
  if (!isSelected('postgres') || process.env.PROXORM_PG_URL) return;

  let reason: string;
  if (!postgresInstalled()) {
    reason = `PostgreSQL not found (no ${PG_LIB}/<version>/bin/postgres)`;
  } else {
    try {
      // Was it already running before us (e.g. started by hand)? Then leave it running afterwards.
      let alreadyRunning = true;
      try {
        postgresScript('status');
      } catch {
        alreadyRunning = false;
      }
      const out = postgresScript('start');
      const url = out.trim().split('\n').pop()?.trim() ?? '';
      if (!/^postgres:\/\//.test(url)) {
        throw new Error(`scripts/postgres.sh start printed no URL (stdout: ${JSON.stringify(out)})`);
      }
      process.env.PROXORM_PG_URL = url;
      if (!alreadyRunning) process.env.PROXORM_PG_STARTED = '1';
      return;
    } catch (err) {
      reason = `scripts/postgres.sh start failed: ${reasonOf(err)}`;
    }
  }

  if (process.env.REQUIRE_PG === '1') {
    throw new Error(`PostgreSQL is required (REQUIRE_PG=1) but unavailable: ${reason}`);
  }
  const bar = '!'.repeat(78);
  process.stderr.write(
    [
      '',
      bar,
      '!!!  PostgreSQL is NOT available: the PostgreSQL half of the test suite will be SKIPPED.',
      '!!!',
      ...reason.split('\n').map((l, i) => (i === 0 ? `!!!  reason: ${l}` : `!!!    ${l}`)),
      '!!!',
      '!!!  To enable it:   bash scripts/postgres.sh install',
      '!!!  (or point PROXORM_PG_URL at a server: postgres://user:pass@host:port/db)',
      '!!!  Set REQUIRE_PG=1 to make this a hard failure instead.',
      bar,
      '',
    ].join('\n') + '\n',
  );
}

export function tearDownPostgres(): void {
  if (process.env.PROXORM_PG_STARTED !== '1') return;
  delete process.env.PROXORM_PG_STARTED;
  try {
    postgresScript('stop');
  } catch (err) {
    process.stderr.write(`global-teardown: scripts/postgres.sh stop failed: ${reasonOf(err)}\n`);
  }
}
