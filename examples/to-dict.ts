/** Seed plan §2.2 case 3: toDict of all fields, and of the fields asked for only. */
import { counted, openSeeded, User, type Log } from './models';

export async function run(log: Log): Promise<void> {
  const root = await openSeeded();
  const env = root.fork({ prefetch: false });
  const user = env.model(User).browse(2);
  await counted(env, log, 'toDict(["name", "email"]) loads only those two fields', async () => {
    log(JSON.stringify(await user.toDict(['name', 'email'])));
  });
  await counted(env, log, 'toDict() then loads the rest', async () => log(JSON.stringify(await user.toDict())));
  await counted(env, log, 'toDict(["status"]): cached', async () => log(JSON.stringify(await user.toDict(['status']))));
  await root.close();
}

if (require.main === module) run(console.log).catch((e) => (console.error(e), process.exit(1)));
