import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import knexFactory from 'knex';
import { BaseModel, ConnectionError, Environment, Field, Model, QueryTimeoutError, ValidationError } from '../lib';
import { announceSkipped } from './helpers/databases';

/**
 * Faults on a MariaDB server of this file's own (scripts/mariadb.sh on another port), so
 * that stopping it does not disturb the other suites: the server stops mid-run, a
 * statement times out, a connection dies inside a transaction. Each gives a typed
 * error, the cache keeps nothing from the failed call, and once the server is back the
 * same Environment works again.
 */

@Model('fault_item')
class Item extends BaseModel {
  @Field() name!: string;
  @Field.integer() qty!: number | null;
}

const SCRIPT = path.join(__dirname, '..', 'scripts', 'mariadb.sh');
const SERVER = { ...process.env, PROXORM_MARIADB_DIR: '/tmp/proxorm-faults', PROXORM_MARIADB_PORT: '33317' };
const server = (cmd: 'start' | 'stop') =>
  execFileSync('bash', [SCRIPT, cmd], { env: SERVER, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .trim()
    .split('\n')
    .pop() ?? '';

if (!process.env.PROXORM_MYSQL_URL) announceSkipped('faults [mariadb]');
else
  describe('faults [mariadb]', () => {
    let url: string;
    let env: Environment;

    beforeAll(() => {
      url = server('start');
    }, 60_000);
    afterAll(() => {
      server('stop');
    }, 60_000);

    beforeEach(async () => {
      env = await Environment.open({ client: 'mysql2', connection: url, queryTimeout: 1000 });
      await env.knex.schema.dropTableIfExists('fault_item');
      await env.sync();
    });
    afterEach(async () => {
      await env.close();
    });

    it('the server stops mid-run: typed errors, nothing cached from the failed calls, then it works again', async () => {
      const items = await env
        .fork()
        .model(Item)
        .create([
          { name: 'a', qty: 1 },
          { name: 'b', qty: 2 },
        ]);
      const work = env.fork();
      const a = work.model(Item).browse(items.ids[0]);
      expect(await a.name).toBe('a'); // loads both fields of a
      server('stop');
      const b = work.model(Item).browse(items.ids[1]);
      await expect(b.name).rejects.toThrow(ConnectionError);
      await expect(a.write({ qty: 10 })).rejects.toThrow(ConnectionError);
      await expect(work.model(Item).search([])).rejects.toThrow(ConnectionError);
      expect(work.cache.has('fault_item', 'name', items.ids[1])).toBe(false);
      expect(await a.qty).toBe(1); // the failed write did not reach the cache
      server('start');
      // The same Environment, without a restart.
      expect(await b.name).toBe('b');
      await a.write({ qty: 10 });
      expect(await env.fork().model(Item).browse(a.id).qty).toBe(10);
    }, 60_000);

    it('a statement past queryTimeout is cancelled with QueryTimeoutError and changes nothing', async () => {
      const item = await env.model(Item).create({ name: 'locked', qty: 1 });
      const other = knexFactory({ client: 'mysql2', connection: url });
      try {
        const trx = await other.transaction();
        await trx.raw('SELECT * FROM fault_item WHERE id = ? FOR UPDATE', [item.id]); // hold the row lock
        const started = Date.now();
        await expect(item.write({ qty: 2 })).rejects.toThrow(QueryTimeoutError);
        expect(Date.now() - started).toBeLessThan(5000);
        await trx.rollback();
        expect(await item.qty).toBe(1);
        expect(await env.fork().model(Item).browse(item.id).qty).toBe(1);
        await item.write({ qty: 3 }); // the Environment still works
        expect(await env.fork().model(Item).browse(item.id).qty).toBe(3);
      } finally {
        await other.destroy();
      }
    }, 60_000);

    it('a connection killed inside a transaction: ConnectionError, rolled back, cache dropped, then it works again', async () => {
      const item = await env.model(Item).create({ name: 'x', qty: 1 });
      const killer = knexFactory({ client: 'mysql2', connection: url });
      try {
        await expect(
          env.transaction(async (tx) => {
            await item.write({ qty: 50 });
            expect(await item.qty).toBe(50);
            const [rows] = await tx.knex.raw('SELECT CONNECTION_ID() AS id');
            await killer.raw(`KILL ${Number(rows[0].id)}`);
            await item.write({ name: 'after kill' });
          }),
        ).rejects.toThrow(ConnectionError);
        // Nothing of the transaction reached the committed-state cache: it still serves 1.
        expect(await item.qty).toBe(1);
        expect(await item.name).toBe('x');
        await item.write({ qty: 7 });
        expect(await env.fork().model(Item).browse(item.id).qty).toBe(7);
      } finally {
        await killer.destroy();
      }
    }, 60_000);

    it('a bad queryTimeout is a ValidationError', async () => {
      await expect(Environment.open({ queryTimeout: -1 })).rejects.toThrow(ValidationError);
    });
  });
