/**
 * The benchmark suite: proxorm (automatic prefetch, prefetch off, explicit prefetch()),
 * hand-written knex, and the peer ORMs in benchmarks/peers/, on the same seeded data,
 * through the same workloads (harness/types.ts), interleaved in rounds.
 *
 *   npm run bench                                  # embedded SQLite, every contender
 *   npm run bench -- --db mysql [--mysql-url URL]  # MariaDB (started by scripts/mariadb.sh)
 *   npm run bench -- --db postgres [--pg-url URL]  # PostgreSQL: URL, else PROXORM_PG_URL, else
 *                                                  # postgres://postgres@127.0.0.1:5432/proxorm_bench
 *   npm run bench -- --short                       # proxorm and knex only, 2 rounds (npm start)
 *   options: --rounds N (5)  --iterations N (3)  --only name,name  --no-save
 *
 * Timing: tinybench, one Bench per (round, workload) with every contender's task, so
 * machine noise hits every contender alike; medians and quartiles over all rounds.
 * Query counts: one untimed pass per (contender, workload), counted by the drivers
 * (SQLite, PostgreSQL) or by the server's Questions counter (MariaDB): see
 * harness/count-queries.ts.
 * A contender whose library does not support the database is listed as "not available"
 * (harness/types.ts, NotAvailableError); one that fails to set up, as "not run".
 * Output: a table on stdout, and benchmarks/results/<db>-<date>.{json,md,svg}.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bench } from 'tinybench';
import { patchPgDriver, patchSqliteDrivers, queryCounter } from './harness/count-queries';
import { markdown, quantile, svgChart, type Cell, type Results } from './harness/report';
import { resetAges, seed } from './harness/seed';
import { openPostgres } from './harness/postgres';
import {
  NotAvailableError,
  WORKLOADS,
  type BenchDb,
  type Contender,
  type ContenderModule,
  type DbKind,
  type WorkloadId,
} from './harness/types';

const MODULES = [
  './contenders/proxorm',
  './contenders/knex',
  './peers/typeorm',
  './peers/mikroorm',
  './peers/sequelize',
  './peers/objection',
  './peers/drizzle',
];
const SHORT_MODULES = ['./contenders/proxorm', './contenders/knex'];
const REFERENCE = 'hand-written knex';

interface Args {
  db: DbKind;
  mysqlUrl?: string;
  pgUrl?: string;
  rounds: number;
  iterations: number;
  short: boolean;
  only?: string[];
  save: boolean;
}

function parseArgs(argv: string[]): Args {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const short = argv.includes('--short');
  const db = value('--db') ?? 'sqlite';
  if (db !== 'sqlite' && db !== 'mysql' && db !== 'postgres')
    throw new Error(`--db must be sqlite, mysql or postgres, got ${db}`);
  const int = (flag: string, fallback: number) => {
    const v = Number(value(flag) ?? fallback);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} must be a positive integer`);
    return v;
  };
  return {
    db,
    mysqlUrl: value('--mysql-url'),
    pgUrl: value('--pg-url'),
    short,
    save: !argv.includes('--no-save'),
    rounds: int('--rounds', short ? 2 : 5),
    iterations: int('--iterations', short ? 2 : 3),
    only: value('--only')
      ?.split(',')
      .map((s) => s.trim()),
  };
}

async function openDb(args: Args): Promise<{ db: BenchDb; label: string; cleanup: () => void }> {
  if (args.db === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'proxorm-bench-'));
    return {
      db: { kind: 'sqlite', sqliteFile: path.join(dir, 'bench.db') },
      label: 'SQLite (better-sqlite3 / sqlite3), file',
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (args.db === 'postgres') {
    const { db, version } = await openPostgres(args.pgUrl ?? process.env.PROXORM_PG_URL);
    return { db, label: `PostgreSQL ${version} over TCP on ${db.pg!.host}`, cleanup: () => {} };
  }
  let url = args.mysqlUrl ?? process.env.PROXORM_MYSQL_URL;
  let stop = () => {};
  if (!url) {
    const script = path.join(__dirname, '..', 'scripts', 'mariadb.sh');
    url = execFileSync('bash', [script, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
      .trim()
      .split('\n')
      .pop()!;
    stop = () => execFileSync('bash', [script, 'stop'], { stdio: 'ignore' });
  }
  const u = new URL(url);
  const mysql = {
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
  };
  return { db: { kind: 'mysql', mysqlUrl: url, mysql }, label: 'MariaDB over TCP on 127.0.0.1', cleanup: stop };
}

interface Loaded {
  ready: Contender[];
  /** Module or contender name -> why it did not load or set up. */
  failed: Map<string, string>;
  /** Contender name -> why its library cannot run on this database. */
  unavailable: Map<string, string>;
  /** Names of the ready and unavailable contenders, in the order of MODULES. */
  order: string[];
}

async function loadContenders(args: Args, db: BenchDb): Promise<Loaded> {
  const ready: Contender[] = [];
  const failed = new Map<string, string>();
  const unavailable = new Map<string, string>();
  const order: string[] = [];
  for (const mod of args.short ? SHORT_MODULES : MODULES) {
    let list: Contender[];
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      list = (require(mod) as ContenderModule).contenders;
    } catch (e) {
      failed.set(mod, `cannot load: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    for (const c of list) {
      if (args.only && !args.only.some((o) => c.name.toLowerCase().includes(o.toLowerCase())) && c.name !== REFERENCE)
        continue;
      try {
        await c.setup(db);
        ready.push(c);
        order.push(c.name);
      } catch (e) {
        const why = (e as Error).message.split('\n')[0];
        if (e instanceof NotAvailableError) {
          unavailable.set(c.name, why);
          order.push(c.name);
        } else failed.set(c.name, `setup failed: ${why}`);
      }
    }
  }
  return { ready, failed, unavailable, order };
}

/** The function a workload's timed part runs, with its untimed preparation (d, e). */
function task(
  c: Contender,
  w: WorkloadId,
  db: BenchDb,
): { prepare?: () => Promise<void>; run: () => Promise<number>; after?: () => Promise<void> } | undefined {
  if (w === 'd') {
    const d = c.workloads.d;
    if (!d) return undefined;
    let next: (() => Promise<number>) | undefined;
    return { prepare: async () => void (next = await d()), run: async () => next!() };
  }
  const fn = c.workloads[w];
  if (!fn) return undefined;
  return w === 'e' ? { run: fn, after: () => resetAges(db) } : { run: fn };
}

function progress(done: number, total: number, label: string): void {
  if (!process.stderr.isTTY && done !== total) return;
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round((done / total) * 100)).padStart(3)}% ${label.padEnd(48).slice(0, 48)}`,
  );
  if (done === total) process.stderr.write('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // Before any contender loads a driver.
  if (args.db === 'sqlite') patchSqliteDrivers();
  if (args.db === 'postgres') patchPgDriver();
  const { db, label, cleanup } = await openDb(args);
  try {
    await seed(db);
    const { ready, failed, unavailable, order } = await loadContenders(args, db);
    const counter = await queryCounter(db);
    const workloads = Object.keys(WORKLOADS) as WorkloadId[];
    const cells: Results['cells'] = {};
    const reference = new Map<WorkloadId, number>();
    const broken = new Map<string, string>(); // `${contender}\0${workload}` -> why

    // Untimed pass: checksums against hand-written knex, and statement counts.
    const queries = new Map<string, number>();
    for (const w of workloads) {
      for (const c of [...ready].sort((a, b) => Number(b.name === REFERENCE) - Number(a.name === REFERENCE))) {
        const t = task(c, w, db);
        if (!t) continue;
        const key = `${c.name}\u0000${w}`;
        try {
          await t.prepare?.();
          const before = await counter.read();
          const sum = await t.run();
          queries.set(key, (await counter.read()) - before);
          await t.after?.();
          if (c.name === REFERENCE) reference.set(w, sum);
          else if (reference.has(w) && sum !== reference.get(w))
            broken.set(key, `checksum ${sum} != ${reference.get(w)}`);
        } catch (e) {
          broken.set(key, (e as Error).message.split('\n')[0]);
          await t.after?.().catch(() => undefined);
        }
      }
    }

    // Timed rounds: per (round, workload) one tinybench Bench over every contender.
    const samples = new Map<string, number[]>();
    const total = args.rounds * workloads.length;
    let step = 0;
    for (let round = 0; round < args.rounds; round++) {
      for (const w of workloads) {
        progress(step++, total, `round ${round + 1}/${args.rounds} workload ${w}: ${WORKLOADS[w]}`);
        const bench = new Bench({
          iterations: args.iterations,
          time: 0,
          warmup: round === 0,
          warmupIterations: 1,
          warmupTime: 0,
          retainSamples: true,
          throws: false,
        });
        for (const c of ready) {
          const t = task(c, w, db);
          const key = `${c.name}\u0000${w}`;
          if (!t || broken.has(key)) continue;
          bench.add(c.name, t.run, {
            async: true,
            beforeEach: t.prepare ? async () => t.prepare!() : undefined,
            afterEach: t.after ? async () => t.after!() : undefined,
          });
        }
        await bench.run();
        for (const tk of bench.tasks) {
          const key = `${tk.name}\u0000${w}`;
          const r = tk.result;
          if (r.state === 'errored') broken.set(key, r.error.message.split('\n')[0]);
          else if ('latency' in r && r.latency.samples)
            samples.set(key, [...(samples.get(key) ?? []), ...r.latency.samples]);
        }
      }
    }
    progress(total, total, 'done');

    for (const w of workloads) {
      const row: Record<string, Cell | string> = {};
      for (const c of ready) {
        const key = `${c.name}\u0000${w}`;
        if (!task(c, w, db)) continue;
        const s = [...(samples.get(key) ?? [])].sort((a, b) => a - b);
        row[c.name] = broken.get(key) ?? {
          medianMs: quantile(s, 0.5),
          p25Ms: quantile(s, 0.25),
          p75Ms: quantile(s, 0.75),
          samples: s.length,
          queries: queries.get(key) ?? NaN,
        };
      }
      cells[w] = row;
    }
    const date = new Date().toISOString().slice(0, 10);
    const results: Results = {
      db: label,
      date,
      machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${os.platform()}`,
      rounds: args.rounds,
      contenders: order,
      cells,
      ...(unavailable.size > 0 ? { unavailable: Object.fromEntries(unavailable) } : {}),
    };
    const md = markdown(results);
    console.log(`\n${results.db} — ${results.machine} — ${args.rounds} rounds x ${args.iterations} iterations\n`);
    console.log(md);
    for (const [name, why] of unavailable) console.log(`not available: ${name}: ${why}`);
    for (const [name, why] of failed) console.log(`not run: ${name}: ${why}`);
    if (args.save && !args.short) {
      const dir = path.join(__dirname, 'results');
      mkdirSync(dir, { recursive: true });
      const base = path.join(dir, `${db.kind}-${date}`);
      writeFileSync(`${base}.json`, `${JSON.stringify({ ...results, failed: Object.fromEntries(failed) }, null, 2)}\n`);
      writeFileSync(`${base}.md`, `${results.db} — ${results.machine}\n\n${md}`);
      writeFileSync(`${base}.svg`, svgChart(results));
      writeFileSync(path.join(dir, `latest-${db.kind}.svg`), svgChart(results));
      console.log(`saved ${base}.{json,md,svg}`);
    }
    await counter.close();
    for (const c of ready) await c.teardown().catch(() => undefined);
  } finally {
    cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
