import 'reflect-metadata';
import { BaseModel, Environment, Field, Model, SchemaError, ValidationError, type ModelClass } from '../lib';
import { describeEachDatabase, type TestDatabase } from './helpers/databases';

/*
 * Review of issue 10 (besides keys): models per Environment, datetime format 'sql',
 * readonly models and naming, sync over existing tables. Each test is a finding.
 */

@Model({ name: 'r2_parent', table: 'r2_parent' })
class Parent extends BaseModel {
  @Field() name!: string;
}

/** A readonly table (not a view) with a real foreign key, declared 'restrict' (required many2one). */
@Model({ name: 'r2_child', table: 'r2_child', readonly: true })
class Child extends BaseModel {
  @Field.many2one(() => Parent, { column: 'parent_id', required: true }) parent!: Parent;
}

@Model({ name: 'r2_money', table: 'r2_money' })
class Money extends BaseModel {
  @Field.decimal({ precision: 16, scale: 2 }) amount!: string | null;
}

@Model({ name: 'r2_person', table: 'r2_person', naming: 'snake_case', order: 'lastName desc' })
class Person extends BaseModel {
  @Field() firstName!: string;
  @Field() lastName!: string;
}

async function dropTables(env: Environment, tables: readonly string[]): Promise<void> {
  for (const t of tables) await env.knex.schema.dropTableIfExists(t);
}

describeEachDatabase('review2', (db: TestDatabase) => {
  const opened: Environment[] = [];
  async function open(models: readonly ModelClass<unknown>[]): Promise<Environment> {
    const env = await Environment.open({ ...db.config, models });
    opened.push(env);
    return env;
  }
  afterEach(async () => {
    for (const env of opened.splice(0).reverse()) if (!env.isClosed) await env.close();
  });

  it('an existing foreign key of a readonly table whose ON DELETE differs from the declaration is a SchemaError at sync', async () => {
    const env = await open([Parent, Child]);
    await dropTables(env, ['r2_child', 'r2_parent']);
    await env.knex.raw(
      'CREATE TABLE r2_parent (id INTEGER PRIMARY KEY' +
        (db.name === 'sqlite' ? ' AUTOINCREMENT' : ' AUTO_INCREMENT') +
        ', name VARCHAR(255))',
    );
    await env.knex.raw(
      'CREATE TABLE r2_child (id INTEGER NOT NULL PRIMARY KEY, parent_id INTEGER NOT NULL, ' +
        'CONSTRAINT r2_child_fk FOREIGN KEY (parent_id) REFERENCES r2_parent (id) ON DELETE CASCADE)',
    );
    // The cache trusts 'restrict' (the declaration): the database cascades instead.
    await expect(env.sync()).rejects.toThrow(SchemaError);
  });

  it('a decimal is either stored exactly or refused before SQL: never cached as written and read back rounded', async () => {
    const env = await open([Money]);
    await dropTables(env, ['r2_money']);
    await env.sync();
    const fifteen = await env.model(Money).create({ amount: '9999999999999.99' });
    if (db.name === 'sqlite') {
      // 16 significant digits: a REAL would round them.
      const q = env.stats.queries;
      await expect(env.model(Money).create({ amount: '99999999999999.99' })).rejects.toThrow(ValidationError);
      await expect(env.model(Money).create({ amount: '99999999999999.99' })).rejects.toThrow(
        /amount: SQLite stores decimals as REAL, exact to 15 significant digits; this value has 16/,
      );
      await expect(fifteen.write({ amount: '-0.1234567890123456' })).rejects.toThrow(ValidationError);
      expect(env.stats.queries).toBe(q);
      expect(await env.model(Money).searchCount()).toBe(1);
    } else {
      const m = await env.model(Money).create({ amount: '99999999999999.99' });
      env.clearCache();
      expect(await env.model(Money).browse(m.id).amount).toBe('99999999999999.99');
    }
    env.clearCache();
    expect(await env.model(Money).browse(fifteen.id).amount).toBe('9999999999999.99');
  });

  it('snake_case: order and domains name properties, SQL uses the columns', async () => {
    const env = await open([Person]);
    await dropTables(env, ['r2_person']);
    await env.sync();
    await env.model(Person).create([
      { firstName: 'a', lastName: 'x' },
      { firstName: 'b', lastName: 'z' },
      { firstName: 'c', lastName: 'y' },
    ]);
    const found = await env.model(Person).search([['firstName', '!=', 'q']], { order: 'firstName desc' });
    expect(await found.read(['firstName'])).toEqual([
      { id: 3, firstName: 'c' },
      { id: 2, firstName: 'b' },
      { id: 1, firstName: 'a' },
    ]);
    expect((await env.model(Person).search()).ids).toEqual([2, 3, 1]);
    const cols =
      db.name === 'sqlite'
        ? (await env.knex.raw<Array<{ name: string }>>('PRAGMA table_info(r2_person)')).map((c) => c.name)
        : (
            (await env.knex.raw(
              "SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'r2_person' ORDER BY ORDINAL_POSITION",
            )) as [Array<{ name: string }>]
          )[0].map((c) => c.name);
    expect(cols).toEqual(['id', 'first_name', 'last_name']);
  });
});
