import 'reflect-metadata';
import {
  BaseModel,
  ConnectionError,
  DatabaseError,
  Environment,
  EnvironmentError,
  Field,
  Model,
  SchemaError,
  UniqueViolationError,
  ValidationError,
  type EnvironmentConfig,
} from '../lib';
import type { FieldDef } from '../lib/model/field-types';
import { schemaOf } from '../lib/model/registry';
import { RESERVED_NAMES } from '../lib/model/schema';
import { ModelApi } from '../lib/record/model-api';
import { RecordSetBase } from '../lib/record/recordset';
import { countQueries, describeEachDatabase } from './helpers/databases';

/**
 * @Model / @Field at decoration time (no database), then Environment open / fork /
 * close / sync on both databases. Every model of this file is named sch_*.
 */

// ---- models that decorate successfully (the env suites sync all of them) ---------------

@Model('sch_kinds')
class Kinds extends BaseModel {
  @Field() s!: string;
  @Field() i!: number;
  @Field() b!: boolean;
  @Field() dt!: Date;
  @Field() status!: 'draft' | 'done'; // a union of string literals is emitted as String
  @Field.float() f!: number;
  @Field.text() t!: string;
  @Field.json() j!: unknown;
  @Field.json() tags!: string[];
  @Field.decimal({ precision: 8, scale: 3 }) dec!: string;
  @Field.decimal({ scale: 0 }) whole!: number;
  @Field.string({ size: 20 }) short!: string;
  @Field.integer() maybe!: number | null;
  @Field.string() maybeText!: string | null;
  @Field.boolean() maybeFlag!: boolean | null;
  @Field.datetime() maybeDate!: Date | null;
}

let serial = 0;
const START = new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 6));

@Model({ name: 'sch_opts', table: 'sch_opts_table', order: 'name desc, id' })
class Opts extends BaseModel {
  @Field({ required: true }) name!: string;
  @Field({ default: 'draft' }) status!: string;
  @Field({ default: () => `n${++serial}` }) serial!: string;
  @Field.decimal({ default: 1.5 }) price!: string;
  @Field({ default: START }) start!: Date;
  @Field.string({ index: true }) city!: string | null;
  @Field.string({ unique: true, size: 10 }) code!: string | null;
  @Field.string({ column: 'label_col' }) label!: string | null;
  @Field.text({ prefetch: false }) body!: string | null;
}

/** Not a model: an abstract base holding fields that models inherit. */
abstract class Stamped extends BaseModel {
  @Field.datetime() createdAt!: Date | null;
  @Field() origin!: string;
}

@Model('sch_stamped')
class StampedNote extends Stamped {
  @Field() title!: string;
}

@Model('sch_stamped_redeclared')
class StampedRedeclared extends Stamped {
  @Field.text() override origin!: string; // the subclass's declaration wins
}

@Model('sch_parent')
class Parent extends BaseModel {
  @Field() a!: string;
}

@Model('sch_child')
class Child extends Parent {
  @Field() b!: string;
}

@Model('sch_note')
class Note extends BaseModel {
  @Field() title!: string;
  @Field.integer() views!: number | null;
}

/** The table the sync test creates by hand with only `name`, so sync must add the rest. */
@Model('sch_legacy')
class Legacy extends BaseModel {
  @Field() name!: string;
  @Field.float() score!: number | null;
  @Field({ required: true, default: 'new' }) state!: string;
  @Field.string({ column: 'note_col', size: 40 }) note!: string | null;
  @Field({ required: true }) code!: string;
}

// ---- helpers -------------------------------------------------------------------------

function field(cls: Parameters<typeof schemaOf>[0], name: string): FieldDef {
  const f = schemaOf(cls).fields.get(name);
  if (!f) throw new Error(`${cls.name} has no field ${name}`);
  return f;
}

/** Runs a class definition that must be refused, and returns the SchemaError it threw. */
function decorationError(define: () => unknown): SchemaError {
  try {
    define();
  } catch (e) {
    expect(e).toBeInstanceOf(SchemaError);
    return e as SchemaError;
  }
  throw new Error('expected a SchemaError, but the class was accepted');
}

type Lib = typeof import('../lib');
/**
 * A second copy of the library with a registry of its own. For checks whose failure
 * (the class accepted) would register a model that sync cannot create, which would
 * break the database suites below.
 */
function isolatedLib(): Lib {
  let lib!: Lib;
  jest.isolateModules(() => {
    lib = require('../lib') as Lib;
  });
  return lib;
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

/** Runs fn with console.log muted: knex logs failed connection attempts there. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const spy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    return await fn();
  } finally {
    spy.mockRestore();
  }
}

// ======================================================================================

describe('@Field types', () => {
  it('infers string, integer, boolean and datetime from design:type', () => {
    expect(field(Kinds, 's')).toMatchObject({ type: 'string', size: 255, column: 's' });
    expect(field(Kinds, 'i').type).toBe('integer');
    expect(field(Kinds, 'b').type).toBe('boolean');
    expect(field(Kinds, 'dt').type).toBe('datetime');
    expect(field(Kinds, 'status').type).toBe('string');
  });

  it('takes explicit types, with their size, precision and scale', () => {
    expect(field(Kinds, 'f').type).toBe('float');
    expect(field(Kinds, 't').type).toBe('text');
    expect(field(Kinds, 'j').type).toBe('json');
    expect(field(Kinds, 'tags').type).toBe('json');
    expect(field(Kinds, 'dec')).toMatchObject({ type: 'decimal', precision: 8, scale: 3 });
    expect(field(Kinds, 'whole')).toMatchObject({ type: 'decimal', precision: 12, scale: 0 });
    expect(field(Kinds, 'short')).toMatchObject({ type: 'string', size: 20 });
    expect(field(Kinds, 'maybe').type).toBe('integer');
    expect(field(Kinds, 'maybeText').type).toBe('string');
    expect(field(Kinds, 'maybeFlag').type).toBe('boolean');
    expect(field(Kinds, 'maybeDate').type).toBe('datetime');
  });

  it('defaults every option', () => {
    expect(field(Kinds, 's')).toEqual({
      name: 's',
      type: 'string',
      column: 's',
      required: false,
      default: undefined,
      index: false,
      unique: false,
      prefetch: true,
      size: 255,
      precision: 12,
      scale: 2,
    });
    const schema = schemaOf(Kinds);
    expect(schema).toMatchObject({ name: 'sch_kinds', table: 'sch_kinds', order: 'id', cls: Kinds });
    expect([...schema.fields.keys()]).toEqual([
      's',
      'i',
      'b',
      'dt',
      'status',
      'f',
      't',
      'j',
      'tags',
      'dec',
      'whole',
      'short',
      'maybe',
      'maybeText',
      'maybeFlag',
      'maybeDate',
    ]);
    expect(schema.fields.has('id')).toBe(false);
  });
});

describe('@Field and @Model options', () => {
  it('records required, index, unique, column and prefetch', () => {
    expect(field(Opts, 'name').required).toBe(true);
    expect(field(Opts, 'status').required).toBe(false);
    expect(field(Opts, 'city')).toMatchObject({ index: true, unique: false });
    expect(field(Opts, 'code')).toMatchObject({ unique: true, size: 10 });
    expect(field(Opts, 'label')).toMatchObject({ name: 'label', column: 'label_col' });
    expect(field(Opts, 'body').prefetch).toBe(false);
    const schema = schemaOf(Opts);
    expect(schema.prefetchFields.map((f) => f.name)).toEqual([
      'name',
      'status',
      'serial',
      'price',
      'start',
      'city',
      'code',
      'label',
    ]);
    expect(schema).toMatchObject({ name: 'sch_opts', table: 'sch_opts_table', order: 'name desc, id' });
  });

  it('stores a static default in canonical form, and a function default as is', () => {
    expect(field(Opts, 'status').default).toBe('draft');
    expect(field(Opts, 'price').default).toBe('1.50');
    const start = field(Opts, 'start').default;
    expect(start).toEqual(START);
    expect(start).not.toBe(START); // a copy: mutating the Date given to @Field changes nothing
    const fn = field(Opts, 'serial').default as () => string;
    expect(typeof fn).toBe('function');
    const before = serial;
    fn();
    expect(serial).toBe(before + 1);
  });

  it('collects fields of abstract bases and parent models, own declarations first', () => {
    expect([...schemaOf(StampedNote).fields.keys()]).toEqual(['title', 'createdAt', 'origin']);
    expect(field(StampedNote, 'createdAt').type).toBe('datetime');
    expect(field(StampedRedeclared, 'origin').type).toBe('text');
    expect(field(StampedNote, 'origin').type).toBe('string');
    expect([...schemaOf(Child).fields.keys()]).toEqual(['b', 'a']);
    expect([...schemaOf(Parent).fields.keys()]).toEqual(['a']);
    expect(() => schemaOf(Stamped)).toThrow(SchemaError);
    expect(() => schemaOf(Stamped)).toThrow(/Stamped is not a model/);
  });
});

describe('SchemaError at decoration time', () => {
  it('a property whose column type cannot be inferred', () => {
    expect(
      decorationError(() => {
        @Model('sch_bad_array')
        class _A extends BaseModel {
          @Field() tags!: string[];
        }
      }).message,
    ).toMatch(/sch_bad_array\.tags: cannot infer a column type from design:type Array.*@Field\.json\(\)/);
    expect(
      decorationError(() => {
        @Model('sch_bad_union')
        class _A extends BaseModel {
          @Field() n!: number | null;
        }
      }).message,
    ).toMatch(/sch_bad_union\.n: cannot infer a column type from design:type Object/);
    expect(
      decorationError(() => {
        @Model('sch_bad_unknown')
        class _A extends BaseModel {
          @Field() v!: unknown;
        }
      }).message,
    ).toMatch(/sch_bad_unknown\.v: cannot infer/);
  });

  // Names and tables are unique per Environment (its { models }), not per process.
  it('two models with one name: accepted, but not in one Environment', async () => {
    const lib = isolatedLib();
    @lib.Model('sch_kinds')
    class First extends lib.BaseModel {}
    @lib.Model({ name: 'sch_kinds', table: 'sch_kinds_2' })
    class Other extends lib.BaseModel {}
    expect(schemaOf(Kinds).cls).toBe(Kinds);
    for (const models of [undefined, [First, Other]]) {
      const e = await rejection(lib.Environment.open({ models }));
      expect(e).toBeInstanceOf(lib.SchemaError);
      expect(e.message).toMatch(/model name "sch_kinds" is used by class First and class Other/);
    }
    await (await lib.Environment.open({ models: [Other] })).close();
  });

  it('two models with one table: accepted, but not in one Environment', async () => {
    const lib = isolatedLib();
    @lib.Model({ name: 'sch_opts', table: 'sch_opts_table' })
    class Opts1 extends lib.BaseModel {}
    @lib.Model({ name: 'sch_other_opts', table: 'sch_opts_table' })
    class Other extends lib.BaseModel {}
    // A model name defaults its table: here it collides with another model's explicit table.
    @lib.Model('sch_opts_table')
    class Third extends lib.BaseModel {}
    for (const [models, message] of [
      [[Opts1, Other], /table "sch_opts_table" of model "sch_other_opts" is already used by model "sch_opts"/],
      [[Opts1, Third], /table "sch_opts_table" of model "sch_opts_table" is already used by model "sch_opts"/],
    ] as const) {
      const e = await rejection(lib.Environment.open({ models }));
      expect(e).toBeInstanceOf(lib.SchemaError);
      expect(e.message).toMatch(message);
    }
  });

  it('two models whose tables differ only in case (one table in SQLite)', async () => {
    const { Model: M, BaseModel: Base, SchemaError: IsolatedSchemaError, Environment: Env } = isolatedLib();
    @M('sch_case_table')
    class First extends Base {}
    @M({ name: 'sch_case_other', table: 'SCH_Case_Table' })
    class Second extends Base {}
    const e = await rejection(Env.open({ models: [First, Second] }));
    expect(e).toBeInstanceOf(IsolatedSchemaError);
    expect(e.message).toMatch(/table "SCH_Case_Table".*already used by model "sch_case_table"/);
  });

  it('an unknown option', () => {
    expect(
      decorationError(() => {
        @Model('sch_bad_option')
        class _A extends BaseModel {
          // @ts-expect-error misspelt option: also a compile error
          @Field({ requird: true }) name!: string;
        }
      }).message,
    ).toMatch(/sch_bad_option\.name: unknown option "requird"/);
    // An option of another field type.
    expect(
      decorationError(() => {
        @Model('sch_bad_option_type')
        class _A extends BaseModel {
          @Field({ size: 10 }) n!: number;
        }
      }).message,
    ).toMatch(/sch_bad_option_type\.n: unknown option "size"/);
    expect(
      decorationError(() => {
        @Model('sch_bad_option_text')
        class _A extends BaseModel {
          @Field.text({ precision: 3 } as never) t!: string;
        }
      }).message,
    ).toMatch(/unknown option "precision"/);
    expect(
      decorationError(() => {
        // @ts-expect-error unknown @Model option
        @Model({ name: 'sch_bad_model_option', tabel: 'x' })
        class _A extends BaseModel {}
      }).message,
    ).toMatch(/@Model on _A: unknown option "tabel"/);
  });

  it('an option of the wrong type', () => {
    expect(
      decorationError(() => {
        @Model('sch_bad_required')
        class _A extends BaseModel {
          // @ts-expect-error required is a boolean
          @Field({ required: 'yes' }) name!: string;
        }
      }).message,
    ).toMatch(/sch_bad_required\.name: option "required" must be a boolean/);
    expect(
      decorationError(() => {
        @Model('sch_bad_prefetch')
        class _A extends BaseModel {
          // @ts-expect-error prefetch is a boolean
          @Field.text({ prefetch: 0 }) t!: string;
        }
      }).message,
    ).toMatch(/option "prefetch" must be a boolean/);
    expect(
      decorationError(() => {
        @Model('sch_bad_size_type')
        class _A extends BaseModel {
          // @ts-expect-error size is a number
          @Field.string({ size: '10' }) s!: string;
        }
      }).message,
    ).toMatch(/option "size" must be an integer from 1 to \d+/);
    expect(
      decorationError(() => {
        @Model('sch_bad_column_type')
        class _A extends BaseModel {
          // @ts-expect-error column is a string
          @Field({ column: 5 }) s!: string;
        }
      }).message,
    ).toMatch(/invalid column name 5/);
    expect(
      decorationError(() => {
        @Model('sch_bad_options')
        class _A extends BaseModel {
          @Field('s' as never) s!: string;
        }
      }).message,
    ).toMatch(/options must be an object/);
  });

  it('a reserved property name', () => {
    for (const name of ['write', 'ids', 'id', 'length', 'then', 'env', 'toDict', 'model', '__proto__']) {
      class A extends BaseModel {}
      Field.string()(A.prototype, name);
      const e = decorationError(() => Model('sch_reserved')(A));
      expect(e.message).toContain(`sch_reserved.${name}: "${name}" is reserved`);
    }
    // Decorated in the usual way too.
    expect(
      decorationError(() => {
        @Model('sch_reserved_then')
        class _A extends BaseModel {
          @Field() then!: string;
        }
      }).message,
    ).toMatch(/"then" is reserved/);
    // The column may keep the name.
    @Model('sch_reserved_column')
    class Renamed extends BaseModel {
      @Field({ column: 'length' }) size!: number;
    }
    expect(field(Renamed, 'size').column).toBe('length');
  });

  it('rejects every name in RESERVED_NAMES', () => {
    for (const name of RESERVED_NAMES) {
      class A extends BaseModel {}
      Field.string()(A.prototype, name);
      expect(decorationError(() => Model('sch_reserved_all')(A)).message).toContain(`"${name}" is reserved`);
    }
  });

  it('RESERVED_NAMES covers every member of RecordSetBase, which the record proxy would shadow', () => {
    // Members are looked up on the proxy (`this.derive(...)` inside at(), mapped(), ...),
    // so a field named like any of them, private ones included, breaks the recordset.
    const members = [
      ...Object.getOwnPropertyNames(RecordSetBase.prototype),
      ...Object.getOwnPropertyNames(new RecordSetBase({} as never, schemaOf(Note), [], null)),
    ];
    expect(members).toEqual(expect.arrayContaining(['at', 'write', 'ids', 'session']));
    expect(members.filter((name) => !RESERVED_NAMES.has(name))).toEqual([]);
  });

  it('RESERVED_NAMES covers every member of ModelApi', () => {
    const members = Object.getOwnPropertyNames(ModelApi.prototype);
    expect(members).toEqual(expect.arrayContaining(['browse', 'search', 'create']));
    expect(members.filter((name) => !RESERVED_NAMES.has(name))).toEqual([]);
  });

  it('a field named like a private recordset member', () => {
    // e.g. `derive`: accepted today, after which at(), iteration, read() and mapped() of
    // any recordset of the model throw SingletonError "derive needs a single ... record".
    expect(
      decorationError(() => {
        @Model('sch_reserved_private')
        class _A extends BaseModel {
          @Field() derive!: string;
        }
      }).message,
    ).toMatch(/"derive" is reserved/);
  });

  it('an explicit type that contradicts the TypeScript type', () => {
    expect(
      decorationError(() => {
        @Model('sch_bad_fit')
        class _A extends BaseModel {
          @Field.boolean() x!: string;
        }
      }).message,
    ).toMatch(/sch_bad_fit\.x: @Field\.boolean\(\) does not fit the declared TypeScript type String/);
    expect(
      decorationError(() => {
        @Model('sch_bad_fit_date')
        class _A extends BaseModel {
          @Field.integer() d!: Date;
        }
      }).message,
    ).toMatch(/@Field\.integer\(\) does not fit the declared TypeScript type Date/);
  });

  it('an invalid default', () => {
    expect(
      decorationError(() => {
        @Model('sch_bad_default')
        class _A extends BaseModel {
          @Field({ default: 'x' }) n!: number;
        }
      }).message,
    ).toMatch(/sch_bad_default\.n: invalid default: .*expected a safe integer/);
    expect(
      decorationError(() => {
        @Model('sch_bad_default_size')
        class _A extends BaseModel {
          @Field.string({ size: 3, default: 'long' }) s!: string;
        }
      }).message,
    ).toMatch(/invalid default: .*longer than 3 characters/);
    expect(
      decorationError(() => {
        @Model('sch_bad_default_null')
        class _A extends BaseModel {
          @Field({ required: true, default: null }) s!: string;
        }
      }).message,
    ).toMatch(/invalid default: .*is required and cannot be null/);
    expect(
      decorationError(() => {
        @Model('sch_bad_default_decimal')
        class _A extends BaseModel {
          @Field.decimal({ precision: 4, scale: 2, default: 123.45 }) d!: string;
        }
      }).message,
    ).toMatch(/invalid default: .*digits before the point/);
  });

  it('a bad order', () => {
    expect(
      decorationError(() => {
        @Model({ name: 'sch_bad_order', order: 'nope desc' })
        class _A extends BaseModel {
          @Field() name!: string;
        }
      }).message,
    ).toMatch(/@Model "sch_bad_order": bad order: unknown field "nope"/);
    for (const order of ['name sideways', 'name desc; DROP TABLE x', '', 'name desc,']) {
      const e = decorationError(() => {
        @Model({ name: 'sch_bad_order2', order })
        class _A extends BaseModel {
          @Field() name!: string;
        }
      });
      expect(e.message).toMatch(/bad order/);
    }
  });

  it('an invalid model, table or column name', () => {
    for (const name of ['sch bad', "sch_q'uote", 'sch_"dq', 'sch-dash', '1sch', '']) {
      expect(
        decorationError(() => {
          @Model(name)
          class _A extends BaseModel {}
        }).message,
      ).toContain(`invalid model name ${JSON.stringify(name)}`);
    }
    expect(
      decorationError(() => {
        @Model({ name: 'sch_bad_table', table: 'sch tbl' })
        class _A extends BaseModel {}
      }).message,
    ).toMatch(/@Model "sch_bad_table": invalid table name "sch tbl"/);
    expect(
      decorationError(() => {
        @Model({ name: 'sch_bad_table2', table: 'x`; DROP TABLE y' })
        class _A extends BaseModel {}
      }).message,
    ).toMatch(/invalid table name/);
    for (const column of ['a b', 'a"b', "a'b", 'a`b', '']) {
      expect(
        decorationError(() => {
          @Model('sch_bad_column')
          class _A extends BaseModel {
            @Field({ column }) s!: string;
          }
        }).message,
      ).toContain(`sch_bad_column.s: invalid column name ${JSON.stringify(column)}`);
    }
  });

  it('two fields on one column (the implicit id included)', () => {
    expect(
      decorationError(() => {
        @Model('sch_bad_twice')
        class _A extends BaseModel {
          @Field() name!: string;
          @Field({ column: 'name' }) other!: string;
        }
      }).message,
    ).toMatch(/model "sch_bad_twice": column "name" is used twice/);
    expect(
      decorationError(() => {
        @Model('sch_bad_id_column')
        class _A extends BaseModel {
          @Field({ column: 'id' }) other!: number;
        }
      }).message,
    ).toMatch(/column "id" is used twice/);
  });

  it('two columns whose names differ only in case (one column in both databases)', () => {
    const { Model: M, Field: F, BaseModel: Base, SchemaError: IsolatedSchemaError } = isolatedLib();
    const sameColumn = () => {
      @M('sch_case_column')
      class _A extends Base {
        @F() name!: string;
        @F({ column: 'Name' }) other!: string;
      }
    };
    expect(sameColumn).toThrow(IsolatedSchemaError);
    expect(sameColumn).toThrow(/column "Name" is used twice/);
    const idColumn = () => {
      @M('sch_case_id_column')
      class _A extends Base {
        @F({ column: 'ID' }) other!: number;
      }
    };
    expect(idColumn).toThrow(IsolatedSchemaError);
  });

  it('a size, precision or scale out of range', () => {
    expect(
      decorationError(() => {
        @Model('sch_bad_size')
        class _A extends BaseModel {
          @Field.string({ size: 0 }) s!: string;
        }
      }).message,
    ).toMatch(/sch_bad_size\.s: option "size" must be an integer from 1 to \d+/);
    expect(
      decorationError(() => {
        @Model('sch_bad_size_float')
        class _A extends BaseModel {
          @Field.string({ size: 1.5 }) s!: string;
        }
      }).message,
    ).toMatch(/option "size" must be an integer from 1 to \d+/);
    expect(
      decorationError(() => {
        @Model('sch_bad_precision')
        class _A extends BaseModel {
          @Field.decimal({ precision: 0 }) d!: string;
        }
      }).message,
    ).toMatch(/option "precision" must be an integer from 1 to \d+/);
    expect(
      decorationError(() => {
        @Model('sch_bad_scale')
        class _A extends BaseModel {
          @Field.decimal({ precision: 4, scale: 5 }) d!: string;
        }
      }).message,
    ).toMatch(/sch_bad_scale\.d: scale 5 exceeds precision 4/);
    expect(
      decorationError(() => {
        @Model('sch_bad_scale_default')
        class _A extends BaseModel {
          @Field.decimal({ precision: 1 }) d!: string; // default scale 2
        }
      }).message,
    ).toMatch(/scale 2 exceeds precision 1/);
    expect(
      decorationError(() => {
        @Model('sch_bad_scale_negative')
        class _A extends BaseModel {
          @Field.decimal({ scale: -1 }) d!: string;
        }
      }).message,
    ).toMatch(/option "scale"/);
  });

  it('a decimal precision over 65, which MariaDB cannot create', () => {
    const { Model: M, Field: F, BaseModel: Base, SchemaError: IsolatedSchemaError } = isolatedLib();
    const define = () => {
      @M('sch_big_precision')
      class _A extends Base {
        @F.decimal({ precision: 66, scale: 2 }) d!: string;
      }
    };
    expect(define).toThrow(IsolatedSchemaError);
    expect(define).toThrow(/precision/);
  });

  it('a model, table or column name over 64 characters, which MariaDB cannot create', () => {
    const { Model: M, Field: F, BaseModel: Base, SchemaError: IsolatedSchemaError } = isolatedLib();
    const long = `sch_${'x'.repeat(61)}`; // 65 characters
    const longModel = () => {
      @M(long)
      class _A extends Base {}
    };
    const longColumn = () => {
      @M('sch_long_column')
      class _A extends Base {
        @F({ column: long }) s!: string;
      }
    };
    expect(longModel).toThrow(IsolatedSchemaError);
    expect(longColumn).toThrow(IsolatedSchemaError);
  });

  it('@Field on a static property', () => {
    expect(
      decorationError(() => {
        class _A extends BaseModel {
          @Field() static s: string;
        }
      }).message,
    ).toMatch(/@Field on static _A\.s: fields are instance properties/);
  });

  it('@Field on a symbol property', () => {
    const sym = Symbol('s');
    expect(
      decorationError(() => {
        @Model('sch_bad_symbol')
        class _A extends BaseModel {
          @Field() [sym]!: string;
        }
      }).message,
    ).toMatch(/@Field on _A: symbol properties cannot be fields/);
  });

  it('@Model without a name', () => {
    expect(
      decorationError(() => {
        @Model(undefined as never)
        class _A extends BaseModel {}
      }).message,
    ).toMatch(/@Model on _A: expected a name/);
    expect(
      decorationError(() => {
        @Model({} as never)
        class _A extends BaseModel {}
      }).message,
    ).toMatch(/@Model on _A: invalid model name undefined/);
  });

  it('a refused class leaves no trace in the registry', () => {
    class A extends BaseModel {}
    Field()(A.prototype, 'tags'); // no design:type: cannot infer
    expect(() => Model('sch_refused')(A)).toThrow(SchemaError);
    expect(() => schemaOf(A)).toThrow(/is not a model/);
    // The name is still free.
    @Model('sch_refused')
    class B extends BaseModel {}
    expect(schemaOf(B).name).toBe('sch_refused');
  });
});

// ======================================================================================

describe('Environment.open with a bad config', () => {
  let keep: Environment;
  beforeAll(async () => {
    keep = await Environment.open();
  });
  afterAll(async () => {
    await keep.close();
  });

  it.each<[string, unknown, RegExp]>([
    ['a config that is not an object', null, /config must be an object/],
    ['a non-boolean prefetch', { prefetch: 'yes' }, /"prefetch" must be a boolean/],
    [
      "an unknown client (the message lists the registry's clients)",
      { client: 'oracle' },
      /unknown client "oracle" \(use one of 'sqlite', 'better-sqlite3', 'mysql2', 'mysql'/,
    ],
    [
      'an unknown option',
      { logging: true },
      /unknown option "logging" \(allowed: prefetch, queryTimeout, models, log, cache, client, filename\)/,
    ],
    [
      'options of another client',
      { client: 'mysql2', connection: 'mysql://u:s3cret@127.0.0.1/db', filename: 'x.db', pool: {} },
      /unknown options "filename", "pool" \(allowed: .*connection, poolMax\)/,
    ],
    ['a MySQL option on SQLite', { filename: 'a.db', poolMax: 3 }, /unknown option "poolMax"/],
    ['an empty SQLite filename', { filename: '' }, /filename must be a non-empty string/],
    [
      'a MySQL connection that is neither URL nor object',
      { client: 'mysql2', connection: 5 },
      /connection.*URL string or an options object/,
    ],
    [
      'a malformed MySQL URL',
      { client: 'mysql2', connection: 'mysql://u:s3cret@127.0.0.1:notaport/db' },
      /cannot parse MySQL connection URL/,
    ],
    [
      'a URL of another scheme',
      { client: 'mysql2', connection: 'postgres://u:s3cret@127.0.0.1/db' },
      /unsupported URL scheme "postgres:"/,
    ],
    [
      'a PostgreSQL connection that is neither URL nor object',
      { client: 'pg', connection: 5 },
      /postgres: `connection` must be a URL string or an options object/,
    ],
    [
      'a malformed PostgreSQL URL',
      { client: 'pg', connection: 'postgres://u:s3cret@127.0.0.1:notaport/db' },
      /cannot parse PostgreSQL connection URL/,
    ],
    [
      'a MySQL URL given to pg',
      { client: 'postgresql', connection: 'mysql://u:s3cret@127.0.0.1/db' },
      /unsupported URL scheme "mysql:" \(use postgres:\/\/\)/,
    ],
    [
      'a bad poolMax',
      { client: 'pg', connection: 'postgres://u:s3cret@h/db', poolMax: 0 },
      /poolMax.*positive integer/,
    ],
    [
      'a SQLite option on PostgreSQL',
      { client: 'postgres', connection: 'postgres://u:s3cret@h/db', filename: 'x.db' },
      /unknown option "filename" \(allowed: .*client, connection, poolMax\)/,
    ],
  ])('%s is a ValidationError naming the problem', async (_what, config, message) => {
    const e = await rejection(Environment.open(config as EnvironmentConfig));
    expect(e).toBeInstanceOf(ValidationError); // like open()'s own checks of config and prefetch
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain('s3cret');
    expect(Environment.default).toBe(keep); // a failed open leaves the default as it was
  });

  it('an unreachable PostgreSQL server is a ConnectionError', async () => {
    const e = await quietly(() =>
      rejection(Environment.open({ client: 'pg', connection: 'postgres://u:s3cret@127.0.0.1:1/db' })),
    );
    expect(e).toBeInstanceOf(ConnectionError);
    expect(e).toMatchObject({ code: 'ECONNREFUSED' });
    expect(e.message).toMatch(/database connection failed: .*ECONNREFUSED/);
    expect(e.message).not.toContain('s3cret');
    expect(Environment.default).toBe(keep);
  });

  it('an unreachable MySQL server is a ConnectionError', async () => {
    const e = await quietly(() =>
      rejection(Environment.open({ client: 'mysql2', connection: 'mysql://u:s3cret@127.0.0.1:1/db' })),
    );
    expect(e).toBeInstanceOf(ConnectionError);
    expect(e).toMatchObject({ code: 'ECONNREFUSED' });
    expect(e.message).toMatch(/database connection failed: .*ECONNREFUSED/);
    expect(e.message).not.toContain('s3cret');
    expect(Environment.default).toBe(keep);
  });
});

// ======================================================================================

describeEachDatabase('Environment', (db) => {
  let env: Environment;
  beforeEach(async () => {
    env = await db.open();
  });
  afterEach(async () => {
    await env.close();
  });

  if (db.name === 'postgres') {
    it("PostgreSQL: the pool's type parsers are its own; pg's global ones are left as they were", async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the driver proxorm loads, as the user's code would
      const pg = require('pg') as typeof import('pg');
      const parseInt8 = pg.types.getTypeParser(20, 'text');
      const { rows } = await env.knex.raw(
        'SELECT 42::int8 AS n, 9007199254740993::int8 AS big, 1.50::numeric(4,2) AS d, \'{"b": 1}\'::jsonb AS j',
      );
      // Through the pool: int8 a number when safe (else its digits, which decoding refuses), numeric and json as text.
      expect(rows[0]).toEqual({ n: 42, big: '9007199254740993', d: '1.50', j: '{"b": 1}' });
      // pg's own, for every other client in the process: unchanged.
      expect(pg.types.getTypeParser(20, 'text')).toBe(parseInt8);
      const client = new pg.Client({ connectionString: (db.config as { connection: string }).connection });
      await client.connect();
      try {
        const plain = await client.query('SELECT 42::int8 AS n, \'{"b": 1}\'::jsonb AS j');
        expect(plain.rows[0]).toEqual({ n: '42', j: { b: 1 } });
      } finally {
        await client.end();
      }
    });

    it('PostgreSQL: a connection whose search_path names no schema that exists is a ConnectionError at open', async () => {
      const connectionString = String((db.config as { connection: string }).connection);
      const e = await quietly(() =>
        rejection(
          Environment.open({ client: 'pg', connection: { connectionString, options: '-c search_path=sch_no_such' } }),
        ),
      );
      expect(e).toBeInstanceOf(ConnectionError);
      expect(e.message).toMatch(/no current schema/);
      expect(Environment.default).toBe(env);
    });
  }

  it('a database the server refuses to open is a ConnectionError', async () => {
    const refused: EnvironmentConfig[] = [];
    if (db.name === 'sqlite') {
      refused.push({ filename: '/sch-no-such-dir/sub/x.db' });
    } else if (db.name === 'postgres') {
      // A user the server does not know (with a password it never sees in a message), a database it does not have.
      const url = new URL(String((db.config as { connection: string }).connection));
      const badUser = new URL(url.href);
      badUser.username = 'sch_no_such_user';
      badUser.password = 'wrong-s3cret';
      const badDatabase = new URL(url.href);
      badDatabase.pathname = '/sch_no_such_database';
      refused.push({ client: 'pg', connection: badUser.href }, { client: 'pg', connection: badDatabase.href });
    } else {
      const url = new URL(String((db.config as { connection: string }).connection));
      const badPassword = new URL(url.href);
      badPassword.password = 'wrong-s3cret';
      const badDatabase = new URL(url.href);
      badDatabase.pathname = '/sch_no_such_database';
      refused.push(
        { client: 'mysql2', connection: badPassword.href },
        { client: 'mysql2', connection: badDatabase.href },
      );
    }
    for (const config of refused) {
      const e = await quietly(() => rejection(Environment.open(config)));
      expect(e).toBeInstanceOf(DatabaseError);
      // With the config and message, so a failure says which open failed how.
      expect({ config, error: e.name, message: e.message }).toEqual({
        config,
        error: 'ConnectionError',
        message: expect.any(String),
      });
      expect(e.message).not.toContain('s3cret');
    }
    expect(Environment.default).toBe(env);
  });

  it('Environment.default is the last opened one, and an EnvironmentError once that is closed', async () => {
    expect(Environment.default).toBe(env);
    expect(Note.browse(1).ids).toEqual([1]);
    const fork = env.fork();
    Environment.setDefault(fork);
    expect(Environment.default).toBe(fork);
    await fork.close();
    expect(() => Environment.default).toThrow(EnvironmentError);
    Environment.setDefault(env);
    expect(Environment.default).toBe(env);
    await env.close();
    expect(() => Environment.default).toThrow(EnvironmentError);
    expect(() => Environment.default).toThrow(/no open default Environment/);
    expect(() => Note.browse(1)).toThrow(EnvironmentError);
    await expect(async () => Note.search([])).rejects.toThrow(EnvironmentError);
    expect(() => Environment.setDefault({} as Environment)).toThrow(ValidationError);
  });

  it('a closed default stays an error when its fork is set as default', async () => {
    Environment.setDefault(env.fork());
    await env.close();
    expect(() => Environment.default).toThrow(EnvironmentError);
  });

  it('fork() shares the pool but has its own cache and stats', async () => {
    const note = await env.model(Note).create({ title: 'a', views: 1 }); // in the root's cache now
    const fork = env.fork();
    expect(fork).not.toBe(env);
    expect(fork.knex).toBe(env.knex);
    expect(fork.dialect).toBe(env.dialect);
    expect(fork.prefetch).toBe(env.prefetch);
    expect(env.fork({ prefetch: false }).prefetch).toBe(false);

    // The fork starts cold: it queries what the root has cached.
    env.resetStats();
    expect(await fork.model(Note).browse(note.id).title).toBe('a');
    expect(fork.stats).toMatchObject({ queries: 1, hits: 0, misses: 1, loads: 1, loadedRecords: 1 });
    expect(env.stats).toMatchObject({ queries: 0, hits: 0, misses: 0, loads: 0, loadedRecords: 0 });

    // A read in the fork does not fill the root's cache.
    env.clearCache();
    expect(await fork.model(Note).browse(note.id).views).toBe(1);
    expect(fork.stats.hits).toBe(1);
    expect(env.stats.queries).toBe(0);
    expect(await countQueries(env, async () => expect(await env.model(Note).browse(note.id).title).toBe('a'))).toBe(1);

    // Same database: the fork sees rows the root writes, and the other way round.
    const other = await fork.model(Note).create({ title: 'from fork' });
    expect(await env.model(Note).browse(other.id).title).toBe('from fork');
    expect(await fork.model(Note).searchCount()).toBe(2);
  });

  it("a fork's close() drops its cache but not the pool", async () => {
    const note = await env.model(Note).create({ title: 'kept' });
    const fork = env.fork();
    const record = fork.model(Note).browse(note.id);
    expect(await record.title).toBe('kept');
    await fork.close();
    await fork.close(); // twice is fine
    expect(fork.isClosed).toBe(true);
    expect(env.isClosed).toBe(false);
    await expect(async () => record.title).rejects.toThrow(EnvironmentError);
    await expect(fork.model(Note).search([])).rejects.toThrow(EnvironmentError);
    expect(() => fork.fork()).toThrow(EnvironmentError);
    await expect(fork.sync()).rejects.toThrow(EnvironmentError);
    // The root and new forks carry on.
    expect(await env.model(Note).searchCount()).toBe(1);
    expect(await env.fork().model(Note).browse(note.id).title).toBe('kept');
  });

  it("after the root's close() every call fails with EnvironmentError, on the root and its forks", async () => {
    const note = await env.model(Note).create({ title: 'gone' });
    const fork = env.fork();
    const notes = env.model(Note);
    const record = notes.browse(note.id);
    await env.close();
    expect(env.isClosed).toBe(true);
    expect(fork.isClosed).toBe(true);
    const calls: Array<[string, () => unknown]> = [
      ['search', () => notes.search([])],
      ['searchCount', () => notes.searchCount()],
      ['create', () => notes.create({ title: 'x' })],
      ['read a field', () => record.title],
      ['toDict', () => record.toDict()],
      ['read', () => record.read()],
      ['prefetch', () => record.prefetch()],
      ['exists', () => record.exists()],
      ['write', () => record.write({ title: 'y' })],
      ['unlink', () => record.unlink()],
      ['sync', () => env.sync()],
      ['transaction', () => env.transaction(async () => 1)],
      ['fork', () => env.fork()],
      ['fork: search', () => fork.model(Note).search([])],
      ['fork: read a field', () => fork.model(Note).browse(note.id).title],
      ['fork: fork', () => fork.fork()],
    ];
    for (const [what, call] of calls) {
      const e = await rejection((async () => call())());
      expect({ what, error: e.name, message: e.message }).toEqual({
        what,
        error: 'EnvironmentError',
        message: 'this Environment is closed',
      });
    }
    await env.close(); // twice is fine
  });

  it("after the root's close() a fork's records fail even where its cache holds the value", async () => {
    const note = await env.model(Note).create({ title: 'cached' });
    const fork = env.fork();
    const record = fork.model(Note).browse(note.id);
    expect(await record.title).toBe('cached'); // now in the fork's cache
    await env.close();
    expect(fork.isClosed).toBe(true);
    await expect(async () => record.title).rejects.toThrow(EnvironmentError);
    await expect(async () => record.toDict(['title'])).rejects.toThrow(EnvironmentError);
    await expect(async () => record.mapped('title')).rejects.toThrow(EnvironmentError);
  });

  it('sync() is idempotent and creates a missing table', async () => {
    const nothing = { createdTables: [], addedColumns: [], addedIndexes: [], addedConstraints: [] };
    expect(await env.sync()).toEqual(nothing); // db.open() synced already
    await env.knex.schema.dropTable('sch_note');
    expect(await env.sync()).toEqual({ ...nothing, createdTables: ['sch_note'] });
    expect(await env.sync()).toEqual(nothing);
    const created = await env.model(Note).create({ title: 't', views: 2 });
    expect(await env.fork().model(Note).browse(created.id).toDict()).toEqual({ title: 't', views: 2 });
  });

  it('sync() adds the columns a model declares but its table lacks', async () => {
    await env.knex.schema.dropTable('sch_legacy');
    await env.knex.schema.createTable('sch_legacy', (t) => {
      t.increments('id').primary();
      t.string('name', 255);
    });
    const inserted = await env.knex('sch_legacy').insert({ name: 'old' }, ['id']);
    const oldId = Number(typeof inserted[0] === 'object' ? (inserted[0] as { id: unknown }).id : inserted[0]);

    expect(await env.sync()).toEqual({
      createdTables: [],
      addedColumns: ['sch_legacy.score', 'sch_legacy.state', 'sch_legacy.note_col', 'sch_legacy.code'],
      addedIndexes: [],
      addedConstraints: [],
    });
    expect(await env.sync()).toEqual({ createdTables: [], addedColumns: [], addedIndexes: [], addedConstraints: [] });

    const columns = await env.knex('sch_legacy').columnInfo();
    expect(Object.keys(columns).sort()).toEqual(['code', 'id', 'name', 'note_col', 'score', 'state']);
    // NOT NULL only where existing rows can take a static default.
    expect(columns.state.nullable).toBe(false);
    expect(columns.code.nullable).toBe(true);
    expect(columns.score.nullable).toBe(true);

    const old = env.model(Legacy).browse(oldId);
    expect(await old.toDict()).toEqual({ name: 'old', score: null, state: 'new', note: null, code: null });
    await old.write({ score: 2.5, note: 'n', code: 'c' });
    expect(await env.fork().model(Legacy).browse(oldId).toDict()).toEqual({
      name: 'old',
      score: 2.5,
      state: 'new',
      note: 'n',
      code: 'c',
    });
    const row = await env.knex('sch_legacy').where('id', oldId).first();
    expect(row).toMatchObject({ note_col: 'n', code: 'c', state: 'new' });

    const created = await env.model(Legacy).create({ name: 'new one', code: 'x', note: 'y'.repeat(40) });
    expect(await env.fork().model(Legacy).browse(created.id).toDict()).toEqual({
      name: 'new one',
      score: null,
      state: 'new',
      note: 'y'.repeat(40),
      code: 'x',
    });
    await expect(created.write({ note: 'y'.repeat(41) })).rejects.toThrow(ValidationError);
  });

  it('field options take effect in the database', async () => {
    const opts = env.model(Opts);
    const [a, b] = await opts.create([
      { name: 'a', code: 'A' },
      { name: 'b', code: 'B', label: 'L' },
    ]);
    const fresh = () => env.fork().model(Opts);
    expect(await fresh().browse(a.id).toDict()).toEqual({
      name: 'a',
      status: 'draft',
      serial: expect.stringMatching(/^n\d+$/),
      price: '1.50',
      start: START,
      city: null,
      code: 'A',
      label: null,
      body: null,
    });
    expect(await fresh().browse(a.id).serial).not.toBe(await fresh().browse(b.id).serial); // called per record

    // required, unique
    await expect(opts.create({ code: 'C' })).rejects.toThrow(/sch_opts\.name: is required/);
    await expect(opts.create({ name: 'c', code: 'A' })).rejects.toThrow(UniqueViolationError);

    // column
    const columns = await env.knex('sch_opts_table').columnInfo();
    expect(columns).toHaveProperty('label_col');
    expect(columns).not.toHaveProperty('label');
    expect(await env.knex('sch_opts_table').where('id', b.id).first()).toMatchObject({ label_col: 'L' });

    // index, unique
    expect(await indexes(env, 'sch_opts_table')).toEqual({ city: false, code: true });

    // prefetch: false keeps body out of the load a miss on name sends
    await b.write({ body: 'big' });
    const f = env.fork();
    const record = f.model(Opts).browse(b.id);
    expect(await countQueries(f, async () => expect(await record.name).toBe('b'))).toBe(1);
    expect(await countQueries(f, async () => expect(await record.status).toBe('draft'))).toBe(0);
    expect(await countQueries(f, async () => expect(await record.body).toBe('big'))).toBe(1);

    // order: "name desc, id"
    await opts.create({ name: 'b', code: 'B2' });
    const found = await opts.search([]);
    expect(await found.mapped('name')).toEqual(['b', 'b', 'a']);
    expect(found.ids[0]).toBeLessThan(found.ids[1]);
  });
});

/** Indexed columns of a table (single-column indexes, primary key excluded) -> unique. */
async function indexes(env: Environment, table: string): Promise<Record<string, boolean>> {
  const out: Record<string, boolean> = {};
  if (env.dialect === 'sqlite') {
    const list = await env.knex.raw<Array<{ name: string; u: number }>>(
      'SELECT name, "unique" AS u FROM pragma_index_list(?)',
      [table],
    );
    for (const index of list) {
      const cols = await env.knex.raw<Array<{ name: string }>>('SELECT name FROM pragma_index_info(?)', [index.name]);
      if (cols.length === 1) out[cols[0].name] = Boolean(index.u);
    }
  } else if (env.dialect === 'postgres') {
    const { rows } = await env.knex.raw(
      `SELECT a.attname AS col, i.indisunique AS u FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = ?::regclass AND NOT i.indisprimary AND i.indnkeyatts = 1`,
      [`"${table}"`],
    );
    for (const r of rows as Array<{ col: string; u: boolean }>) out[r.col] = r.u;
  } else {
    const [rows] = (await env.knex.raw('SHOW INDEX FROM ??', [table])) as [
      Array<{ Key_name: string; Column_name: string; Non_unique: number }>,
    ];
    for (const r of rows) if (r.Key_name !== 'PRIMARY') out[r.Column_name] = Number(r.Non_unique) === 0;
  }
  return out;
}
