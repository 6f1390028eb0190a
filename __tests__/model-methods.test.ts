import 'reflect-metadata';
import { inspect } from 'node:util';
import type { ClassRef } from '../lib';
import {
  BaseModel,
  Environment,
  Field,
  Model,
  RecordSetBase,
  SchemaError,
  ValidationError,
  asRecord,
  defineModel,
  type RecordSet,
  type Values,
} from '../lib';
import { countQueries, describeEachDatabase } from './helpers/databases';

/** Records are instances of their model class (README "Methods on models"). */

@Model('mm_partner')
class Partner extends BaseModel {
  @Field() name!: string;
}

/** A model base class with a method of its own: subclasses' records inherit it. */
abstract class Named extends BaseModel {
  async shout(this: RecordSet<Named & { name: string }>): Promise<string> {
    return (await this.name).toUpperCase();
  }
}

const writes: object[] = [];

@Model('mm_account')
class Account extends Named {
  @Field({ required: true }) name!: string;
  @Field.string() email!: string | null;
  @Field.many2one(() => Partner) partner!: Partner | null;
  /** Not loaded with the other columns: read on its own. */
  @Field.text({ prefetch: false }) notes!: string | null;

  async label(this: RecordSet<Account>): Promise<string> {
    return `${await this.name} <${await this.email}>`;
  }

  get upper(): Promise<string> {
    return asRecord<Account>(this).name.then((n) => n.toUpperCase());
  }

  async partnerName(this: RecordSet<Account>): Promise<string | null> {
    const partner = await this.partner;
    return partner.length ? partner.name : null;
  }

  override async write(this: RecordSet<Account>, values: Partial<Values<Account>>): Promise<void> {
    writes.push(values);
    await super.write(values.email ? { ...values, email: values.email.toLowerCase() } : values);
  }
}

/** A model class that does not extend BaseModel: fields and recordset calls work as before. */
@Model('mm_plain')
class Plain {
  @Field() title!: string;
  hello(): string {
    return 'hello';
  }
}

describeEachDatabase('methods on models', (db) => {
  let env: Environment;
  beforeEach(async () => {
    env = await db.open({ models: [Partner, Account, Plain] });
    writes.length = 0;
  });
  afterEach(async () => {
    await env.close();
  });

  /** n accounts (and n / 10 partners), created through a fork: `env` starts with a cold cache. */
  async function seed(n: number): Promise<void> {
    const work = env.fork();
    const partners = await work
      .model(Partner)
      .create(Array.from({ length: Math.max(1, n / 10) }, (_, i) => ({ name: `p${i}` })));
    await work.model(Account).create(
      Array.from({ length: n }, (_, i) => ({
        name: `a${i}`,
        email: `a${i}@x.io`,
        partner: partners.ids[i % partners.length],
      })),
    );
  }

  it('a record is an instance of its class, of its model base classes and of BaseModel', async () => {
    await seed(1);
    const [account] = await env.model(Account).search([]);
    expect(account instanceof Account).toBe(true);
    expect(account instanceof Named).toBe(true);
    expect(account instanceof BaseModel).toBe(true);
    expect(account instanceof RecordSetBase).toBe(true);
    expect(account instanceof Partner).toBe(false);
    expect(account.constructor).toBe(Account);
    expect(env.model(Account).browse([]) instanceof Account).toBe(true);
  });

  it('a method reads fields through this, on every record of a 1,000-record prefetch set: 1 search + 1 load', async () => {
    await seed(1000);
    const labels: string[] = [];
    const queries = await countQueries(env, async () => {
      const accounts = await env.model(Account).search([], { order: 'id' });
      for (const account of accounts) labels.push(await account.label());
    });
    expect(queries).toBe(2);
    expect(labels).toHaveLength(1000);
    expect(labels[0]).toBe('a0 <a0@x.io>');
    expect(labels[999]).toBe('a999 <a999@x.io>');
  });

  it('getters, inherited methods and relations through this keep the prefetch counts', async () => {
    await seed(1000);
    const out: Array<[string, string, string | null]> = [];
    const queries = await countQueries(env, async () => {
      const accounts = await env.model(Account).search([], { order: 'id' });
      for (const account of accounts)
        out.push([await account.upper, await account.shout(), await account.partnerName()]);
    });
    // search, accounts' columns, partners' names
    expect(queries).toBe(3);
    expect(out[0]).toEqual(['A0', 'A0', 'p0']);
    expect(out[999]).toEqual(['A999', 'A999', 'p99']);
  });

  it('an override of write runs for record.write, and super.write does the work', async () => {
    await seed(1);
    const [account] = await env.model(Account).search([]);
    const queries = await countQueries(env, () => account.write({ email: 'MIXED@X.IO' }));
    expect(queries).toBe(1);
    expect(writes).toEqual([{ email: 'MIXED@X.IO' }]);
    expect(await account.email).toBe('mixed@x.io');
    expect(await env.fork().model(Account).browse(account.id).email).toBe('mixed@x.io');
  });

  it('toJSON is synchronous: the id and the cached fields, relations as keys, never internals', async () => {
    await seed(2);
    const accounts = await env.model(Account).search([], { order: 'id' });
    const [first, second] = accounts;
    // Nothing loaded yet: the id alone, and no query to find that out.
    const cold = await countQueries(env, async () =>
      expect(JSON.parse(JSON.stringify(first))).toEqual({ id: first.id }),
    );
    expect(cold).toBe(0);
    await first.name; // loads the prefetchable columns of both
    const partnerId = (await first.partner).id;
    expect(JSON.parse(JSON.stringify(first))).toEqual({
      id: first.id,
      name: 'a0',
      email: 'a0@x.io',
      partner: partnerId,
    });
    expect(first.toJSON()).toEqual({ id: first.id, name: 'a0', email: 'a0@x.io', partner: partnerId });
    // A set gives an array; an empty one, [].
    expect(JSON.parse(JSON.stringify(accounts))).toEqual([
      { id: first.id, name: 'a0', email: 'a0@x.io', partner: partnerId },
      { id: second.id, name: 'a1', email: 'a1@x.io', partner: expect.anything() },
    ]);
    expect(JSON.stringify(env.model(Account).browse([]))).toBe('[]');
    const text = JSON.stringify(accounts);
    for (const internal of ['session', 'schema', 'prefetchIds', 'cache', 'knex']) expect(text).not.toContain(internal);
  });

  it('toJSON leaves out a field not loaded: absent, not null and not a Promise', async () => {
    await seed(1);
    const [account] = await env.model(Account).search([]);
    await account.name; // loads the prefetchable columns, not `notes`
    expect(Object.keys(account.toJSON())).toEqual(['id', 'name', 'email', 'partner']);
    expect(await account.notes).toBeNull();
    expect(account.toJSON()).toEqual({
      id: account.id,
      name: 'a0',
      email: 'a0@x.io',
      partner: expect.anything(),
      notes: null,
    });
  });

  it('console.log shows the model, the ids and what is cached, never internals', async () => {
    await seed(3);
    const accounts = await env.model(Account).search([], { order: 'id' });
    const first = accounts.at(0);
    expect(inspect(first)).toBe(`mm_account(${first.id}) { id: ${first.id} }`);
    await first.label();
    const shown = inspect(first);
    expect(shown).toContain(`mm_account(${first.id}) { id: ${first.id}, name: 'a0', email: 'a0@x.io', partner: `);
    expect(inspect(accounts)).toBe(`mm_account(${accounts.ids.join(', ')})`);
    expect(inspect({ nested: first })).toContain(`name: 'a0'`);
    for (const internal of ['session', 'schema', 'prefetchIds', 'Layer']) expect(shown).not.toContain(internal);
    // After close, still the id and no throw.
    const closed = env.fork();
    const record = closed.model(Account).browse(first.id);
    await closed.close();
    expect(inspect(record)).toBe(`mm_account(${first.id}) { id: ${first.id} }`);
    expect(record.toJSON()).toEqual({ id: first.id });
  });

  it('records stay read-only', async () => {
    await seed(1);
    const [account] = await env.model(Account).search([]);
    expect(() => Object.assign(account, { upper: 'x' })).toThrow(ValidationError);
  });

  it('a model that does not extend BaseModel still works (fields and recordset calls; no class methods)', async () => {
    const plain = await env.model(Plain).create({ title: 't' });
    expect(await plain.title).toBe('t');
    expect(await plain.read(['title'])).toEqual([{ id: plain.id, title: 't' }]);
    expect(plain.toJSON()).toEqual({ id: plain.id, title: 't' });
    expect(plain instanceof RecordSetBase).toBe(true);
    expect((plain as unknown as { hello?: unknown }).hello).toBeUndefined();
  });
});

describe('class members named like recordset members', () => {
  /** The SchemaError @Model raises on `cls`, whose member `name` is what `define` put there. */
  function decorationError(define: (cls: ClassRef) => void): Error {
    class Bad extends BaseModel {}
    define(Bad);
    try {
      Model('mm_bad')(Bad);
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected a SchemaError');
  }
  const method = (name: string) => (cls: ClassRef) =>
    Object.defineProperty(cls.prototype, name, { value() {}, configurable: true });
  const getter = (name: string) => (cls: ClassRef) =>
    Object.defineProperty(cls.prototype, name, {
      get() {
        return 1;
      },
      configurable: true,
    });

  it.each([
    'ids',
    'id',
    'length',
    'model',
    'session',
    'schema',
    'prefetchIds',
    'readField',
    'derive',
    'then',
    'valueOf',
    'hasOwnProperty',
  ])('a member named %s is a SchemaError naming it', (name) => {
    for (const define of [method(name), getter(name)]) {
      const error = decorationError(define);
      expect(error).toBeInstanceOf(SchemaError);
      expect(error.message).toContain(`Bad.${name} would shadow the recordset's own "${name}"`);
    }
  });

  it('a public recordset method may be overridden by a method, not by a getter', () => {
    for (const name of ['write', 'unlink', 'read', 'toDict', 'toJSON', 'toString', 'mapped']) {
      class Ok extends BaseModel {}
      method(name)(Ok);
      expect(() => Model('mm_ok')(Ok)).not.toThrow();
      const error = decorationError(getter(name));
      expect(error).toBeInstanceOf(SchemaError);
      expect(error.message).toContain(
        `Bad.${name} overrides the recordset method "${name}"; it can only be overridden by a method`,
      );
    }
  });

  it('a class iterator would break the recordset calls that iterate: a SchemaError', () => {
    const error = decorationError((cls) =>
      Object.defineProperty(cls.prototype, Symbol.iterator, { value: function* () {}, configurable: true }),
    );
    expect(error).toBeInstanceOf(SchemaError);
    expect(error.message).toContain('Bad[Symbol.iterator] would shadow');
  });

  it('defineModel methods are checked the same way', () => {
    expect(() =>
      defineModel({
        name: 'mm_defined',
        fields: { title: Field.string() },
        methods: {
          get length() {
            return 0;
          },
        },
      }),
    ).toThrow(/MmDefined\.length would shadow the recordset's own "length"/);
    expect(() =>
      defineModel({ name: 'mm_defined', fields: { title: Field.string() }, methods: { async unlink() {} } }),
    ).not.toThrow();
  });

  it('members of a model base class are checked too', () => {
    abstract class Base extends BaseModel {
      get ids(): number[] {
        return [];
      }
    }
    class Child extends Base {}
    expect(() => Model('mm_child')(Child)).toThrow(/Base\.ids would shadow the recordset's own "ids"/);
  });
});
