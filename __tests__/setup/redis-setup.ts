/**
 * The Redis half of the jest global setup: makes a single server and a 3-node Cluster
 * available to the shared-cache suites (scripts/redis.sh).
 *
 * - PROXORM_REDIS_URL / PROXORM_REDIS_CLUSTER already set -> use them, start nothing.
 * - redis-server installed -> start them, export PROXORM_REDIS_URL (redis://...) and
 *   PROXORM_REDIS_CLUSTER (host:port,host:port,host:port).
 * - otherwise -> throw if REQUIRE_REDIS=1, else warn loudly (the suites say NOT RUN).
 * PROXORM_REDIS_STARTED lists what was started here ("single", "cluster"), for teardown.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';

const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'redis.sh');

export function redisScript(sub: string): string {
  return execFileSync('bash', [SCRIPT, sub], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
}

function running(sub: 'status' | 'cluster-status'): boolean {
  try {
    redisScript(sub);
    return true;
  } catch {
    return false;
  }
}

function reasonOf(err: unknown): string {
  const e = err as { message?: string; stderr?: string | Buffer };
  const stderr = e?.stderr ? String(e.stderr).trim().split('\n').slice(-8).join('\n') : '';
  return [(e?.message ?? String(err)).split('\n')[0], stderr].filter(Boolean).join('\n');
}

export function setUpRedis(): void {
  const started: string[] = [];
  const failures: string[] = [];
  const start = (variable: string, sub: string, statusSub: 'status' | 'cluster-status', name: string) => {
    if (process.env[variable]) return;
    try {
      const before = running(statusSub);
      process.env[variable] = redisScript(sub).trim().split('\n').pop()?.trim();
      if (!before) started.push(name);
    } catch (err) {
      failures.push(`scripts/redis.sh ${sub} failed: ${reasonOf(err)}`);
    }
  };
  start('PROXORM_REDIS_URL', 'start', 'status', 'single');
  start('PROXORM_REDIS_CLUSTER', 'start-cluster', 'cluster-status', 'cluster');
  if (started.length > 0) process.env.PROXORM_REDIS_STARTED = started.join(',');
  if (failures.length === 0) return;
  const reason = failures.join('\n');
  if (process.env.REQUIRE_REDIS === '1')
    throw new Error(`Redis is required (REQUIRE_REDIS=1) but unavailable: ${reason}`);
  const bar = '!'.repeat(78);
  process.stderr.write(
    [
      '',
      bar,
      '!!!  Redis is NOT available: the shared-cache (L2 Redis) suites will NOT RUN.',
      ...reason.split('\n').map((l) => `!!!    ${l}`),
      '!!!  To enable them:   bash scripts/redis.sh install',
      '!!!  (or set PROXORM_REDIS_URL=redis://host:port and PROXORM_REDIS_CLUSTER=host:port,...)',
      '!!!  Set REQUIRE_REDIS=1 to make this a hard failure instead.',
      bar,
      '',
    ].join('\n') + '\n',
  );
}

export function tearDownRedis(): void {
  const started = (process.env.PROXORM_REDIS_STARTED ?? '').split(',');
  delete process.env.PROXORM_REDIS_STARTED;
  for (const [name, sub] of [
    ['single', 'stop'],
    ['cluster', 'stop-cluster'],
  ] as const) {
    if (!started.includes(name)) continue;
    try {
      redisScript(sub);
    } catch (err) {
      process.stderr.write(`global-teardown: scripts/redis.sh ${sub} failed: ${reasonOf(err)}\n`);
    }
  }
}
