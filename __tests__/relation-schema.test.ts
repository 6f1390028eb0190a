import 'reflect-metadata';
import { BaseModel, Environment, Field, Model, SchemaError } from '../lib';

// Broken relations, in a file of their own: a broken model stays in the registry and
// makes every Environment.open() of this process without { models } fail, which is the
// point of the last test.

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

  it('a one2many whose inverse is missing, not a many2one, or a target that is not a model: SchemaError at open, before any connection', async () => {
    // Every registered model (the default set) includes the broken Parent.
    await expect(Environment.open()).rejects.toThrow(
      /rsch_parent\.kids: inverse field "nope" does not exist on model "rsch_child"/,
    );
    await expect(Environment.open({ models: [Parent, Child] })).rejects.toThrow(SchemaError);
    @Model('rsch_labels')
    class Labels extends BaseModel {
      @Field.one2many(() => Child, 'label') labels!: Child[];
    }
    await expect(Environment.open({ models: [Labels, Child, Parent] })).rejects.toThrow(
      /rsch_labels\.labels: inverse field "rsch_child\.label" is not a many2one/,
    );
    @Model('rsch_to_nothing')
    class ToNothing extends BaseModel {
      @Field.many2one(() => NotAModel) x!: NotAModel;
    }
    await expect(Environment.open({ models: [ToNothing] })).rejects.toThrow(/NotAModel is not a model/);
  });

  it('a target given as the class instead of a function returning it: SchemaError at open, not a TypeError', async () => {
    @Model('rsch_no_arrow')
    class NoArrow extends BaseModel {
      @Field.many2one(Parent as never) p!: Parent;
    }
    const open = Environment.open({ models: [NoArrow, Parent, Child] });
    await expect(open).rejects.toThrow(SchemaError);
    await expect(Environment.open({ models: [NoArrow, Parent, Child] })).rejects.toThrow(
      /rsch_no_arrow\.p: the target must be a function returning the model class/,
    );
  });
});
