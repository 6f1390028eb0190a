/**
 * How a naive loop's cost per record grows with the prefetch set: search N records,
 * then `for (const r of records) await r.qty` (automatic prefetch: one statement per
 * 1,000 records), for N = 1k, 10k, 100k and 1M, on embedded SQLite in memory. The goal
 * (issue 9): the cost per record stays within 1.5x from 1k to 1M, i.e. a loop is O(N).
 * Each size runs `--rounds` times on a fresh fork (empty cache); the median is kept.
 *
 *   npm run bench:scale
 *   npm run bench:scale -- --rounds 5 --max 100000
 */
import 'reflect-metadata';
import os from 'node:os';
import { BaseModel, Environment, Field, Model } from '../lib';

@Model('scale_item')
class Item extends BaseModel {
  @Field() name!: string;
  @Field.integer() qty!: number | null;
}

function arg(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const rounds = arg('--rounds', 3);
  const max = arg('--max', 1_000_000);
  const sizes = [1_000, 10_000, 100_000, 1_000_000].filter((n) => n <= max);
  const env = await Environment.open();
  await env.sync();
  // Rows are inserted by SQLite itself: a million creates would measure something else.
  await env.knex.raw(
    `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${max}) INSERT INTO scale_item (name, qty) SELECT 'name-' || i, i FROM s`,
  );
  console.log(
    `naive loop, one integer field, SQLite in memory; ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, node ${process.version}`,
  );
  const rows: Array<{ n: number; usPerRecord: number; queries: number }> = [];
  for (const n of sizes) {
    const times: number[] = [];
    let queries = 0;
    for (let r = 0; r < rounds; r++) {
      const work = env.fork();
      const records = await work.model(Item).search([['id', '<=', n]], { order: 'id' });
      const t0 = process.hrtime.bigint();
      let sum = 0;
      for (const rec of records) sum += (await rec.qty) ?? 0;
      times.push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
      queries = work.stats.queries - 1;
      if (sum !== (n * (n + 1)) / 2) throw new Error(`checksum mismatch at N=${n}`);
      await work.close();
    }
    rows.push({ n, usPerRecord: median(times), queries });
  }
  console.log('| records | µs per record (median) | load statements | vs 1k |');
  console.log('|---:|---:|---:|---:|');
  for (const row of rows) {
    console.log(
      `| ${row.n.toLocaleString('en')} | ${row.usPerRecord.toFixed(2)} | ${row.queries} | ${(row.usPerRecord / rows[0].usPerRecord).toFixed(2)}x |`,
    );
  }
  const worst = Math.max(...rows.map((r) => r.usPerRecord / rows[0].usPerRecord));
  console.log(
    `goal: within 1.5x of the 1k cost per record at every size: ${worst <= 1.5 ? 'met' : 'MISSED'} (worst ${worst.toFixed(2)}x)`,
  );
  await env.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
