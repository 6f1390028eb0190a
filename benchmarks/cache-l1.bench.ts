/**
 * L1's size cap keeps memory flat over a long scan: one Environment reads two fields of
 * 1M records (`for (const r of records) { await r.name; await r.qty }`, automatic
 * prefetch) on embedded SQLite in memory, once with `cache: { maxRecords: 10_000 }` and
 * once with no cap. The heap in use (after a full GC) is sampled every 100k records;
 * the search's key list (1M keys) is held in both runs. Also times the loop per record.
 *
 *   npm run bench:cache-l1
 *   npm run bench:cache-l1 -- --max 200000 --cap 5000
 */
import 'reflect-metadata';
import os from 'node:os';
import { BaseModel, Environment, Field, Model } from '../lib';

@Model('l1_bench_item')
class Item extends BaseModel {
  @Field() name!: string;
  @Field.integer() qty!: number | null;
}

function arg(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const gc = (globalThis as { gc?: () => void }).gc;
const heapMb = () => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

async function scan(
  env: Environment,
  max: number,
): Promise<{ samples: number[]; usPerRecord: number; queries: number }> {
  const records = await env.model(Item).search([], { order: 'id' });
  const samples = [heapMb()];
  const t0 = process.hrtime.bigint();
  let paused = 0n;
  let i = 0;
  let sum = 0;
  for (const r of records) {
    await r.name;
    sum += (await r.qty) ?? 0;
    if (++i % 100_000 === 0) {
      const p0 = process.hrtime.bigint();
      samples.push(heapMb());
      paused += process.hrtime.bigint() - p0;
    }
  }
  const elapsed = Number(process.hrtime.bigint() - t0 - paused) / 1e3;
  if (sum !== (max * (max + 1)) / 2) throw new Error('checksum mismatch');
  return { samples, usPerRecord: elapsed / max, queries: env.stats.queries };
}

async function main(): Promise<void> {
  const max = arg('--max', 1_000_000);
  const cap = arg('--cap', 10_000);
  if (!gc) console.log('(run with node --expose-gc for steady numbers: npm run bench:cache-l1 does)');
  console.log(
    `L1 size cap over a ${max.toLocaleString('en')}-record scan, SQLite in memory; ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, node ${process.version}`,
  );
  const results: Array<{ label: string; samples: number[]; usPerRecord: number; queries: number }> = [];
  for (const [label, cache] of [
    [`maxRecords ${cap.toLocaleString('en')}`, { maxRecords: cap }],
    ['no cap', {}],
  ] as const) {
    const env = await Environment.open({ cache, models: [Item] });
    await env.sync();
    // Rows are inserted by SQLite itself: a million creates would measure something else.
    await env.knex.raw(
      `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${max}) INSERT INTO l1_bench_item (name, qty) SELECT 'name-' || i, i FROM s`,
    );
    env.resetStats();
    results.push({ label, ...(await scan(env, max)) });
    await env.close();
  }
  const header = results[0].samples.map((_, i) => (i === 0 ? 'start' : `${(i * 100).toLocaleString('en')}k`));
  console.log(`| cache | ${header.join(' | ')} | µs/record | statements |`);
  console.log(`|---|${header.map(() => '---:').join('|')}|---:|---:|`);
  for (const r of results)
    console.log(
      `| ${r.label} | ${r.samples.map((m) => m.toFixed(0)).join(' | ')} | ${r.usPerRecord.toFixed(2)} | ${r.queries} |`,
    );
  console.log('(heap in use in MB after a full GC, sampled every 100k records)');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
