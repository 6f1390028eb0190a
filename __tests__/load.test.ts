import { runLoad } from '../benchmarks/load';
import { describeEachDatabase } from './helpers/databases';

// The short version of benchmarks/load.ts (npm run load): 100 concurrent forks on one
// pool, mixed reads and read-modify-write transactions, 6 operations each (a count, not a
// duration: how fast it runs is for the benchmark, not for a test).
describeEachDatabase('load', (db) => {
  it('100 concurrent forks: no errors, no lost update, no stale own read', async () => {
    const env = await db.open();
    try {
      const result = await runLoad(env, { workers: 100, durationMs: 50_000, operationsPerWorker: 6 });
      console.log(
        `${db.name}: ${result.operations} operations, ${result.increments} increments, ${result.queries} queries`,
      );
      expect(result.errors).toEqual([]);
      expect(result.lostUpdates).toBe(0);
      expect(result.staleOwnReads).toBe(0);
      expect(result.operations).toBe(600);
      expect(result.increments).toBeGreaterThan(100);
    } finally {
      await env.close();
    }
  }, 60_000);
});
