/**
 * The shared cache (L2) under load: 4 reader processes serve "requests" (each a fresh
 * fork reading two fields of one random record of a 2,000-record hot set) for a fixed
 * time, while a writer process commits an update of one random hot record at a fixed
 * rate. Run twice: through L2 on a Redis server, and with L2 off (straight from MariaDB).
 * L2 is warmed with the hot set first. Reports, per mode: requests, hit ratio (requests that sent no SQL), median and p99
 * latency per request, and the invalidation latency each reader measured
 * (env.stats.cache.l2.invalidationLatency: the median of the readers' p50s, the largest
 * of their p99s).
 *
 *   npm run bench:cache
 *   npm run bench:cache -- --seconds 10 --rate 20
 *
 * MariaDB: PROXORM_MYSQL_URL, or a throwaway server (scripts/mariadb.sh). Redis:
 * PROXORM_REDIS_URL, or scripts/redis.sh (its PROXORM_REDIS_PORT / _DIR), stopped after
 * if this run started it.
 */
import 'reflect-metadata';
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { BaseModel, Environment, Field, Model, type EnvironmentConfig, type SharedCacheOption } from '../lib';

@Model('cache_bench_item')
class Item extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
  @Field.integer() qty!: number;
}

const HOT = 2_000;
const READERS = 4;

function arg(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** What the parent tells a child (argv[2], JSON). */
interface ChildSetup {
  role: 'reader' | 'writer';
  config: EnvironmentConfig;
  shared: SharedCacheOption | undefined;
  ids: number[];
  seconds: number;
  rate: number;
}

interface ReaderResult {
  latenciesMs: number[];
  hits: number;
  invalidation: { count: number; p50Ms: number; p99Ms: number } | undefined;
}

const pick = (ids: readonly number[]) => ids[Math.floor(Math.random() * ids.length)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function openChild(setup: ChildSetup): Promise<Environment> {
  return Environment.open({
    ...setup.config,
    models: [Item],
    ...(setup.shared !== undefined && { cache: { shared: setup.shared } }),
  });
}

async function reader(setup: ChildSetup): Promise<ReaderResult> {
  const env = await openChild(setup);
  await waitForGo();
  const latenciesMs: number[] = [];
  let hits = 0;
  const end = Date.now() + setup.seconds * 1000;
  while (Date.now() < end) {
    const t0 = process.hrtime.bigint();
    const request = env.fork();
    const record = request.model(Item).browse(pick(setup.ids));
    await record.name;
    await record.qty;
    latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (request.stats.queries === 0) hits++;
  }
  const latency = env.stats.cache.l2?.invalidationLatency;
  await env.close();
  return { latenciesMs, hits, invalidation: latency };
}

async function writer(setup: ChildSetup): Promise<number> {
  const env = await openChild(setup);
  await waitForGo();
  let commits = 0;
  const period = 1000 / setup.rate;
  const start = Date.now();
  const end = start + setup.seconds * 1000;
  while (Date.now() < end) {
    await env
      .fork()
      .model(Item)
      .browse(pick(setup.ids))
      .write({ name: `w${++commits}` });
    const next = start + commits * period;
    if (next > Date.now()) await sleep(next - Date.now());
  }
  await env.close();
  return commits;
}

function waitForGo(): Promise<void> {
  return new Promise((resolve) => {
    process.send!('ready');
    process.once('message', () => resolve());
  });
}

/** Starts the children, releases them together once all are ready, and collects their results. */
async function runMode(base: Omit<ChildSetup, 'role'>): Promise<{ readers: ReaderResult[]; commits: number }> {
  const roles: ChildSetup['role'][] = [...Array<'reader'>(READERS).fill('reader'), 'writer'];
  const children: ChildProcess[] = roles.map((role) =>
    fork(__filename, [JSON.stringify({ ...base, role })], { execArgv: ['-r', 'ts-node/register/transpile-only'] }),
  );
  const results = children.map(
    (child) =>
      new Promise<unknown>((resolve, reject) => {
        child.on('message', (m) => {
          if (m !== 'ready') resolve(m);
        });
        child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`child exited ${String(code)}`))));
      }),
  );
  await Promise.all(children.map((c) => new Promise<void>((r) => c.once('message', () => r()))));
  for (const c of children) c.send('go');
  const out = await Promise.all(results);
  return { readers: out.slice(0, READERS) as ReaderResult[], commits: out[READERS] as number };
}

/** Fills L2 with the hot set (one search, one load) before the readers start: the set is hot, not cold. */
async function warm(config: EnvironmentConfig, shared: SharedCacheOption): Promise<void> {
  const env = await Environment.open({ ...config, models: [Item], cache: { shared } });
  for (const record of await env.fork().model(Item).search([])) await record.qty;
  await env.close();
}

function serverUrl(script: string, envUrl: string | undefined): { url: string; stop: () => void } {
  if (envUrl) return { url: envUrl, stop: () => {} };
  const file = path.join(__dirname, '..', 'scripts', script);
  const run = (sub: string) =>
    execFileSync('bash', [file, sub], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  let running = true;
  try {
    run('status');
  } catch {
    running = false;
  }
  const url = run('start').trim().split('\n').pop()!;
  return { url, stop: running ? () => {} : () => void run('stop') };
}

const percentile = (sorted: readonly number[], q: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
const median = (xs: readonly number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

async function main(): Promise<void> {
  const seconds = arg('--seconds', 12);
  const rate = arg('--rate', 20);
  const mysql = serverUrl('mariadb.sh', process.env.PROXORM_MYSQL_URL);
  const redis = serverUrl('redis.sh', process.env.PROXORM_REDIS_URL);
  try {
    const config: EnvironmentConfig = { client: 'mysql2', connection: mysql.url };
    const root = await Environment.open({ ...config, models: [Item] });
    await root.sync();
    await root.knex('cache_bench_item').delete();
    const ids = [
      ...(await root.model(Item).create(Array.from({ length: HOT }, (_, i) => ({ name: `n${i}`, qty: i })))).ids,
    ];
    await root.close();

    console.log(
      `Shared cache under load: ${READERS} reader processes (a fresh fork per request, 2 fields of 1 of ${HOT.toLocaleString('en')} hot records), 1 writer committing ${rate}/s, ${seconds} s per mode; MariaDB and Redis on 127.0.0.1; ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, node ${process.version}`,
    );
    const rows: string[] = [];
    const modes: [string, SharedCacheOption | undefined][] = [
      ['L2 on (Redis)', { redis: redis.url, prefix: `bench${randomUUID().slice(0, 8)}` }],
      ['L2 off (MariaDB)', undefined],
    ];
    for (const [label, shared] of modes) {
      if (shared !== undefined) await warm(config, shared);
      const { readers, commits } = await runMode({ config, shared, ids, seconds, rate });
      const all = readers.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
      const hits = readers.reduce((n, r) => n + r.hits, 0);
      const inv = readers.flatMap((r) => (r.invalidation && r.invalidation.count > 0 ? [r.invalidation] : []));
      const invText =
        inv.length === 0
          ? '–'
          : `${median(inv.map((i) => i.p50Ms)).toFixed(2)} / ${Math.max(...inv.map((i) => i.p99Ms)).toFixed(2)}`;
      rows.push(
        `| ${label} | ${all.length.toLocaleString('en')} | ${((100 * hits) / all.length).toFixed(1)}% | ${percentile(all, 0.5).toFixed(2)} | ${percentile(all, 0.99).toFixed(2)} | ${commits} | ${invText} |`,
      );
    }
    console.log('| mode | requests | hit ratio | median ms | p99 ms | commits | invalidation p50 / p99 ms |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const row of rows) console.log(row);
  } finally {
    redis.stop();
    mysql.stop();
  }
}

const childSetup = process.argv[2];
if (childSetup !== undefined && process.send !== undefined) {
  const setup = JSON.parse(childSetup) as ChildSetup;
  (setup.role === 'reader' ? reader(setup) : writer(setup))
    .then((result) => process.send!(result, () => process.exit(0)))
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
} else {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
