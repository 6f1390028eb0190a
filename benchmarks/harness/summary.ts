/**
 * `ts-node benchmarks/harness/summary.ts benchmarks/results/<db>-<date>.json`: the results
 * as one Markdown table (contenders x workloads, median ms and statement count), the
 * form README shows.
 */
import { readFileSync } from 'node:fs';
import type { Cell, Results } from './report';
import type { WorkloadId } from './types';

const results = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Results;
const workloads = Object.keys(results.cells) as WorkloadId[];
const fmt = (c: Cell | string | undefined) =>
  c === undefined
    ? '–'
    : typeof c === 'string'
      ? 'failed'
      : `${c.medianMs >= 10 ? c.medianMs.toFixed(0) : c.medianMs.toFixed(1)} (${c.queries})`;
console.log(`| contender | ${workloads.map((w) => `(${w})`).join(' | ')} |`);
console.log(`| --- | ${workloads.map(() => '---:').join(' | ')} |`);
for (const name of results.contenders) {
  const cells =
    results.unavailable?.[name] !== undefined
      ? workloads.map(() => 'n/a')
      : workloads.map((w) => fmt(results.cells[w]?.[name]));
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
