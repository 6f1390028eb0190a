/**
 * The session's logical clock: changes take a new time (`tick`), loads and transaction
 * levels remember the time they started (`now`) and hold it while they run, so that
 * versions older than every holder can be forgotten (`horizon`).
 */
export class Clock {
  private time = 0;
  private readonly holders = new Map<number, number>();

  now(): number {
    return this.time;
  }

  tick(): number {
    return ++this.time;
  }

  hold(start: number): void {
    this.holders.set(start, (this.holders.get(start) ?? 0) + 1);
  }

  release(start: number): void {
    const n = (this.holders.get(start) ?? 1) - 1;
    if (n > 0) this.holders.set(start, n);
    else this.holders.delete(start);
  }

  /** Whether no load or transaction level is running (nothing a version stamp would fence). */
  idle(): boolean {
    return this.holders.size === 0;
  }

  /** No running load or transaction level started before this time. */
  horizon(): number {
    let min = this.time;
    for (const start of this.holders.keys()) if (start < min) min = start;
    return min;
  }
}
