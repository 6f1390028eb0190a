import 'reflect-metadata';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  BaseModel,
  Environment,
  Field,
  ForeignKeyViolationError,
  Model,
  ValidationError,
  type LogOption,
  type RecordSet,
  type StatementEndEvent,
  type StatementStartEvent,
} from '../lib';
import { countQueries, describeEachDatabase, type TestDatabase } from './helpers/databases';

@Model('log_artist')
class LogArtist extends BaseModel {
  @Field() name!: string;
}

@Model('log_album')
class LogAlbum extends BaseModel {
  @Field() title!: string;
  @Field.many2one(() => LogArtist) artist!: LogArtist | null;
}

const MODELS = [LogArtist, LogAlbum];
/** A value no statement text contains: where it shows up, a bound value leaked. */
const SECRET = 'Zq-secret-value-4417';
const CONTROL = /^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT) -- /;

/** Empty tables for MODELS (on MariaDB: dropped and synced), then a pool opened with `log`. */
async function openLogged(db: TestDatabase, log: LogOption<Environment>): Promise<Environment> {
  await (await db.open({ models: MODELS })).close();
  const env = await Environment.open({ ...db.config, models: MODELS, log });
  await env.sync();
  return env;
}

/** Creates three artists (one statement: an INSERT), then drops the cache so reads load. */
async function seed(env: Environment): Promise<RecordSet<LogArtist>> {
  const artists = await env
    .model(LogArtist)
    .create([{ name: SECRET }, { name: `${SECRET}-b` }, { name: `${SECRET}-c` }]);
  env.clearCache();
  return artists;
}

/** Everything written to stderr while `fn` runs (and not passed on), split in lines. */
async function stderrOf(fn: () => Promise<void>): Promise<string[]> {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return chunks
    .join('')
    .split('\n')
    .filter((l) => l !== '');
}

describeEachDatabase('SQL logging', (db) => {
  let env: Environment | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  it('log: true prints one line per statement with rows and duration, never a bound value', async () => {
    let sent = 0;
    const syncLines = await stderrOf(async () => {
      env = await openLogged(db, true);
    });
    expect(syncLines.length).toBeGreaterThan(0); // sync's statements ('schema')
    const lines = await stderrOf(async () => {
      const before = env!.stats.queries;
      await seed(env!); // one INSERT, or one per row where the server's ids may not be consecutive
      const artists = await env!.model(LogArtist).search([['name', 'like', SECRET]]);
      const read = await countQueries(env!, async () => {
        for (const artist of artists) await artist.name; // one load for the three
      });
      expect(read).toBe(1);
      await artists.write({ name: `${SECRET}-new` });
      sent = env!.stats.queries - before;
    });
    const sql = lines.filter((l) => l.startsWith('proxorm:sql '));
    expect(sql).toEqual(lines); // nothing else went to stderr
    const statements = sql.map((l) => l.slice('proxorm:sql '.length));
    const queries = statements.filter((l) => !CONTROL.test(l));
    expect(queries).toHaveLength(sent); // one line per statement env.stats.queries counts
    for (const line of statements) {
      expect(line).not.toContain('Zq-secret');
      expect(line).toMatch(/ -- (?:(?:\d+ rows?|failed: \w+), )?\d+\.\d ms(?: \[trx \d+(?:, savepoint \d+)?\])?$/);
    }
    const inserts = queries.slice(0, sent - 3);
    expect(inserts.map((l) => Number(/^insert into .* -- (\d) rows?, /i.exec(l)?.[1])).reduce((a, b) => a + b, 0)).toBe(
      3,
    );
    expect(queries.slice(sent - 3)).toEqual([
      expect.stringMatching(/^select .* -- 3 rows, /i), // the search
      expect.stringMatching(/^select .* -- 3 rows, /i), // the load of the names
      expect.stringMatching(/^update .* -- 3 rows, /i),
    ]);
  });

  it('log: fn receives each line and its end event, for the forks of the pool too', async () => {
    const got: Array<{ line: string; event: StatementEndEvent<Environment> }> = [];
    env = await openLogged(db, (line, event) => got.push({ line, event }));
    const fork = env.fork();
    await seed(fork);
    got.length = 0;
    const before = fork.stats.queries;
    const artists = await fork.model(LogArtist).search([]);
    expect(fork.stats.queries - before).toBe(1);
    expect(got).toHaveLength(1);
    expect(got[0].line).toBe(`${got[0].event.sql} -- 3 rows, ${got[0].event.durationMs.toFixed(1)} ms`);
    expect(got[0].event).toMatchObject({ kind: 'query', rows: 3, depth: 0, transaction: undefined });
    expect(got[0].event.env).toBe(fork);
    expect(got[0].event).not.toHaveProperty('bindings');
    expect(artists.length).toBe(3);
  });

  it('env.on: a start and an end per statement, with duration, rows, and the transaction it ran in', async () => {
    env = await db.open({ models: MODELS });
    await seed(env);
    const starts: StatementStartEvent<Environment>[] = [];
    const ends: StatementEndEvent<Environment>[] = [];
    env.on('statement:start', (e) => starts.push(e));
    env.on('statement:end', (e) => ends.push(e));
    const before = env.stats.queries;
    const artists = await env.model(LogArtist).search([]);
    await env.transaction(async () => {
      await env!.model(LogArtist).search([['id', '=', artists.ids[0]]]);
    });
    expect(env.stats.queries - before).toBe(2);
    // PostgreSQL aborts a transaction on a failed statement: proxorm runs each of its
    // statements inside a transaction under a savepoint of its own (shown, not counted).
    const read: unknown[][] =
      db.name === 'postgres'
        ? [
            ['transaction', 'SAVEPOINT', undefined, 1],
            ['query', 'SELECT', 1, 1],
            ['transaction', 'RELEASE', undefined, 1],
          ]
        : [['query', 'SELECT', 1, 1]];
    expect(ends.map((e) => [e.kind, e.sql.split(' ')[0].toUpperCase(), e.rows, e.depth])).toEqual([
      ['query', 'SELECT', 3, 0],
      ['transaction', 'BEGIN', undefined, 1],
      ...read,
      ['transaction', 'COMMIT', undefined, 1],
    ]);
    expect(starts.map((e) => e.id)).toEqual(ends.map((e) => e.id));
    expect(new Set(ends.map((e) => e.id)).size).toBe(3 + read.length);
    for (const e of ends) {
      expect(e.durationMs).toBeGreaterThanOrEqual(0);
      expect(e.env).toBe(env);
      expect(e).not.toHaveProperty('error');
    }
    const inside = ends.findIndex((e, i) => i > 0 && e.kind === 'query');
    expect(ends[0].transaction).toBeUndefined();
    expect(ends[1].transaction).toEqual(expect.any(Number));
    expect(ends[inside].transaction).toBe(ends[1].transaction);
    expect(starts[inside]).toEqual({
      id: ends[inside].id,
      sql: ends[inside].sql,
      kind: 'query',
      env,
      transaction: ends[1].transaction,
      depth: 1,
    });
  });

  it('a failed statement ends with the class name of its error, and a rolled-back transaction with ROLLBACK', async () => {
    env = await db.open({ models: MODELS });
    const ends: StatementEndEvent<Environment>[] = [];
    env.on('statement:end', (e) => ends.push(e));
    const before = env.stats.queries;
    await expect(env.transaction(() => env!.model(LogAlbum).create({ title: SECRET, artist: 424242 }))).rejects.toThrow(
      ForeignKeyViolationError,
    );
    expect(env.stats.queries - before).toBe(1);
    const failed = ends.find((e) => e.kind === 'query');
    expect(failed).toMatchObject({ error: 'ForeignKeyViolationError', rows: undefined });
    expect(ends.map((e) => e.sql.replace(/ .*/s, ''))).toContain('ROLLBACK');
    expect(JSON.stringify(ends.map(({ env: _, ...rest }) => rest))).not.toContain('Zq-secret');
  });

  it("env.sync()'s statements are traced as 'schema' statements; env.knex's are not", async () => {
    env = await db.open({ models: MODELS });
    const ends: StatementEndEvent<Environment>[] = [];
    env.on('statement:end', (e) => ends.push(e));
    await env.knex.schema.dropTable('log_album'); // the caller's own statement: not traced
    expect(ends).toEqual([]);
    const before = env.stats.queries;
    await env.sync();
    expect(env.stats.queries - before).toBe(0); // stats count the statements of records only
    expect(ends.map((e) => e.kind)).toEqual(ends.map(() => 'schema'));
    expect(ends.filter((e) => /^create table .log_album./i.test(e.sql))).toHaveLength(1);
    for (const e of ends) expect(e).toMatchObject({ rows: undefined, depth: 0, transaction: undefined, env });
  });

  it('bound values reach only the listeners subscribed with includeValues: true', async () => {
    env = await db.open({ models: MODELS });
    const plain: Array<StatementStartEvent | StatementEndEvent> = [];
    const valued: Array<StatementStartEvent | StatementEndEvent> = [];
    env.on('statement:start', (e) => plain.push(e));
    env.on('statement:end', (e) => plain.push(e), { includeValues: false });
    env.on('statement:start', (e) => valued.push(e), { includeValues: true });
    env.on('statement:end', (e) => valued.push(e), { includeValues: true });
    await env.model(LogArtist).create({ name: SECRET });
    const insert = (events: typeof plain) => events.filter((e) => e.kind === 'query');
    expect(insert(plain)).toHaveLength(2);
    expect(insert(valued)).toHaveLength(2);
    for (const e of plain) expect(e).not.toHaveProperty('bindings');
    for (const e of insert(valued)) expect(e.bindings).toContain(SECRET);
    expect(JSON.stringify(plain.map(({ env: _, ...rest }) => rest))).not.toContain('Zq-secret');
  });

  it('the function on() returns stops the listener, and only that one', async () => {
    env = await db.open({ models: MODELS });
    let a = 0;
    let b = 0;
    const stopA = env.on('statement:end', () => a++);
    env.on('statement:end', () => b++);
    await env.model(LogArtist).search([]);
    stopA();
    stopA(); // twice is harmless
    await env.model(LogArtist).search([]);
    expect([a, b]).toEqual([1, 2]);
  });

  it('a listener that throws does not affect the statement; it is reported once as a warning, without its message', async () => {
    env = await db.open({ models: MODELS });
    await seed(env);
    // Spied on, not listened to: jest's sandboxed `process` does not hear Node's 'warning' events.
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      let heard = 0;
      env.on('statement:start', () => {
        throw new Error(SECRET);
      });
      // eslint-disable-next-line @typescript-eslint/no-misused-promises -- a listener whose promise rejects is the case under test
      env.on('statement:end', async () => {
        throw new TypeError(SECRET);
      });
      env.on('statement:end', () => heard++);
      const before = env.stats.queries;
      const artists = await env.model(LogArtist).search([]);
      const names = await Promise.all([...artists].map((a) => a.name));
      await env.model(LogArtist).search([]);
      expect(names.sort()).toEqual([SECRET, `${SECRET}-b`, `${SECRET}-c`]);
      expect(env.stats.queries - before).toBe(3);
      expect(heard).toBe(3);
      await new Promise((resolve) => setImmediate(resolve)); // the async listener's rejections are handled
      expect(warn.mock.calls).toEqual([
        [
          expect.stringContaining('"statement:start" listener threw Error'),
          { type: 'ProxormWarning', code: 'PROXORM_LISTENER_ERROR' },
        ],
        [
          expect.stringContaining('"statement:end" listener threw TypeError'),
          { type: 'ProxormWarning', code: 'PROXORM_LISTENER_ERROR' },
        ],
      ]);
      expect(JSON.stringify(warn.mock.calls)).not.toContain('Zq-secret');
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses a bad log option, an unknown event and bad listener options with a ValidationError naming them', async () => {
    await expect(Environment.open({ ...db.config, log: 'yes' as unknown as boolean })).rejects.toThrow(/"log" must be/);
    await expect(Environment.open({ ...db.config, logging: true } as never)).rejects.toThrow(ValidationError);
    env = await db.open({ models: MODELS });
    expect(() => env!.on('query' as 'statement:end', () => undefined)).toThrow(/unknown event "query"/);
    expect(() => env!.on('statement:end', 'no' as unknown as () => void)).toThrow(ValidationError);
    expect(() => env!.on('statement:end', () => undefined, { includeValues: 'yes' as unknown as boolean })).toThrow(
      /"includeValues" must be a boolean/,
    );
  });
});

describe('DEBUG=proxorm:sql', () => {
  it('prints one line per statement through the debug package, without values', async () => {
    const child = path.join(__dirname, 'fixtures', 'debug-sql-child.ts');
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', child, SECRET],
      {
        cwd: path.resolve(__dirname, '..'),
        env: { ...process.env, DEBUG: 'proxorm:sql', DEBUG_COLORS: 'no' },
      },
    );
    const { queries } = JSON.parse(stdout.trim()) as { queries: number };
    expect(queries).toBe(3); // the INSERT, the search, one load of the names
    const afterSync = stderr.slice(stderr.indexOf('\nsynced\n'));
    expect(stderr.slice(0, stderr.indexOf('\nsynced\n'))).toMatch(/proxorm:sql create table/);
    const lines = afterSync.split('\n').filter((l) => l.includes('proxorm:sql '));
    const statements = lines.filter((l) => !/proxorm:sql (BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)/.test(l));
    expect(statements).toHaveLength(queries);
    expect(statements[0]).toMatch(/proxorm:sql insert into .* -- 2 rows, \d+\.\d ms/);
    expect(statements[2]).toMatch(/proxorm:sql select .* -- 2 rows, \d+\.\d ms/);
    expect(stderr).not.toContain('Zq-secret');
  });
});
