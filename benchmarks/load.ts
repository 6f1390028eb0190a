/**
 * Load: many concurrent forks (one per simulated request) on one pool doing mixed reads
 * and writes for a bounded time, then a check that nothing was lost.
 *
 * Each worker owns a slice of the accounts and increments them (read the balance
 * through its own cache, write balance + 1 in a transaction) while it also searches
 * and reads accounts of the others. Afterwards every account's balance in the database
 * must equal the increments its owner made (no lost update), and every worker's cache
 * must agree with the database for the accounts it wrote (no stale own write).
 *
 *   npm run load -- [--db mysql] [--mysql-url URL] [--workers 100] [--seconds 10]
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { BaseModel, Environment, Field, Model } from '../lib';

@Model('load_account')
export class Account extends BaseModel {
  @Field() owner!: number;
  @Field() balance!: number;
  @Field.string() note!: string | null;
}

export interface LoadResult {
  workers: number;
  seconds: number;
  operations: number;
  increments: number;
  reads: number;
  searches: number;
  errors: string[];
  lostUpdates: number;
  staleOwnReads: number;
  queries: number;
}

/** Runs the load on an open root Environment whose database it may reset. */
export async function runLoad(
  env: Environment,
  /** Each worker runs until `durationMs` passed, or (when given) `operationsPerWorker` operations. */
  options: { workers: number; durationMs: number; accountsPerWorker?: number; operationsPerWorker?: number },
): Promise<LoadResult> {
  const { workers, durationMs } = options;
  const maxOps = options.operationsPerWorker ?? Infinity;
  const per = options.accountsPerWorker ?? 3;
  await env.knex.schema.dropTableIfExists('load_account');
  await env.sync();
  const accounts = await env
    .model(Account)
    .create(Array.from({ length: workers * per }, (_, i) => ({ owner: Math.floor(i / per), balance: 0, note: null })));
  const ids = accounts.ids;
  const done = new Map<number, number>(); // account -> increments made by its owner
  const result: LoadResult = {
    workers,
    seconds: durationMs / 1000,
    operations: 0,
    increments: 0,
    reads: 0,
    searches: 0,
    errors: [],
    lostUpdates: 0,
    staleOwnReads: 0,
    queries: 0,
  };
  const deadline = Date.now() + durationMs;
  const forks: Environment[] = [];
  let seed = 1234567;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

  const worker = async (w: number) => {
    const fork = env.fork();
    forks.push(fork);
    const mine = ids.slice(w * per, (w + 1) * per);
    for (let op = 0; op < maxOps && Date.now() < deadline; op++) {
      try {
        const r = random();
        if (r < 0.5) {
          const id = mine[Math.floor(random() * mine.length)];
          await fork.transaction(async () => {
            const acc = fork.model(Account).browse(id);
            const balance = await acc.balance;
            await acc.write({ balance: balance + 1, note: `w${w}` });
          });
          done.set(id, (done.get(id) ?? 0) + 1);
          result.increments++;
        } else if (r < 0.8) {
          const other = fork.model(Account).browse(ids[Math.floor(random() * ids.length)]);
          await other.balance;
          await other.note;
          result.reads++;
        } else {
          const found = await fork.model(Account).search([['owner', '=', Math.floor(random() * workers)]]);
          for (const a of found) await a.balance;
          result.searches++;
        }
        result.operations++;
      } catch (e) {
        result.errors.push(`worker ${w}: ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));

  const rows = await env.knex('load_account').select('id', 'balance');
  for (const row of rows) if (Number(row.balance) !== (done.get(Number(row.id)) ?? 0)) result.lostUpdates++;
  for (let w = 0; w < workers; w++) {
    const fork = forks[w];
    for (const id of ids.slice(w * per, (w + 1) * per)) {
      if (!fork.cache.has('load_account', 'balance', id)) continue;
      if ((await fork.model(Account).browse(id).balance) !== (done.get(id) ?? 0)) result.staleOwnReads++;
    }
  }
  result.queries = forks.reduce((sum, f) => sum + f.stats.queries, 0);
  return result;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const value = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const db = value('--db') ?? 'mysql';
  let url = value('--mysql-url') ?? process.env.PROXORM_MYSQL_URL;
  if (db === 'mysql' && !url) {
    url = execFileSync('bash', [path.join(__dirname, '..', 'scripts', 'mariadb.sh'), 'start'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    })
      .trim()
      .split('\n')
      .pop();
  }
  const env = await Environment.open(db === 'mysql' ? { client: 'mysql2', connection: url!, poolMax: 10 } : {});
  const result = await runLoad(env, {
    workers: Number(value('--workers') ?? 100),
    durationMs: Number(value('--seconds') ?? 10) * 1000,
  });
  console.log(
    JSON.stringify({ ...result, errors: result.errors.slice(0, 10), errorCount: result.errors.length }, null, 2),
  );
  console.log(
    `${result.operations} operations (${(result.operations / result.seconds).toFixed(0)}/s) by ${result.workers} forks; ` +
      `${result.errors.length} errors, ${result.lostUpdates} lost updates, ${result.staleOwnReads} stale own reads`,
  );
  await env.close();
  if (result.errors.length || result.lostUpdates || result.staleOwnReads) process.exit(1);
}

if (require.main === module) main().catch((e) => (console.error(e), process.exit(1)));
