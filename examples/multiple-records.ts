/** Seed plan §2.2 case 2: a loop over search results, naive and with explicit prefetch. */
import { counted, openSeeded, User, type Log } from './models';

export async function run(log: Log): Promise<void> {
  const root = await openSeeded();

  const naive = root.fork();
  await counted(naive, log, 'search age > 18 and read every name (automatic prefetch)', async () => {
    const users = await naive.model(User).search([['age', '>', 18]]);
    const names: string[] = [];
    for (const user of users) names.push(await user.name);
    log(`${names.length} users: ${names.slice(0, 3).join(', ')}, ...`);
  });

  const explicit = root.fork({ prefetch: false });
  await counted(explicit, log, 'the same with prefetch off but an explicit prefetch(["name"])', async () => {
    const users = await explicit.model(User).search([['age', '>', 18]]);
    await users.prefetch(['name']);
    let n = 0;
    for (const user of users) n += (await user.name).length > 0 ? 1 : 0;
    log(`${n} names read from the cache`);
  });

  const nPlusOne = root.fork({ prefetch: false });
  await counted(
    nPlusOne,
    log,
    'the same with prefetch off and no prefetch() (the N+1 the seed plan started from)',
    async () => {
      const users = await nPlusOne.model(User).search([['age', '>', 18]]);
      for (const user of users) await user.name;
    },
  );
  await root.close();
}

if (require.main === module) run(console.log).catch((e) => (console.error(e), process.exit(1)));
