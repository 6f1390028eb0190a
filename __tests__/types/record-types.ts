/**
 * Type-level tests of the record API (DESIGN §1, "Record types"). Not a jest test:
 * `npm test` compiles it with `tsc --noEmit -p tsconfig.json` before jest runs, and
 * nothing here is ever executed (typeChecks is never called).
 *
 * - Positive checks are assignments and `expectTrue<Equal<A, B>>()`: they fail to
 *   compile if a type gets wider, narrower or turns into `any`.
 * - Negative checks are `// @ts-expect-error` lines. An unused @ts-expect-error is
 *   itself a compile error, so each of them fails the typecheck the day the types
 *   stop rejecting that line.
 */
import {
  BaseModel,
  Environment,
  Field,
  Model,
  asRecord,
  type CachedRow,
  type FieldKeys,
  type ModelApi,
  type ReadRow,
  type RecordSet,
  type Values,
} from '../../lib';

/** true iff A and B are the same type (not merely mutually assignable; `any` is not `string`). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only when given `true`. */
function expectTrue<T extends true>(): T | void {}
/** Compiles only when `value` is assignable to T. */
function expectType<T>(value: T): T {
  return value;
}
/** An intersection flattened into one object type, so Equal can compare it with a literal type. */
type Flat<T> = { [K in keyof T]: T[K] };

// The decorators never run: this module is only type-checked.
@Model('sch_types_user')
class User extends BaseModel {
  @Field() name!: string;
  @Field() age!: number;
  @Field.integer() score!: number | null;
  @Field() active!: boolean;
  @Field.datetime() seen!: Date | null;
  @Field.json() meta!: unknown;

  /** A method is not a field. */
  greet(): string {
    return 'hi';
  }
}

@Model('sch_types_tag')
class Tag extends BaseModel {
  @Field() label!: string;
}

/** A class that is not decorated with @Model. */
class NotAModel {
  label!: string;
}

export async function typeChecks(env: Environment): Promise<void> {
  // ---- which properties are fields ----------------------------------------------------
  expectTrue<Equal<FieldKeys<User>, 'name' | 'age' | 'score' | 'active' | 'seen' | 'meta'>>();
  expectTrue<
    Equal<
      Values<User>,
      { name: string; age: number; score: number | null; active: boolean; seen: Date | null; meta: unknown }
    >
  >();

  // ---- model-level calls ----------------------------------------------------------------
  const users: ModelApi<User> = env.model(User);
  const found: RecordSet<User> = await users.search([['age', '>', 18]], { limit: 10, order: 'name desc' });
  const browsed: RecordSet<User> = users.browse([1, 2]);
  const one: RecordSet<User> = users.browse(1);
  const created: RecordSet<User> = await users.create({ name: 'ann', age: 3 });
  const many: RecordSet<User> = await users.create([{ name: 'a' }, { name: 'b', score: null }]);
  const count: number = await users.searchCount([['active', '=', true]]);
  expectTrue<Equal<Awaited<ReturnType<ModelApi<User>['search']>>, RecordSet<User>>>();

  // The static API of BaseModel types its results by the class it is called on.
  const viaStatic: RecordSet<User> = await User.create({ name: 'static' });
  const staticName: string = await User.browse(1).name;
  const tags: RecordSet<Tag> = await Tag.search([]);

  // ---- field reads: Promise of the declared type --------------------------------------
  const n: string = await one.name;
  const a: number = await one.age;
  const s: number | null = await one.score;
  const b: boolean = await one.active;
  const d: Date | null = await one.seen;
  expectTrue<Equal<typeof one.name, Promise<string>>>();
  expectTrue<Equal<typeof one.score, Promise<number | null>>>();
  expectTrue<Equal<typeof one.meta, Promise<unknown>>>();
  const label: string = await tags.at(0).label;

  // ---- recordset members ----------------------------------------------------------------
  const id: number = one.id;
  const ids: readonly number[] = found.ids;
  const len: number = found.length;
  const model: string = found.model;
  for (const record of found) expectType<RecordSet<User>>(record);
  const first: RecordSet<User> = found.at(0).ensureOne();
  const still: RecordSet<User> = await found.exists();
  const all: RecordSet<User> = found.concat(browsed, created).union(many, viaStatic);
  const shown: string = found.toString();
  // The class's methods are the record's (this helper has no `this` annotation: plain class `this`).
  const greeting: string = one.greet();

  // ---- toDict / read: exactly the asked fields --------------------------------------------
  const picked = await one.toDict(['name', 'score']);
  expectTrue<Equal<typeof picked, Pick<Values<User>, 'name' | 'score'>>>();
  expectTrue<Equal<Flat<typeof picked>, { name: string; score: number | null }>>();
  const pickedName: string = picked.name;
  // @ts-expect-error toDict(['name', 'score']) has no "age"
  void picked.age;
  expectTrue<Equal<Awaited<ReturnType<typeof one.toDict<FieldKeys<User>>>>, Pick<Values<User>, FieldKeys<User>>>>();
  const full = await one.toDict();
  const fullAge: number = full.age;

  const rows = await found.read(['name']);
  expectTrue<Equal<typeof rows, ReadRow<User, 'name'>[]>>();
  expectTrue<Equal<Flat<(typeof rows)[number]>, { id: number; name: string }>>();
  // @ts-expect-error read(['name']) rows have no "age"
  void rows[0].age;

  // ---- mapped / filtered / sorted / prefetch --------------------------------------------
  const names = await found.mapped('name');
  expectTrue<Equal<typeof names, string[]>>();
  const scores: (number | null)[] = await found.mapped('score');
  const lengths: number[] = await found.mapped(async (u) => (await u.name).length);
  const adults: RecordSet<User> = await found.filtered(async (u) => (await u.age) >= 18);
  const actives: RecordSet<User> = await found.filtered('active');
  const byName: RecordSet<User> = await found.sorted('name', { reverse: true });
  await found.prefetch(['name', 'age']);

  // ---- write --------------------------------------------------------------------------
  await found.write({ name: 'x', score: null });
  await found.write({});
  const written: void = await one.write({ age: 4 });

  // ================= negative checks: each line below must NOT compile ====================

  // @ts-expect-error unknown field
  void one.nope;
  // @ts-expect-error fields are read-only Promise properties: use write()
  one.name = 'x';
  // @ts-expect-error read-only even with a value of the right type (this line checks `readonly` alone)
  one.name = Promise.resolve('x');
  // @ts-expect-error a field reads as a Promise, not as its value
  const notAwaited: string = one.name;
  // @ts-expect-error id is not writable
  one.id = 3;

  // @ts-expect-error write: unknown field
  await one.write({ nope: 1 });
  // @ts-expect-error write: age is a number
  await one.write({ age: 'x' });
  // @ts-expect-error write: age is declared `number`, not `number | null`
  await one.write({ age: null });
  // @ts-expect-error write: a method is not a field
  await one.write({ greet: () => 'x' });
  // @ts-expect-error write: ids are assigned by the database
  await one.write({ id: 5 });

  // @ts-expect-error create: name is a string
  await users.create({ name: 5 });
  // @ts-expect-error create: unknown field
  await users.create({ name: 'x', nope: 1 });
  // @ts-expect-error create of many: wrong type in one of the rows
  await users.create([{ name: 'ok' }, { name: 5 }]);
  // @ts-expect-error static create: unknown field
  await User.create({ nope: 1 });

  // @ts-expect-error toDict: unknown field
  await one.toDict(['nope']);
  // @ts-expect-error read: unknown field
  await found.read(['name', 'nope']);
  // @ts-expect-error mapped: unknown field
  await found.mapped('nope');
  // @ts-expect-error mapped: a method is not a field
  await found.mapped('greet');
  // @ts-expect-error filtered: unknown field
  await found.filtered('nope');
  // @ts-expect-error sorted: unknown field
  await found.sorted('nope');
  // @ts-expect-error prefetch: unknown field
  await found.prefetch(['nope']);

  // @ts-expect-error recordsets of different models do not combine
  found.concat(tags);
  // @ts-expect-error a RecordSet<Tag> is not a RecordSet<User>
  const wrongModel: RecordSet<User> = tags;
  // @ts-expect-error search: unknown operator
  await users.search([['age', '>>', 1]]);
  // @ts-expect-error browse: ids are numbers
  users.browse('1');

  // Not checked at compile time, so deliberately no negative check for them (they fail
  // at run time only): env.model(NotAModel) compiles, since any class fits ModelClass<M>
  // (SchemaError when called); and a domain leaf's field name is a plain string, so
  // search([['nope', '=', 1]]) compiles (DomainError when called).
  void NotAModel;

  void [
    n,
    a,
    s,
    b,
    d,
    label,
    id,
    ids,
    len,
    model,
    first,
    still,
    all,
    shown,
    pickedName,
    fullAge,
    names,
    scores,
    lengths,
    adults,
    actives,
    byName,
    written,
    count,
    staticName,
    notAwaited,
    wrongModel,
    greeting,
  ];
}

// ---- field options ------------------------------------------------------------------------
@Model('sch_types_stamped')
class Stamped extends BaseModel {
  @Field.datetime({ format: 'sql' }) whole!: Date;
  @Field({ format: 'iso' }) inferred!: Date;
  // @ts-expect-error a datetime's format is 'iso' or 'sql'
  @Field.datetime({ format: 'local' }) local!: Date;
  // @ts-expect-error format is a datetime option
  @Field.string({ format: 'sql' }) code!: string;
}
export const stampedFields: FieldKeys<Stamped>[] = ['whole', 'inferred', 'local', 'code'];

// ---- methods and getters on models (README "Methods on models") ---------------------------
@Model('sch_types_account')
class Account extends BaseModel {
  @Field() name!: string;
  @Field() email!: string;
  @Field.many2one(() => Tag) tag!: Tag | null;

  /** `this: RecordSet<Account>` types `this.name` as the Promise it is. */
  async label(this: RecordSet<Account>): Promise<string> {
    expectTrue<Equal<typeof this.name, Promise<string>>>();
    expectTrue<Equal<typeof this.tag, Promise<RecordSet<Tag>>>>();
    // @ts-expect-error inside an annotated method a field is a Promise, not its value
    const bare: string = this.name;
    void bare;
    return `${await this.name} <${await this.email}>`;
  }

  /** A getter cannot declare `this`: asRecord<Account>(this) is the record, typed. */
  get upper(): Promise<string> {
    return asRecord<Account>(this).name.then((n) => n.toUpperCase());
  }

  /** Overriding a recordset method: super reaches the recordset's. */
  override async write(this: RecordSet<Account>, values: Partial<Values<Account>>): Promise<void> {
    await super.write({ ...values, email: (values.email ?? (await this.email)).toLowerCase() });
  }
}

export async function methodChecks(env: Environment): Promise<void> {
  const account = env.model(Account).browse(1);
  // Fields stay fields; methods and getters are not fields.
  expectTrue<Equal<FieldKeys<Account>, 'name' | 'email' | 'tag'>>();
  const label: string = await account.label();
  expectTrue<Equal<typeof account.upper, Promise<string>>>();
  expectTrue<Equal<ReturnType<typeof account.label>, Promise<string>>>();
  const isAccount: boolean = account instanceof Account;
  await account.write({ name: 'x' });
  const json = account.toJSON();
  expectTrue<Equal<typeof json, CachedRow<Account> | CachedRow<Account>[]>>();
  const cachedName: string | undefined = (json as CachedRow<Account>).name;

  // @ts-expect-error a getter is read-only on a record
  account.upper = Promise.resolve('x');
  // @ts-expect-error write: a getter is not a field
  await account.write({ upper: 'X' });
  // @ts-expect-error write: a method is not a field
  await account.write({ label: 'X' });
  // @ts-expect-error create: a getter is not a field
  await env.model(Account).create({ name: 'a', email: 'b', upper: 'X' });
  // @ts-expect-error toDict: a getter is not a field
  await account.toDict(['upper']);
  // @ts-expect-error mapped: a getter is not a field
  await account.mapped('upper');
  // @ts-expect-error toJSON rows hold fields only
  void (json as CachedRow<Account>).upper;

  void [label, isAccount, cachedName];
}
