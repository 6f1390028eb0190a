import 'reflect-metadata';
import createDebug from 'debug';
import knexFactory from 'knex';
import {
  BaseModel,
  Environment,
  Field,
  Model,
  QueryTimeoutError,
  type StatementEndEvent,
  type StatementStartEvent,
} from '../lib';
import { describeEachDatabase } from './helpers/databases';

/*
 * Adversarial review of SQL logging (issue 11, item 5): every kind of statement, on both
 * databases, gives exactly one start and one end (same id, ids unique) and one log line,
 * with no bound value in any of them; DEBUG=proxorm:sql together with `log: true` does not
 * print each statement twice; a timed-out statement still ends.
 */
const SECRET = 'Zq-secret-value-9931';

@Model('rl_tag')
class RlTag extends BaseModel {
  @Field() name!: string;
}

@Model('rl_artist')
class RlArtist extends BaseModel {
  @Field() name!: string;
  @Field.one2many(() => RlAlbum, 'artist') albums!: RlAlbum[];
}

@Model('rl_album')
class RlAlbum extends BaseModel {
  @Field() title!: string;
  @Field.many2one(() => RlArtist) artist!: RlArtist | null;
  @Field.many2many(() => RlTag) tags!: RlTag[];
}

const MODELS = [RlTag, RlArtist, RlAlbum];

interface Trace {
  lines: string[];
  starts: StatementStartEvent<Environment>[];
  ends: StatementEndEvent<Environment>[];
}

/** A pool on empty tables for MODELS whose `log` lines and events are collected in the returned trace. */
async function openTraced(config: object, extra: object = {}): Promise<{ env: Environment; trace: Trace }> {
  const trace: Trace = { lines: [], starts: [], ends: [] };
  const env = await Environment.open({ ...config, ...extra, models: MODELS, log: (line) => trace.lines.push(line) });
  env.on('statement:start', (e) => trace.starts.push(e));
  env.on('statement:end', (e) => trace.ends.push(e));
  return { env, trace };
}

/** One line and one start/end pair per statement, ids unique, nothing of SECRET anywhere. */
function expectWellFormed(trace: Trace): void {
  expect(trace.lines).toHaveLength(trace.ends.length);
  expect(trace.starts.map((s) => s.id)).toEqual(trace.ends.map((e) => e.id));
  expect(new Set(trace.ends.map((e) => e.id)).size).toBe(trace.ends.length);
  const everything = JSON.stringify([trace.lines, [...trace.starts, ...trace.ends].map(({ env: _, ...rest }) => rest)]);
  expect(everything).not.toContain('Zq-secret');
  for (const e of trace.ends) expect(e.durationMs).toBeGreaterThanOrEqual(0);
}

describeEachDatabase('review revlog: SQL logging of every statement kind', (db) => {
  it('sync, chunked creates, x2many commands, limit/offset and LIKE searches, loads, savepoints, rollbacks, failures, unlink, forks', async () => {
    await (await db.open({ models: MODELS })).close();
    const { env, trace } = await openTraced(db.config);
    try {
      // Not traced (the caller's own): so that sync's CREATE TABLEs run on MariaDB too.
      for (const t of ['rl_album_rl_tag_rel', 'rl_album', 'rl_artist', 'rl_tag'])
        await env.knex.schema.dropTableIfExists(t);
      await env.sync();
      expect(trace.ends.filter((e) => /^create table/i.test(e.sql))).toHaveLength(4);
      // Enough rows for several INSERTs (SQLite: compound SELECTs; MariaDB: 65,535 placeholders).
      const many = db.name === 'sqlite' ? 1_200 : 70_000;
      const before = trace.ends.length;
      await env.model(RlTag).create(Array.from({ length: many }, (_, i) => ({ name: `${SECRET}-${i}` })));
      const inserts = trace.ends.slice(before).filter((e) => e.kind === 'query');
      expect(inserts.length).toBeGreaterThan(1);
      expect(inserts.reduce((n, e) => n + (e.rows ?? NaN), 0)).toBe(many);
      const tags = await env.model(RlTag).create([{ name: SECRET }, { name: `${SECRET}2` }]);
      const artists = await env.model(RlArtist).create([{ name: SECRET }, { name: `${SECRET}b` }]);
      const albums = await env
        .model(RlAlbum)
        .create([{ title: SECRET, artist: artists.ids[0], tags: { set: [...tags.ids] } }]);
      env.clearCache();
      await env.model(RlArtist).search([['name', 'like', SECRET]], { limit: 7919, offset: 7907 });
      await env.model(RlArtist).search([['name', 'ilike', `${SECRET}%_`]]);
      for (const a of await env.model(RlArtist).search([])) await a.albums;
      await albums.write({ tags: { remove: [tags.ids[0]], add: [tags.ids[1]] } });
      await env.transaction(async () => {
        await artists.write({ name: `${SECRET}x` });
        await env
          .transaction(async () => {
            await artists.write({ name: `${SECRET}z` });
            throw new Error('roll back to the savepoint');
          })
          .catch(() => undefined);
      });
      await expect(env.model(RlAlbum).create({ title: SECRET, artist: 999999 })).rejects.toThrow();
      await albums.unlink();
      await env.fork().model(RlArtist).search([]);
      expectWellFormed(trace);
      const text = trace.lines.join('\n');
      expect(text).not.toMatch(/79(19|07)/); // limit and offset are placeholders too
      expect(trace.ends.filter((e) => e.error !== undefined).map((e) => e.error)).toEqual(['ForeignKeyViolationError']);
      expect(trace.ends.map((e) => e.sql)).toEqual(
        expect.arrayContaining(['BEGIN', 'SAVEPOINT', 'ROLLBACK TO SAVEPOINT', 'ROLLBACK', 'COMMIT']),
      );
    } finally {
      await env.close();
    }
  });
});

describe('review revlog: DEBUG=proxorm:sql with log: true', () => {
  afterEach(() => createDebug.disable());

  it('prints each statement once, not once for each', async () => {
    createDebug.enable('proxorm:sql');
    const chunks: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    });
    let env: Environment | undefined;
    try {
      env = await Environment.open({ models: [RlTag], log: true });
      await env
        .model(RlTag)
        .search([])
        .catch(() => undefined); // no table yet: one failing statement
    } finally {
      spy.mockRestore();
      await env?.close();
    }
    const lines = chunks
      .join('')
      .split('\n')
      .filter((l) => l.includes('proxorm:sql'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Z proxorm:sql select .* -- failed: \w+Error, \d+\.\d ms$/);
  });
});

describeEachDatabase('review revlog: a statement past queryTimeout', (db) => {
  // The servers only: SQLite runs a statement synchronously, which no timer interrupts.
  if (db.name === 'sqlite') return;
  it('ends with QueryTimeoutError: one start, one end, one line', async () => {
    await (await db.open({ models: MODELS })).close();
    const { env, trace } = await openTraced(db.config, { queryTimeout: 300 });
    const other = knexFactory({
      client: db.name === 'postgres' ? 'pg' : 'mysql2',
      connection: (db.config as { connection: string }).connection,
    });
    try {
      const tag = await env.model(RlTag).create({ name: SECRET });
      const trx = await other.transaction();
      await trx.raw('SELECT * FROM rl_tag WHERE id = ? FOR UPDATE', [tag.id]); // hold the row lock
      trace.lines.length = trace.starts.length = trace.ends.length = 0;
      await expect(tag.write({ name: `${SECRET}2` })).rejects.toThrow(QueryTimeoutError);
      await trx.rollback();
      expectWellFormed(trace);
      expect(trace.ends.filter((e) => e.kind === 'query')).toEqual([
        expect.objectContaining({ error: 'QueryTimeoutError', rows: undefined }),
      ]);
    } finally {
      await other.destroy();
      await env.close();
    }
  }, 30_000);
});
