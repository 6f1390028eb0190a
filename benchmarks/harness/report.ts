import type { WorkloadId } from './types';
import { WORKLOADS } from './types';

/** Results of one contender on one workload. */
export interface Cell {
  readonly medianMs: number;
  readonly p25Ms: number;
  readonly p75Ms: number;
  readonly samples: number;
  readonly queries: number;
}

export interface Results {
  readonly db: string;
  readonly date: string;
  readonly machine: string;
  readonly rounds: number;
  readonly contenders: string[];
  /** workload -> contender -> cell (absent: the contender does not run it; string: it failed). */
  readonly cells: Partial<Record<WorkloadId, Record<string, Cell | string>>>;
  /** Contender -> why its library cannot run on this database (it has no cells). */
  readonly unavailable?: Readonly<Record<string, string>>;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** The results as a Markdown table per workload: median (p25-p75) and queries. */
export function markdown(r: Results): string {
  const out: string[] = [];
  for (const w of Object.keys(r.cells) as WorkloadId[]) {
    out.push(
      `**(${w}) ${WORKLOADS[w]}**`,
      '',
      '| contender | median ms | p25–p75 ms | queries |',
      '| --- | ---: | ---: | ---: |',
    );
    for (const name of r.contenders) {
      const na = r.unavailable?.[name];
      if (na !== undefined) out.push(`| ${name} | not available | ${na.replace(/\|/g, '/').slice(0, 80)} | |`);
      const c = r.cells[w]?.[name];
      if (c === undefined) continue;
      if (typeof c === 'string') out.push(`| ${name} | failed | ${c.replace(/\|/g, '/').slice(0, 80)} | |`);
      else out.push(`| ${name} | ${fmt(c.medianMs)} | ${fmt(c.p25Ms)}–${fmt(c.p75Ms)} | ${c.queries} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

/**
 * A grouped horizontal bar chart (SVG, log scale): one group per workload, one bar per
 * contender, median time.
 */
export function svgChart(r: Results): string {
  const workloads = Object.keys(r.cells) as WorkloadId[];
  const names = r.contenders;
  const palette = [
    '#1b9e77',
    '#d95f02',
    '#7570b3',
    '#e7298a',
    '#66a61e',
    '#e6ab02',
    '#a6761d',
    '#666666',
    '#1f78b4',
    '#b2df8a',
    '#fb9a99',
    '#cab2d6',
    '#fdbf6f',
    '#6a3d9a',
  ];
  const bar = 12;
  const gap = 18;
  const left = 230;
  const width = 900;
  const plotW = width - left - 80;
  const all = workloads
    .flatMap((w) => names.map((n) => r.cells[w]?.[n]))
    .filter((c): c is Cell => typeof c === 'object');
  const max = Math.max(...all.map((c) => c.medianMs), 1);
  const min = Math.max(Math.min(...all.map((c) => c.medianMs)), 0.01);
  const lmin = Math.log10(min) - 0.1;
  const lmax = Math.log10(max) + 0.05;
  const x = (ms: number) => ((Math.log10(Math.max(ms, min)) - lmin) / (lmax - lmin)) * plotW;
  let y = 40;
  const parts: string[] = [];
  for (const w of workloads) {
    parts.push(`<text x="10" y="${y + 10}" font-weight="bold">(${w}) ${esc(WORKLOADS[w])}</text>`);
    y += 18;
    names.forEach((n, i) => {
      const na = r.unavailable?.[n] !== undefined;
      const c = r.cells[w]?.[n];
      if (c === undefined && !na) return;
      parts.push(`<text x="${left - 6}" y="${y + bar - 2}" text-anchor="end" font-size="11">${esc(n)}</text>`);
      if (c === undefined) {
        parts.push(`<text x="${left + 4}" y="${y + bar - 2}" font-size="11" fill="#666">not available</text>`);
      } else if (typeof c === 'string') {
        parts.push(`<text x="${left + 4}" y="${y + bar - 2}" font-size="11" fill="#b00">failed</text>`);
      } else {
        parts.push(
          `<rect x="${left}" y="${y}" width="${Math.max(1, x(c.medianMs)).toFixed(1)}" height="${bar}" fill="${palette[i % palette.length]}"/>`,
        );
        parts.push(
          `<text x="${left + x(c.medianMs) + 4}" y="${y + bar - 2}" font-size="10">${fmt(c.medianMs)} ms · ${c.queries} q</text>`,
        );
      }
      y += bar + 3;
    });
    y += gap;
  }
  const height = y + 20;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14">Median time per workload (log scale), ${esc(r.db)}, ${esc(r.date)}; q = SQL statements</text>`,
    ...parts,
    '</svg>',
  ].join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
