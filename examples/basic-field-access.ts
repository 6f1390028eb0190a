/** Seed plan §2.2 case 1: the first read of a field queries, the next ones are cached. */
import { Environment } from '../lib';
import { counted, openSeeded, User, type Log } from './models';

export async function run(log: Log): Promise<void> {
  const root = await openSeeded();
  const env = root.fork(); // a fresh unit of work: empty cache
  Environment.setDefault(env);
  const user = User.browse(1);
  await counted(env, log, 'first read of user.name', async () => log(`name: ${await user.name}`));
  await counted(env, log, 'second read of user.name', async () => log(`name: ${await user.name}`));
  await counted(env, log, 'user.email (loaded with the first read)', async () => log(`email: ${await user.email}`));
  await root.close();
}

if (require.main === module) run(console.log).catch((e) => (console.error(e), process.exit(1)));
