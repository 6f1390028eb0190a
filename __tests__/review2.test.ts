import 'reflect-metadata';
import { BaseModel, Environment, Field, Model, SchemaError, type ModelClass } from '../lib';
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
    await env.knex.raw('CREATE TABLE r2_parent (id INTEGER PRIMARY KEY' + (db.name === 'sqlite' ? ' AUTOINCREMENT' : ' AUTO_INCREMENT') + ', name VARCHAR(255))');
    await env.knex.raw('CREATE TABLE r2_child (id INTEGER NOT NULL PRIMARY KEY, parent_id INTEGER NOT NULL, '
      + 'CONSTRAINT r2_child_fk FOREIGN KEY (parent_id) REFERENCES r2_parent (id) ON DELETE CASCADE)');
    // The cache trusts 'restrict' (the declaration): the database cascades instead.
    await expect(env.sync()).rejects.toThrow(SchemaError);
  });
});
