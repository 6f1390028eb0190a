import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import * as lib from '../lib';
import { BaseModel, Environment, Field, Model, SchemaError, defineModel } from '../lib';
import type { ClassRef } from '../lib';
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
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  strict: true,
  esModuleInterop: true,
  skipLibCheck: true,
  experimentalDecorators: false,
  emitDecoratorMetadata: false,
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
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- runs the JavaScript a consumer's compiler emitted
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

/** A decorated class that defineModel models point at. */
@Model('dm_label')
class DmLabel extends BaseModel {
  @Field({ required: true }) title!: string;
}

const DmArtist = defineModel({
  name: 'dm_artist',
  order: 'name',
  fields: {
    name: Field.string({ required: true }),
    email: Field.string({ size: 80 }),
    albums: Field.one2many<DmAlbumRecord>((): ClassRef => DmAlbum, 'artist'),
    label: Field.many2one(() => DmLabel),
  },
  methods: {
    async display(): Promise<string> {
      return `${await this.name} <${await this.email}>`;
    },
    get kind(): string {
      return 'artist';
    },
  },
});

const DmAlbum = defineModel({
  name: 'dm_album',
  table: 'dm_albums',
  fields: {
    title: Field.string({ required: true }),
    year: Field.integer(),
    artist: Field.many2one(() => DmArtist, { required: true }),
  },
});
/**
 * Two defineModel models that point at each other: one side names the other's record
 * type as an interface and gives its target function a return type (`(): ClassRef =>`),
 * which breaks the type-level cycle (TS7022 otherwise).
 */
interface DmAlbumRecord extends BaseModel {
  title: string;
  year: number | null;
  artist: InstanceType<typeof DmArtist>;
}

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
    expect(schemaOf(Tc39Album).fields.get('artist')).toMatchObject({
      type: 'many2one',
      required: true,
      onDelete: 'cascade',
      column: 'artist_id',
    });
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
    expect(
      await countQueries(env, async () => {
        for (const name of ['Ann', 'Bob']) ids.push((await artists.create({ name, rank: ids.length + 1 })).id);
      }),
    ).toBe(2);
    expect(
      await countQueries(env, () =>
        albums.create(
          [0, 1, 2, 3].map((i) => ({
            title: `t${i}`,
            artist: ids[i % 2],
            released: new Date(Date.UTC(2020, i)),
            tags: { i },
          })),
        ),
      ),
    ).toBe(1);

    const cold = env.fork();
    const titles: string[] = [];
    expect(
      await countQueries(cold, async () => {
        for (const album of await cold.model(Tc39Album).search([])) {
          titles.push(`${await album.title}/${await (await album.artist).name}/${JSON.stringify(await album.tags)}`);
        }
      }),
    ).toBe(3);
    expect(titles).toEqual(['t0/Ann/{"i":0}', 't1/Bob/{"i":1}', 't2/Ann/{"i":2}', 't3/Bob/{"i":3}']);

    const ann = cold.model(Tc39Artist).browse(ids[0]);
    expect(
      await countQueries(cold, async () => {
        expect(await Promise.all([...(await ann.albums)].map((a) => a.title))).toEqual(['t0', 't2']);
      }),
    ).toBe(1);
    expect(await countQueries(cold, () => ann.write({ name: 'Anna', rank: null }))).toBe(1);
    expect(await countQueries(cold, async () => expect([await ann.name, await ann.rank]).toEqual(['Anna', null]))).toBe(
      0,
    );
    const fresh = env.fork();
    expect(
      await countQueries(fresh, async () => expect(await fresh.model(Tc39Artist).browse(ids[0]).name).toBe('Anna')),
    ).toBe(1);
  });

  it('a model extending a model: inherited fields are its columns', async () => {
    const artist = await env.model(Tc39Artist).create({ name: 'Cy' });
    const single = await env.model(Tc39Single).create({ title: 's', artist: artist.id, remix: true });
    const cold = env.fork();
    const read = cold.model(Tc39Single).browse(single.id);
    expect(
      await countQueries(cold, async () => expect([await read.title, await read.remix]).toEqual(['s', true])),
    ).toBe(1);
  });
});

describe('a field without a type says what is missing', () => {
  it('standard decorators: name the type, or use legacy decorators with metadata', () => {
    const e = schemaError(() =>
      runStandard(`
      @Model('std_notype')
      class A extends BaseModel { @Field() name!: string; }`),
    );
    expect(e.message).toBe(
      '@Field std_notype.name: no type: standard (TC39) decorators carry no TypeScript type; name it (@Field.string(), @Field.integer(), @Field.float(), ' +
        '@Field.boolean(), @Field.datetime(), @Field.json(), ...) or compile with "experimentalDecorators" and "emitDecoratorMetadata" in tsconfig.json',
    );
  });

  it('legacy decorators without emitDecoratorMetadata: enable it, or name the type', () => {
    const js = ts.transpileModule(
      `import { BaseModel, Field, Model } from 'proxorm';
      @Model('legacy_notype')
      class A extends BaseModel { @Field() name!: string; }`,
      { compilerOptions: { ...STANDARD, experimentalDecorators: true } },
    ).outputText;
    expect(js).toContain('__decorate(');
    expect(js).not.toContain('design:type');
    expect(schemaError(() => run(js)).message).toMatch(
      /^@Field legacy_notype\.name: no type: name it \(@Field\.string\(\), @Field\.integer\(\), .*\) or enable "emitDecoratorMetadata" with "experimentalDecorators" in tsconfig\.json \(esbuild and tsx never emit it/,
    );
  });

  it('legacy decorators with metadata, of a type no column fits: names that type', () => {
    const e = schemaError(() => {
      @Model('legacy_badtype')
      class _A extends BaseModel {
        @Field() tags!: string[];
      }
    });
    expect(e.message).toMatch(
      /^@Field legacy_badtype\.tags: cannot infer a column type from design:type Array \(the TypeScript type of the property\); name it: @Field\.json\(\)/,
    );
  });

  it('defineModel: name the type', () => {
    expect(schemaError(() => defineModel({ name: 'dm_notype', fields: { name: Field() } })).message).toMatch(
      /^@Field dm_notype\.name: no type: Field\(\) infers it from TypeScript metadata, which defineModel has none of; name it \(Field\.string\(\), Field\.integer\(\)/,
    );
  });
});

describe('standard decorators on what cannot be a field', () => {
  it.each([
    [
      'a static property',
      '@Field.string() static s: string;',
      /^@Field\.string on s: fields are instance properties, not static ones/,
    ],
    [
      'a private property',
      '@Field.string() #p!: string;',
      /^@Field\.string on #p: private \(#\) properties cannot be fields/,
    ],
    ['a method', '@(Field.string() as any) m() {}', /^@Field\.string on m: fields are plain properties, not a method/],
    [
      'a getter',
      '@(Field.string() as any) get g() { return 1; }',
      /^@Field\.string on g: fields are plain properties, not a getter/,
    ],
    [
      'an accessor',
      '@(Field.string() as any) accessor a!: string;',
      /^@Field\.string on a: fields are plain properties, not an accessor/,
    ],
  ])('%s', (_, member, message) => {
    expect(
      schemaError(() => runStandard(`@Model('std_bad_member') class A extends BaseModel { ${member} }`)).message,
    ).toMatch(message);
  });

  it('@Model on something other than a class', () => {
    expect(
      schemaError(() =>
        (Model('std_not_class') as (t: unknown, c: object) => void)(() => undefined, { kind: 'method', name: 'm' }),
      ).message,
    ).toBe('@Model on m: @Model decorates a class');
  });
});

/*
 * Standard field decorators cannot see their class: they wait in a pending list that the
 * class decorator takes. Nothing a failed, undecorated or nested class leaves there may
 * end up in another class. Each snippet runs in one synchronous stretch, as a module does.
 */
describe('standard decorators: pending fields never leak into another class', () => {
  type Out = { B: ClassRef; A?: ClassRef };
  const fieldsOfClass = (cls: ClassRef | undefined) => [...schemaOf(cls as ClassRef).fields.keys()];

  it('after a field decorator failed', () => {
    const { B } = runStandard<Out>(`
      const modelB = Model('leak_b1'); // made before A: A's definition does not start after it
      try {
        @Model('leak_a1') class A extends BaseModel { @Field.string() a!: string; @Field.string(null as never) x!: string; }
      } catch { /* expected */ }
      @modelB export class B extends BaseModel { @Field.string() b!: string; }`);
    expect(fieldsOfClass(B)).toEqual(['b']);
  });

  it('after @Model refused its class', () => {
    const { B } = runStandard<Out>(`
      try {
        @Model('bad name') class A extends BaseModel { @Field.string() a!: string; }
      } catch { /* expected */ }
      @Model('leak_b2') export class B extends BaseModel { @Field.string() b!: string; }`);
    expect(fieldsOfClass(B)).toEqual(['b']);
  });

  it('after another decorator of the class threw', () => {
    const { B } = runStandard<Out>(`
      const boom = (_: unknown, _c: unknown) => { throw new Error('boom'); };
      try {
        @Model('leak_a3') class A extends BaseModel { @Field.string() a!: string; @boom c!: string; }
      } catch { /* expected */ }
      @Model('leak_b3') export class B extends BaseModel { @Field.string() b!: string; }`);
    expect(fieldsOfClass(B)).toEqual(['b']);
  });

  it('after a class without @Model (its fields are ignored, not adopted)', () => {
    const { A, B } = runStandard<Out>(`
      export class A extends BaseModel { @Field.string() a!: string; }
      @Model('leak_b4') export class B extends A { @Field.string() b!: string; }`);
    expect(fieldsOfClass(B)).toEqual(['b']);
    expect(() => schemaOf(A as ClassRef)).toThrow(/is not a model/);
  });

  it('a class defined while the decorator expressions of another are evaluated', () => {
    // Deeper is defined from a function: tsc mis-emits a decorated class written inline
    // in a member decorator's expression (its static blocks get the outer `this`).
    const { A, B, C } = runStandard<Out & { C: ClassRef }>(`
      let B!: Function;
      export let C!: Function;
      function defineDeeper() {
        @Model('nest_c1') class Deeper extends BaseModel { @Field.integer() deeper!: number; }
        return (C = Deeper);
      }
      @Model((() => {
        @Model('nest_b1') class Inner extends BaseModel { @Field.string() inner!: string; }
        B = Inner;
        return 'nest_a1';
      })())
      export class A extends BaseModel {
        @Field.string() first!: string;
        @Field.many2one(((D) => () => D)(defineDeeper())) second!: unknown;
        @Field.string() third!: string;
      }
      export { B };`);
    expect(fieldsOfClass(C)).toEqual(['deeper']);
    expect(fieldsOfClass(A)).toEqual(['first', 'second', 'third']);
    expect(fieldsOfClass(B)).toEqual(['inner']);
  });
});

describeEachDatabase('defineModel', (db) => {
  let env: Environment;
  beforeEach(async () => {
    env = await db.open({ models: [DmLabel, DmArtist, DmAlbum] });
  });
  afterEach(async () => {
    await env.close();
  });

  it('relations between defineModel models and to a decorated class, with exact query counts', async () => {
    const label = await env.model(DmLabel).create({ title: 'Blue' });
    const artists = await env.model(DmArtist).create([
      { name: 'Bob', email: 'bob@example.com', label: label.id },
      { name: 'Ann', email: 'ann@example.com', label: label.id },
    ]);
    await env.model(DmAlbum).create(
      artists.ids.flatMap((artist, i) => [
        { title: `a${i}`, artist, year: 2000 + i },
        { title: `b${i}`, artist },
      ]),
    );

    const cold = env.fork();
    const seen: string[] = [];
    expect(
      await countQueries(cold, async () => {
        for (const artist of await cold.model(DmArtist).search([])) {
          const albums = await artist.albums;
          const years = await Promise.all([...albums].map((a) => a.year));
          seen.push(`${await artist.name}:${await (await artist.label).title}:${years.join(',')}`);
        }
      }),
    ).toBe(5); // the search, then for all artists at once: names (and label ids), albums, the albums' years, the labels
    expect(seen).toEqual(['Ann:Blue:2001,', 'Bob:Blue:2000,']);

    const fresh = env.fork();
    const album = fresh.model(DmAlbum).browse((await fresh.model(DmAlbum).search([['title', '=', 'a0']])).ids[0]);
    expect(await countQueries(fresh, async () => expect(await (await album.artist).name).toBe('Bob'))).toBe(2);
    expect(await countQueries(fresh, () => album.write({ year: 1999 }))).toBe(1);
    expect(await countQueries(fresh, async () => expect(await album.year).toBe(1999))).toBe(0);
    expect(schemaOf(DmAlbum).table).toBe('dm_albums');
  });

  it('methods and getters are on the prototype, with `this` the recordset', async () => {
    const [ann] = await env.model(DmArtist).create([{ name: 'Ann', email: 'ann@example.com' }]);
    const proto = DmArtist.prototype as object;
    expect(typeof Object.getOwnPropertyDescriptor(proto, 'kind')?.get).toBe('function');
    const display = Object.getOwnPropertyDescriptor(proto, 'display')?.value as (this: unknown) => Promise<string>;
    const cold = env.fork();
    const record = cold.model(DmArtist).browse(ann.id);
    expect(await countQueries(cold, async () => expect(await display.call(record)).toBe('Ann <ann@example.com>'))).toBe(
      1,
    );
    expect(Object.getPrototypeOf(DmArtist)).toBe(BaseModel);
    expect(DmArtist.name).toBe('DmArtist');
  });
});

describe('defineModel refuses a bad definition with a SchemaError', () => {
  it.each<[string, () => unknown, RegExp]>([
    [
      'a fields entry that is not a Field',
      () => defineModel({ name: 'dm_bad1', fields: { name: 'string' as never } }),
      /^defineModel "dm_bad1": field "name" is not a field: use Field\.string\(\)/,
    ],
    [
      'a field factory not called',
      () => defineModel({ name: 'dm_bad2', fields: { name: Field.string as never } }),
      /^defineModel "dm_bad2": field "name" is not a field/,
    ],
    [
      'no fields',
      () => defineModel({ name: 'dm_bad3' } as never),
      /^defineModel "dm_bad3": "fields" must be an object/,
    ],
    [
      'fields as an array',
      () => defineModel({ name: 'dm_bad4', fields: [Field.string()] as never }),
      /^defineModel "dm_bad4": "fields" must be an object/,
    ],
    [
      'methods not an object',
      () => defineModel({ name: 'dm_bad5', fields: {}, methods: 1 as never }),
      /^defineModel "dm_bad5": "methods" must be an object/,
    ],
    [
      'a method named as a field',
      () => defineModel({ name: 'dm_bad6', fields: { name: Field.string() }, methods: { name() {} } }),
      /^defineModel "dm_bad6": "name" is both a field and a method/,
    ],
    ['no options', () => defineModel(undefined as never), /^defineModel: expected \{ name, fields, \.\.\. \}/],
    // The same checks as @Model and @Field:
    [
      'an unknown option',
      () => defineModel({ name: 'dm_bad7', fields: {}, tabel: 'x' } as never),
      /^@Model on DmBad7: unknown option "tabel"/,
    ],
    [
      'an invalid model name',
      () => defineModel({ name: 'bad name', fields: {} }),
      /^@Model on BadName: invalid model name "bad name"/,
    ],
    [
      'a bad field option',
      () => defineModel({ name: 'dm_bad8', fields: { n: Field.string({ size: 0 }) } }),
      /^@Field dm_bad8\.n: option "size" must be an integer/,
    ],
    [
      'a reserved field name',
      () => defineModel({ name: 'dm_bad9', fields: { write: Field.string() } }),
      /^@Field dm_bad9\.write: "write" is reserved/,
    ],
  ])('%s', (_, define, message) => {
    expect(schemaError(define).message).toMatch(message);
  });
});

/*
 * Where the runtime has Symbol.metadata (esbuild and tsx always provide one; Node 20
 * does not), each class's decorators share one metadata object: fields wait under it,
 * so ownership is exact even when a class is defined while another one's decorators
 * are being applied. Symbol.metadata is installed for this block only.
 */
describe('standard decorators with Symbol.metadata', () => {
  type Out = { A: ClassRef; B: ClassRef };
  const fieldsOfClass = (cls: ClassRef) => [...schemaOf(cls).fields.keys()];
  const symbol = Symbol as { metadata?: symbol };
  beforeAll(() => {
    expect(symbol.metadata).toBeUndefined();
    Object.defineProperty(Symbol, 'metadata', { value: Symbol.for('Symbol.metadata'), configurable: true });
  });
  afterAll(() => {
    delete symbol.metadata;
  });

  it("a class defined while another class's field decorators are applied keeps to its own fields", () => {
    const { A, B } = runStandard<Out>(`
      export let B!: Function;
      // A decorator of the user's that defines a model when applied.
      const defineB = (_: unknown, _c: unknown) => {
        @Model('meta_b1') class Inner extends BaseModel { @Field.string() inner!: string; }
        B = Inner;
      };
      @Model('meta_a1')
      export class A extends BaseModel {
        @Field.string() first!: string;
        @defineB plain!: string;
        @Field.string() last!: string;
      }`);
    expect(fieldsOfClass(A)).toEqual(['first', 'last']);
    expect(fieldsOfClass(B)).toEqual(['inner']);
  });

  it('fields of a class without @Model or of a failed class are not adopted', () => {
    const { B } = runStandard<Out>(`
      class Loose extends BaseModel { @Field.string() loose!: string; }
      try {
        @Model('meta_a2') class A extends BaseModel { @Field.string() a!: string; @Field.string(null as never) x!: string; }
      } catch { /* expected */ }
      @Model('meta_b2') export class B extends BaseModel { @Field.string() b!: string; }`);
    expect(fieldsOfClass(B)).toEqual(['b']);
  });

  it('models and a subclass defined with metadata have their fields', () => {
    const again = runStandard<{ A: ClassRef; S: ClassRef }>(`
      @Model('meta_album') export class A extends BaseModel { @Field.string() title!: string; @Field.json() tags!: unknown; }
      @Model('meta_single') export class S extends A { @Field.boolean() remix!: boolean; }`);
    expect(fieldsOfClass(again.A)).toEqual(['title', 'tags']);
    expect(fieldsOfClass(again.S)).toEqual(['remix', 'title', 'tags']);
  });
});
