/**
 * Type-level tests of defineModel and of the decorators' types (see record-types.ts for
 * how these work: compiled by `npm test`'s typecheck, never run). The standard-decorator
 * side of the decorator types is checked by decorators.test.ts, which type-checks its
 * fixture with experimentalDecorators off.
 */
import {
  BaseModel,
  Environment,
  Field,
  Model,
  defineModel,
  type FieldDecorator,
  type FieldKeys,
  type RecordSet,
  type Values,
} from '../../lib';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectTrue<T extends true>(): T | void {}

@Model('dmt_label')
class Label extends BaseModel {
  @Field() title!: string;
}

// Never called: defineModel runs only in tests that execute.
function models() {
  const Artist = defineModel({
    name: 'dmt_artist',
    fields: {
      name: Field.string({ required: true }),
      nick: Field.string(),
      rank: Field.integer({ default: 0 }),
      born: Field.datetime(),
      price: Field.decimal({ required: true, scale: 2 }),
      meta: Field.json(),
      label: Field.many2one(() => Label),
    },
    methods: {
      async display(): Promise<string> {
        // `this` is the recordset: fields read as Promises.
        expectTrue<Equal<typeof this.name, Promise<string>>>();
        expectTrue<Equal<typeof this.nick, Promise<string | null>>>();
        return `${await this.name} <${await this.nick}>`;
      },
    },
  });
  return Artist;
}

export async function typeChecks(env: Environment): Promise<void> {
  const Artist = models();
  type Artist = InstanceType<typeof Artist>;

  // ---- field types: as `name!: string` etc. would declare them ------------------------
  expectTrue<Equal<FieldKeys<Artist>, 'name' | 'nick' | 'rank' | 'born' | 'price' | 'meta' | 'label'>>();
  expectTrue<Equal<Artist['name'], string>>(); // required: true
  expectTrue<Equal<Artist['nick'], string | null>>();
  expectTrue<Equal<Artist['rank'], number | null>>();
  expectTrue<Equal<Artist['born'], Date | null>>();
  expectTrue<Equal<Artist['price'], string>>();
  expectTrue<Equal<Artist['meta'], unknown>>();
  expectTrue<Equal<Artist['label'], Label | null>>();

  // ---- the class works where a decorated model does --------------------------------------
  const created: RecordSet<Artist> = await Artist.create({ name: 'Ann', label: 1, price: '1.00' });
  const viaEnv: RecordSet<Artist> = await env.model(Artist).search([]);
  const name: string = await created.name;
  const label: RecordSet<Label> = await viaEnv.at(0).label;
  const title: string = await label.title;
  await created.write({ nick: null, rank: 2 });
  const values: Partial<Values<Artist>> = { name: 'x' };
  const isArtist: boolean = (created as unknown) instanceof Artist; // a class: instanceof compiles

  // ---- decorators: both call shapes are in the type ------------------------------------
  const decorator: FieldDecorator<string | null> = Field.string();
  decorator({}, 'legacyKey');
  const required: FieldDecorator<string> = Field.text({ required: true });
  const relation: FieldDecorator<Label[]> = Field.one2many(() => Label, 'x');

  // ================= negative checks: each line below must NOT compile ====================

  // @ts-expect-error unknown field in create
  await Artist.create({ name: 'Ann', nope: 1 });
  // @ts-expect-error wrong type for a field
  await created.write({ rank: 'two' });
  // @ts-expect-error a field that may be null is not a string
  const notNull: string = await created.nick;
  // @ts-expect-error a field decorator is not a value of its field type
  const notAValue: string = Field.string({ required: true });
  // @ts-expect-error a plain string is not a field
  defineModel({ name: 'dmt_bad', fields: { name: 'string' } });
  void [name, title, values, isArtist, required, relation, notNull, notAValue];
}
