/** `env.stats.cache.l2.invalidationLatency`: how long other processes' invalidations took to apply here. */
export interface LatencySummary {
  /** Invalidations measured since the pool opened. */
  readonly count: number;
  /** Median and 99th percentile (ms) over the most recent RESERVOIR_SIZE of them; 0 when none. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The largest since the pool opened (ms). */
  readonly maxMs: number;
}

/** How many recent samples the percentiles are taken over: memory stays bounded on a long-lived pool. */
export const RESERVOIR_SIZE = 1024;

/** Latency samples in a ring of the most recent RESERVOIR_SIZE; percentiles are computed on snapshot. */
export class LatencyReservoir {
  private readonly ring: number[] = [];
  private next = 0;
  private count = 0;
  private max = 0;

  record(ms: number): void {
    const sample = Math.max(0, ms); // clocks of two processes: never report a negative delay
    if (this.ring.length < RESERVOIR_SIZE) this.ring.push(sample);
    else this.ring[this.next] = sample;
    this.next = (this.next + 1) % RESERVOIR_SIZE;
    this.count++;
    this.max = Math.max(this.max, sample);
  }

  snapshot(): LatencySummary {
    const sorted = [...this.ring].sort((a, b) => a - b);
    return { count: this.count, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), maxMs: this.max };
  }
}

/** Nearest-rank percentile of ascending `sorted` (0 when empty). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * Wall-clock milliseconds with sub-millisecond precision, comparable across the processes
 * of one machine (an invalidation's sender stamps it, its receivers subtract it).
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
