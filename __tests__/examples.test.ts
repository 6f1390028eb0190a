import { EXAMPLES } from '../examples';

/** Runs every example program and checks what it prints, query counts included. */
async function output(name: string): Promise<string[]> {
  const lines: string[] = [];
  await EXAMPLES[name].run((line) => lines.push(line));
  return lines;
}

describe('examples (embedded SQLite)', () => {
  it('lists exactly the example programs', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual([
      'basic-field-access',
      'chinook',
      'multiple-records',
      'process-orders',
      'prometheus',
      'to-dict',
      'user-manager',
    ]);
  });

  it('basic-field-access: one query for the first read, none after', async () => {
    expect(await output('basic-field-access')).toEqual([
      'name: User 0',
      '[first read of user.name] 1 query',
      'name: User 0',
      '[second read of user.name] 0 queries',
      'email: user0@example.com',
      '[user.email (loaded with the first read)] 0 queries',
    ]);
  });

  it('multiple-records: 2 queries naive or explicit, 1 + N with prefetch off', async () => {
    const lines = await output('multiple-records');
    expect(lines[0]).toBe('46 users: User 4, User 5, User 6, ...');
    expect(lines).toContain('[search age > 18 and read every name (automatic prefetch)] 2 queries');
    expect(lines).toContain('[the same with prefetch off but an explicit prefetch(["name"])] 2 queries');
    expect(lines).toContain(
      '[the same with prefetch off and no prefetch() (the N+1 the seed plan started from)] 47 queries',
    );
  });

  it('prometheus: env.stats as metric lines, per level and model', async () => {
    const lines = await output('prometheus');
    expect(lines).toContain('proxorm_queries_total 2'); // the root's create and write
    // The first fork's load filled L2 (20 misses, 20 puts); the second fork read all 20 from it.
    expect(lines).toContain('proxorm_cache_hits_total{level="l2",model="user"} 20');
    expect(lines).toContain('proxorm_cache_misses_total{level="l2",model="user"} 20');
    expect(lines).toContain('proxorm_cache_puts_total{level="l2",model="user"} 20');
    expect(lines).toContain('proxorm_cache_invalidations_total{level="l2",model="user"} 1'); // the write
    expect(lines).toContain('proxorm_cache_invalidations_received_total{level="l2",model="user"} 0');
    expect(lines.filter((l) => l.includes('level="l1"') && l.includes('invalidations_received'))).toEqual([]);
  });

  it('to-dict: loads only the asked fields, then the rest', async () => {
    expect(await output('to-dict')).toEqual([
      '{"name":"User 1","email":"user1@example.com"}',
      '[toDict(["name", "email"]) loads only those two fields] 1 query',
      '{"name":"User 1","email":"user1@example.com","age":16,"status":"active"}',
      '[toDict() then loads the rest] 1 query',
      '{"status":"active"}',
      '[toDict(["status"]): cached] 0 queries',
    ]);
  });

  it('user-manager: details in 1 query, write-through update, details again from the cache', async () => {
    expect(await output('user-manager')).toEqual([
      '[getUserDetails of 10 users] 1 query',
      'user 3: {"name":"User 2","email":"user2@example.com","status":"active"}',
      '[updateUser(3, { status: "vip" })] 1 query',
      '[getUserDetails again] 0 queries',
      'user 3: {"name":"User 2","email":"user2@example.com","status":"vip"}',
    ]);
  });

  it('process-orders: 200 orders and their customers in 2 queries', async () => {
    const lines = await output('process-orders');
    expect(lines[0]).toBe('[processOrders over 200 orders] 2 queries');
    const counts = lines.slice(1).map((l) => Number(/: (\d+) big/.exec(l)![1]));
    expect(lines).toHaveLength(11);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(72);
  });

  it('chinook: an existing database mapped as it is, one statement per hop per 1,000 records', async () => {
    expect(await output('chinook')).toEqual([
      'sync() on the existing schema: 0 changes',
      '[sales by artist over all invoice lines] 11 queries',
      'top artists: Iron Maiden 138.60, U2 105.93, Metallica 90.09',
      '[employees, their manager, reports and customers] 4 queries',
      'Andrew Adams (General Manager) reports to -; 2 reports, 0 customers',
      'Nancy Edwards (Sales Manager) reports to Adams; 3 reports, 0 customers',
      'Jane Peacock (Sales Support Agent) reports to Edwards; 0 reports, 21 customers',
      'Margaret Park (Sales Support Agent) reports to Edwards; 0 reports, 20 customers',
      'Steve Johnson (Sales Support Agent) reports to Edwards; 0 reports, 18 customers',
      'Michael Mitchell (IT Manager) reports to Adams; 2 reports, 0 customers',
      'Robert King (IT Staff) reports to Mitchell; 0 reports, 0 customers',
      'Laura Callahan (IT Staff) reports to Mitchell; 0 reports, 0 customers',
      '[the Grunge playlist and its tracks] 3 queries',
      'Grunge: 15 tracks: Man In The Box, Smells Like Teen Spirit, In Bloom, ...',
    ]);
  });
});
