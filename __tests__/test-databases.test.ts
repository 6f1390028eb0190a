import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { isSelected, selectedDatabases, TEST_DATABASES } from './helpers/selected-databases';
import { useWorkerDatabases, workerDatabaseName, workerDatabaseUrl } from './helpers/worker-databases';

/**
 * The test harness's own machinery: which databases a run selects, the databases each
 * jest worker tests on, and scripts/postgres.sh (the throwaway PostgreSQL the suites and
 * the fault suites start).
 */

describe('selected databases (PROXORM_TEST_DATABASES)', () => {
  it('selects every database when unset or empty', () => {
    expect(selectedDatabases({})).toEqual(['sqlite', 'mariadb', 'postgres']);
    expect(selectedDatabases({ PROXORM_TEST_DATABASES: ' , ' })).toEqual(TEST_DATABASES);
  });

  it('selects the named ones, in the harness order, each once', () => {
    expect(selectedDatabases({ PROXORM_TEST_DATABASES: 'postgres, sqlite,postgres' })).toEqual(['sqlite', 'postgres']);
    expect(selectedDatabases({ PROXORM_TEST_DATABASES: 'mariadb' })).toEqual(['mariadb']);
  });

  it('refuses an unknown name, naming it and the known ones', () => {
    expect(() => selectedDatabases({ PROXORM_TEST_DATABASES: 'sqlite,mysql' })).toThrow(
      'PROXORM_TEST_DATABASES names an unknown database "mysql" (known: sqlite, mariadb, postgres)',
    );
  });
});

describe('databases of the jest workers', () => {
  it('leaves worker 1 on the given database and moves worker N to <database>_wN on the same server', () => {
    const url = 'mysql://proxorm:secret@127.0.0.1:33306/proxorm_test?charset=utf8mb4';
    expect(workerDatabaseUrl(url, 1)).toBe(url);
    expect(workerDatabaseUrl(url, 2)).toBe('mysql://proxorm:secret@127.0.0.1:33306/proxorm_test_w2?charset=utf8mb4');
    expect(workerDatabaseUrl('postgres://postgres@127.0.0.1:5440/proxorm_test', 12)).toBe(
      'postgres://postgres@127.0.0.1:5440/proxorm_test_w12',
    );
    expect(workerDatabaseName('db', 3)).toBe('db_w3');
  });

  it('keeps a database name that needs escaping in the URL', () => {
    expect(workerDatabaseUrl('postgres://u@h:1/my%20db', 2)).toBe('postgres://u@h:1/my%20db_w2');
  });

  it('refuses a URL without a database rather than guessing one', () => {
    expect(() => workerDatabaseUrl('postgres://u@h:1/', 2)).toThrow('names no database');
  });

  it("points a worker's variables at its databases once, however often the environment is set up", () => {
    const env: NodeJS.ProcessEnv = {
      JEST_WORKER_ID: '3',
      PROXORM_MYSQL_URL: 'mysql://u:p@h:1/t',
      PROXORM_PG_URL: 'postgres://u@h:2/t',
      PROXORM_REDIS_URL: 'redis://h:3',
    };
    useWorkerDatabases(env);
    useWorkerDatabases(env);
    expect(env.PROXORM_MYSQL_URL).toBe('mysql://u:p@h:1/t_w3');
    expect(env.PROXORM_PG_URL).toBe('postgres://u@h:2/t_w3');
    expect(env.PROXORM_REDIS_URL).toBe('redis://h:3'); // Redis suites share a server under random prefixes
  });

  it("runs this file on its worker's databases", () => {
    const worker = Number(process.env.JEST_WORKER_ID ?? '1');
    // The test environment (jest.config.js) pointed this worker's variables at them.
    expect(process.env.PROXORM_WORKER_DATABASES).toBe(String(worker));
    for (const variable of ['PROXORM_MYSQL_URL', 'PROXORM_PG_URL']) {
      const url = process.env[variable];
      if (!url) continue;
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      if (worker === 1) expect(name).not.toMatch(/_w\d+$/);
      else expect(name).toMatch(new RegExp(`_w${worker}$`));
    }
  });
});

const SCRIPT = path.join(__dirname, '..', 'scripts', 'postgres.sh');
/** A cluster of this file's own, so that killing it disturbs no other suite. */
const OWN = { PROXORM_PG_DIR: '/tmp/proxorm-pg-script-test', PROXORM_PG_PORT: '5449' };
const installed = fs.existsSync('/usr/lib/postgresql') && fs.readdirSync('/usr/lib/postgresql').length > 0;

/** Runs `bash scripts/postgres.sh sub`; its stdout, or the exit status when it fails. */
function script(sub: string): { stdout: string; status: number } {
  try {
    const stdout = execFileSync('bash', [SCRIPT, sub], {
      env: { ...process.env, ...OWN },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    return { stdout, status: 0 };
  } catch (err) {
    const e = err as { status?: number; stdout?: string };
    return { stdout: e.stdout ?? '', status: e.status ?? -1 };
  }
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

if (!isSelected('postgres')) {
  // PROXORM_TEST_DATABASES leaves PostgreSQL out: nothing of it is tested.
} else if (!installed && process.env.REQUIRE_PG !== '1') {
  console.warn(
    '!!! NOT RUN: scripts/postgres.sh: PostgreSQL is not installed (run "bash scripts/postgres.sh install")',
  );
} else {
  describe('scripts/postgres.sh', () => {
    const url = `postgres://postgres@127.0.0.1:${OWN.PROXORM_PG_PORT}/proxorm_test`;

    beforeAll(() => {
      script('stop');
      fs.rmSync(OWN.PROXORM_PG_DIR, { recursive: true, force: true });
    }, 120_000);
    afterAll(() => {
      script('stop');
      fs.rmSync(OWN.PROXORM_PG_DIR, { recursive: true, force: true });
    }, 120_000);

    it('starts a fresh cluster and prints only its URL on stdout, then again when it is running', async () => {
      expect(script('status').status).toBe(1);
      expect(script('start')).toEqual({ stdout: `${url}\n`, status: 0 });
      expect(script('start')).toEqual({ stdout: `${url}\n`, status: 0 });
      expect(script('url')).toEqual({ stdout: `${url}\n`, status: 0 });
      expect(script('status').status).toBe(0);
      const client = await connect(url);
      try {
        const { rows } = await client.query<{ collate: string; encoding: string; second: string }>(
          'SELECT datcollate AS collate, pg_encoding_to_char(encoding) AS encoding, ' +
            "(SELECT datname FROM pg_database WHERE datname = 'proxorm_test_2') AS second " +
            'FROM pg_database WHERE datname = current_database()',
        );
        expect(rows).toEqual([{ collate: 'C.UTF-8', encoding: 'UTF8', second: 'proxorm_test_2' }]);
      } finally {
        await client.end();
      }
    }, 120_000);

    it('kill ends the server and its connections at once; restart brings it back with what was committed', async () => {
      expect(script('start').status).toBe(0);
      const setup = await connect(url);
      await setup.query(
        'DROP TABLE IF EXISTS script_kept; CREATE TABLE script_kept (v int); INSERT INTO script_kept VALUES (7)',
      );
      await setup.end();
      const victim = await connect(url);
      victim.on('error', () => {}); // the connection dies with the server
      const running = victim.query('SELECT pg_sleep(60)').then(
        () => null,
        (err: Error) => err,
      );
      expect(script('kill').status).toBe(0);
      expect(await running).toBeInstanceOf(Error);
      expect(script('status').status).toBe(1);
      expect(script('restart')).toEqual({ stdout: `${url}\n`, status: 0 });
      const again = await connect(url);
      try {
        expect((await again.query('SELECT v FROM script_kept')).rows).toEqual([{ v: 7 }]);
      } finally {
        await again.end();
      }
    }, 120_000);

    it('stop shuts it down, and stopping a stopped server is no error', () => {
      expect(script('start').status).toBe(0);
      expect(script('stop').status).toBe(0);
      expect(script('status').status).toBe(1);
      expect(script('stop').status).toBe(0);
    }, 120_000);
  });
}
