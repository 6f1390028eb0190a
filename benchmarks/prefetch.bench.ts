/**
 * The N+1 benchmark: the same naive loop (search 1,000 users, read 3 fields of each)
 * with prefetch off, with an explicit prefetch() call, and with automatic prefetch.
 * Rounds are interleaved so that machine noise hits every mode alike; each round uses
 * a fresh fork (empty cache). Prints queries and median time per mode, and checks the
 * goals: automatic within 1.2x of explicit prefetch, at least 20x faster than N+1.
 *
 *   npm run bench:prefetch                    # embedded SQLite, in memory
 *   npm run bench:prefetch -- --file          # a SQLite file (each statement costs more)
 *   npm run bench:prefetch -- --db mysql --mysql-url mysql://user:pw@127.0.0.1:3306/db
 *   npm run bench:prefetch -- --rounds 50 --records 1000
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BaseModel, Environment, Field, Model, type RecordSet } from '../lib';

@Model('bench_user')
class User extends BaseModel {
  @Field() name!: string;
  @Field() email!: string;
  @Field() age!: number;
}

interface Args {
  db: 'sqlite' | 'mysql';
  file: boolean;
  mysqlUrl: string | undefined;
  rounds: number;
  records: number;
}

function parseArgs(argv: string[]): Args {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const db = get('--db') ?? 'sqlite';
  if (db !== 'sqlite' && db !== 'mysql') throw new Error(`--db must be sqlite or mysql, got ${db}`);
  return {
    db,
    file: argv.includes('--file'),
    mysqlUrl: get('--mysql-url') ?? process.env.PROXORM_MYSQL_URL,
    rounds: Number(get('--rounds') ?? 30),
    records: Number(get('--records') ?? 1000),
  };
}

type Mode = 'N+1 (prefetch off)' | 'explicit prefetch()' | 'automatic prefetch';

/** Each mode runs in a fresh fork (empty cache) with its own prefetch setting. */
const MODES: Record<Mode, { prefetch: boolean; run: (env: Environment) => Promise<void> }> = {
  'N+1 (prefetch off)': { prefetch: false, run: async (env) => loop(await env.model(User).search([])) },
  'explicit prefetch()': {
    prefetch: false,
    run: async (env) => {
      const users = await env.model(User).search([]);
      await users.prefetch(['name', 'email', 'age']);
      await loop(users);
    },
  },
  'automatic prefetch': { prefetch: true, run: async (env) => loop(await env.model(User).search([])) },
};

async function loop(users: RecordSet<User>): Promise<void> {
  let sink = 0;
  for (const u of users) {
    sink += (await u.name).length + (await u.email).length + (await u.age);
  }
  if (sink < 0) throw new Error('unreachable');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.db === 'mysql' && !args.mysqlUrl)
    throw new Error('--db mysql needs --mysql-url or PROXORM_MYSQL_URL (bash scripts/mariadb.sh start prints one)');
  const dir = args.file ? mkdtempSync(path.join(os.tmpdir(), 'proxorm-prefetch-')) : undefined;
  const env = await Environment.open(
    args.db === 'mysql'
      ? { client: 'mysql2', connection: args.mysqlUrl! }
      : { filename: dir ? path.join(dir, 'bench.db') : ':memory:' },
  );
  await env.knex.schema.dropTableIfExists('bench_user');
  await env.sync();
  await env.model(User).create(
    Array.from({ length: args.records }, (_, i) => ({
      name: `user ${i}`,
      email: `u${i}@example.com`,
      age: 18 + (i % 60),
    })),
  );

  const times = new Map<Mode, number[]>();
  const queries = new Map<Mode, number>();
  const modes = Object.keys(MODES) as Mode[];
  for (const mode of modes) await MODES[mode].run(env.fork({ prefetch: MODES[mode].prefetch })); // warm-up
  for (let r = 0; r < args.rounds; r++) {
    for (const mode of modes) {
      const fork = env.fork({ prefetch: MODES[mode].prefetch });
      const q0 = fork.stats.queries;
      const t0 = process.hrtime.bigint();
      await MODES[mode].run(fork);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      times.set(mode, [...(times.get(mode) ?? []), ms]);
      queries.set(mode, fork.stats.queries - q0);
    }
    process.stderr.write(`\rround ${r + 1}/${args.rounds}`);
  }
  process.stderr.write('\n');

  console.log(
    `\n${args.records} records, ${args.rounds} rounds, ${args.db}${args.db === 'sqlite' ? (dir ? ' (file)' : ' (in memory)') : ''}, node ${process.version}\n`,
  );
  console.log(
    `${'mode'.padEnd(22)} ${'queries'.padStart(8)} ${'median ms'.padStart(10)} ${'min ms'.padStart(8)} ${'max ms'.padStart(8)}`,
  );
  for (const mode of modes) {
    const t = times.get(mode)!;
    console.log(
      `${mode.padEnd(22)} ${String(queries.get(mode)).padStart(8)} ${median(t).toFixed(2).padStart(10)} ${Math.min(...t)
        .toFixed(2)
        .padStart(8)} ${Math.max(...t)
        .toFixed(2)
        .padStart(8)}`,
    );
  }
  const auto = median(times.get('automatic prefetch')!);
  const explicit = median(times.get('explicit prefetch()')!);
  const naive = median(times.get('N+1 (prefetch off)')!);
  const ratio = auto / explicit;
  const speedup = naive / auto;
  console.log(`\nautomatic / explicit = ${ratio.toFixed(2)}x (goal <= 1.2x): ${ratio <= 1.2 ? 'met' : 'MISSED'}`);
  console.log(`N+1 / automatic = ${speedup.toFixed(1)}x (goal >= 20x): ${speedup >= 20 ? 'met' : 'MISSED'}`);
  await env.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
