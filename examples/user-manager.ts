/** Seed plan scenario 1: UserManager.getUserDetails / updateUser. */
import type { Environment } from '../lib';
import { counted, openSeeded, User, type Log } from './models';

export class UserManager {
  constructor(private readonly env: Environment) {}

  async getUserDetails(userIds: readonly number[]) {
    const users = this.env.model(User).browse(userIds);
    await users.prefetch(['name', 'email', 'status']);
    const out = [];
    for (const user of users) out.push(await user.toDict(['name', 'email', 'status']));
    return out;
  }

  /** Write-through: the cache holds the new values afterwards, no invalidation needed. */
  async updateUser(userId: number, values: { name?: string; email?: string | null; status?: string }): Promise<void> {
    await this.env.model(User).browse(userId).write(values);
  }
}

export async function run(log: Log): Promise<void> {
  const root = await openSeeded();
  const env = root.fork();
  const manager = new UserManager(env);
  const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const details = await counted(env, log, 'getUserDetails of 10 users', () => manager.getUserDetails(ids));
  log(`user 3: ${JSON.stringify(details[2])}`);
  await counted(env, log, 'updateUser(3, { status: "vip" })', () => manager.updateUser(3, { status: 'vip' }));
  const again = await counted(env, log, 'getUserDetails again', () => manager.getUserDetails(ids));
  log(`user 3: ${JSON.stringify(again[2])}`);
  await root.close();
}

if (require.main === module) run(console.log).catch((e) => (console.error(e), process.exit(1)));
