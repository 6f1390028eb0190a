import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import * as lib from '../lib';
import { BaseModel, Environment, Field, Model, SchemaError, defineModel, type RecordSet } from '../lib';
import { schemaOf } from '../lib/model/registry';
import type * as Fixture from './fixtures/tc39-models';
import { countQueries, describeEachDatabase } from './helpers/databases';

/*
 * Models defined every way a user can: standard (TC39) decorators, compiled here as
 * `tsc --init` with target es2022 compiles them (the repo's tsconfig uses legacy
 * decorators, which the other suites cover); and defineModel, without decorators.
 */

const FIXTURE = path.join(__dirname, 'fixtures', 'tc39-models.ts');

/** Compiler options of `tsc --init` with target es2022: standard decorators, no metadata. */
const STANDARD: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, strict: true, esModuleInterop: true, skipLibCheck: true,
  experimentalDecorators: false, emitDecoratorMetadata: false,
};

function compileStandard(source: string): string {
  const js = ts.transpileModule(source, { compilerOptions: STANDARD }).outputText;
  // Guards the premise: this is the standard decorators' emit, not the legacy one.
  expect(js).toContain('__esDecorate');
  expect(js).not.toContain('__decorate(');
  return js;
}

/** Runs compiled CommonJS with the library (imported as 'proxorm' or '../../lib') being the one this suite uses. */
function run<T>(js: string): T {
  const module = { exports: {} };
  const requireLib = (id: string) => {
    if (id === 'proxorm' || id === '../../lib') return lib;
    throw new Error(`unexpected import ${id}`);
  };
  new Function('require', 'module', 'exports', js)(requireLib, module, module.exports);
  return module.exports as T;
}

/** Compiles and runs a snippet under standard decorators; `proxorm`'s exports are in scope. */
function runStandard<T>(body: string): T {
  return run<T>(compileStandard(`import { BaseModel, Field, Model } from 'proxorm';\n${body}`));
}

/** The SchemaError `fn` throws. */
function schemaError(fn: () => unknown): SchemaError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SchemaError);
    return e as SchemaError;
  }
  throw new Error('expected a SchemaError');
}

const { Tc39Artist, Tc39Album, Tc39Single } = run<typeof Fixture>(compileStandard(fs.readFileSync(FIXTURE, 'utf8')));

describe('standard (TC39) decorators: the fixture', () => {
  it('type-checks under the standard decorators configuration', () => {
    const program = ts.createProgram([FIXTURE], { ...STANDARD, noEmit: true, types: ['node'] });
    const errors = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(errors).toEqual([]);
  });

  it('registers each class with exactly its own and inherited fields', () => {
    expect([...schemaOf(Tc39Artist).fields.keys()]).toEqual(['name', 'rank', 'albums']);
    expect([...schemaOf(Tc39Album).fields.keys()]).toEqual(['title', 'released', 'tags', 'artist']);
    expect([...schemaOf(Tc39Single).fields.keys()]).toEqual(['remix', 'title', 'released', 'tags', 'artist']);
    expect(schemaOf(Tc39Album).fields.get('artist')).toMatchObject({ type: 'many2one', required: true, onDelete: 'cascade', column: 'artist_id' });
    expect(schemaOf(Tc39Album).order).toBe('title');
  });
});

describeEachDatabase('standard (TC39) decorators', (db) => {
  let env: Environment;
  beforeEach(async () => {
    env = await db.open({ models: [Tc39Artist, Tc39Album, Tc39Single] });
  });
  afterEach(async () => {
    await env.close();
  });

  it('create, read through relations, write: with exact query counts', async () => {
    const artists = env.model(Tc39Artist);
    const albums = env.model(Tc39Album);
    const ids: number[] = [];
    expect(await countQueries(env, async () => {
      for (const name of ['Ann', 'Bob']) ids.push((await artists.create({ name, rank: ids.length + 1 })).id as number);
    })).toBe(2);
    expect(await countQueries(env, () => albums.create(
      [0, 1, 2, 3].map((i) => ({ title: `t${i}`, artist: ids[i % 2], released: new Date(Date.UTC(2020, i)), tags: { i } })),
    ))).toBe(1);

    const cold = env.fork();
    const titles: string[] = [];
    expect(await countQueries(cold, async () => {
      for (const album of await cold.model(Tc39Album).search([])) {
        titles.push(`${await album.title}/${await (await album.artist).name}/${JSON.stringify(await album.tags)}`);
      }
    })).toBe(3);
    expect(titles).toEqual(['t0/Ann/{"i":0}', 't1/Bob/{"i":1}', 't2/Ann/{"i":2}', 't3/Bob/{"i":3}']);

    const ann = cold.model(Tc39Artist).browse(ids[0]);
    expect(await countQueries(cold, async () => {
      expect(await Promise.all([...(await ann.albums)].map((a) => a.title))).toEqual(['t0', 't2']);
    })).toBe(1);
    expect(await countQueries(cold, () => ann.write({ name: 'Anna', rank: null }))).toBe(1);
    expect(await countQueries(cold, async () => expect([await ann.name, await ann.rank]).toEqual(['Anna', null]))).toBe(0);
    const fresh = env.fork();
    expect(await countQueries(fresh, async () => expect(await fresh.model(Tc39Artist).browse(ids[0]).name).toBe('Anna'))).toBe(1);
  });

  it('a model extending a model: inherited fields are its columns', async () => {
    const artist = await env.model(Tc39Artist).create({ name: 'Cy' });
    const single = await env.model(Tc39Single).create({ title: 's', artist: artist.id, remix: true });
    const cold = env.fork();
    const read = cold.model(Tc39Single).browse(single.id);
    expect(await countQueries(cold, async () => expect([await read.title, await read.remix]).toEqual(['s', true]))).toBe(1);
  });
});
