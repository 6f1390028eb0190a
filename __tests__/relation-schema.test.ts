import 'reflect-metadata';
import { BaseModel, Environment, Field, Model, SchemaError } from '../lib';

// Broken relations, in a file of their own: a broken model stays in the registry and
// makes every sync() of this process fail, which is the point of the last test.

@Model('rsch_parent')
class Parent extends BaseModel {
  @Field() name!: string;
  @Field.one2many(() => Child, 'nope') kids!: Child[];
  @Field.one2many(() => Child, 'label') labels!: Child[];
}

@Model('rsch_child')
class Child extends BaseModel {
  @Field() label!: string;
  @Field.many2one(() => Parent) parent!: Parent | null;
}

class NotAModel extends BaseModel {}

describe('relation declarations', () => {
  it('rejects bad relation options at decoration time', () => {
    expect(() => {
      @Model('rsch_bad_ondelete')
      class A extends BaseModel {
        @Field.many2one(() => Parent, { onDelete: 'explode' as 'cascade' }) p!: Parent;
      }
      return A;
    }).toThrow(/onDelete must be/);
    expect(() => {
      @Model('rsch_required_setnull')
      class A extends BaseModel {
        @Field.many2one(() => Parent, { required: true, onDelete: 'set null' }) p!: Parent;
      }
      return A;
    }).toThrow(SchemaError);
    expect(() => {
      @Model('rsch_bad_option')
      class A extends BaseModel {
        @Field.many2many(() => Parent, { table: 'x' } as never) p!: Parent[];
      }
      return A;
    }).toThrow(/unknown option "table"/);
    expect(() => {
      @Model('rsch_bad_target')
      class A extends BaseModel {
        @Field.many2one(Parent as never) p!: Parent;
      }
      return A;
    }).not.toThrow(); // a class is a function: resolved (and rejected) on first use
  });

  it('a one2many whose inverse is missing, not a many2one, or a target that is not a model: SchemaError on first use and at sync', async () => {
    const env = await Environment.open();
    try {
      expect(() => env.model(Parent).browse(1).kids).toThrow(/inverse field "nope" does not exist on model "rsch_child"/);
      expect(() => env.model(Parent).browse(1).labels).toThrow(/is not a many2one/);
      @Model('rsch_to_nothing')
      class ToNothing extends BaseModel {
        @Field.many2one(() => NotAModel) x!: NotAModel;
      }
      expect(() => env.model(ToNothing).browse(1).x).toThrow(/NotAModel is not a model/);
      await expect(env.sync()).rejects.toThrow(SchemaError);
      expect(await env.knex.schema.hasTable('rsch_child')).toBe(false);
    } finally {
      await env.close();
    }
  });
});
