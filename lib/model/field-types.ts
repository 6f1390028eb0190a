/**
 * The column field types proxorm knows, and the options each accepts. One place for
 * "what a field can be"; the decorators, the validator and schema sync all read it.
 */
import type { ClassRef } from './class-ref';

export type ScalarType = 'string' | 'text' | 'integer' | 'float' | 'decimal' | 'boolean' | 'datetime' | 'json';
export type RelationType = 'many2one' | 'one2many' | 'many2many';
export type FieldType = ScalarType | RelationType;

/** What a many2one does when its target record is deleted (a real FK constraint). */
export type OnDelete = 'restrict' | 'cascade' | 'set null';

/** Options every field type accepts. */
export interface BaseFieldOptions<T> {
  /** A null (or missing, on create) value is a ValidationError. */
  required?: boolean;
  /** Value used by create() when the key is absent; a function is called per record. */
  default?: T | (() => T);
  /** Create a (non-unique) index on the column. */
  index?: boolean;
  /** Create a UNIQUE constraint on the column. */
  unique?: boolean;
  /** Column name; defaults to the property name (its snake_case with `@Model({ naming: 'snake_case' })`). */
  column?: string;
  /**
   * Whether a miss on another field loads this one too (default true). Set false for
   * large text/json values that should be loaded only when read.
   */
  prefetch?: boolean;
}

export interface StringFieldOptions extends BaseFieldOptions<string> {
  /** Maximum length in characters (code points); default 255. */
  size?: number;
}

/**
 * How a datetime field's values are written (one format per field, so a column never
 * mixes two and text comparisons stay correct), always in UTC:
 * - 'iso' (default): SQLite text `2021-01-01T00:00:00.000Z`; MySQL DATETIME(3).
 * - 'sql': whole seconds, SQLite text `2021-01-01 00:00:00` (what SQLite's own datetime()
 *   and many other programs write, Chinook included); MySQL DATETIME without fraction.
 *   A value with milliseconds cannot be stored and is a ValidationError.
 */
export type DatetimeFormat = 'iso' | 'sql';
export const DATETIME_FORMATS: readonly DatetimeFormat[] = ['iso', 'sql'];

export interface DatetimeFieldOptions extends BaseFieldOptions<Date> {
  /** Storage format of the column, see DatetimeFormat; default 'iso'. */
  format?: DatetimeFormat;
}

export interface DecimalFieldOptions extends BaseFieldOptions<string | number> {
  /** Total digits; default 12. */
  precision?: number;
  /** Digits after the point; default 2. */
  scale?: number;
}

export interface Many2oneOptions {
  /** Default 'set null' ('restrict' when required). */
  onDelete?: OnDelete;
  required?: boolean;
  /** Column name; defaults to `<property>_id` (`<snake_case>_id` with `@Model({ naming: 'snake_case' })`). */
  column?: string;
  /** An index is always created; false only for prefetch, as for other fields. */
  prefetch?: boolean;
}

export interface Many2manyOptions {
  /** Relation table; defaults to `<model1>_<model2>_rel` with the two names sorted. */
  relation?: string;
  /** Column of the relation table holding this model's id; default `<model>_id`. */
  column1?: string;
  /** Column holding the target's id; default `<target>_id`. */
  column2?: string;
}

export type FieldOptions = BaseFieldOptions<unknown> & {
  size?: number;
  precision?: number;
  scale?: number;
  format?: DatetimeFormat;
} & {
  onDelete?: OnDelete;
  inverse?: string;
  relation?: string;
  column1?: string;
  column2?: string;
};

/** The resolved, immutable description of one field of a model. */
export interface FieldDef {
  readonly name: string;
  readonly type: FieldType;
  readonly column: string;
  readonly required: boolean;
  readonly default: unknown;
  readonly index: boolean;
  readonly unique: boolean;
  readonly prefetch: boolean;
  readonly size: number;
  readonly precision: number;
  readonly scale: number;
  /** datetime: the storage format (absent: 'iso'). */
  readonly format?: DatetimeFormat;
  /** Relational fields: the target model class, resolved lazily (it may be declared later). */
  readonly target?: () => ClassRef;
  /** many2one: the FK's ON DELETE rule. */
  readonly onDelete?: OnDelete;
  /** one2many: the many2one field of the target that points back. */
  readonly inverse?: string;
  /** many2many: relation table and its two columns (this side, target side). */
  readonly relation?: string;
  readonly column1?: string;
  readonly column2?: string;
}

/** Whether the field is a column of its model's table (scalars and many2one). */
export function isColumn(f: FieldDef): boolean {
  return f.type !== 'one2many' && f.type !== 'many2many';
}

export function isX2many(f: FieldDef): boolean {
  return f.type === 'one2many' || f.type === 'many2many';
}

export const BASE_OPTION_KEYS: readonly string[] = ['required', 'default', 'index', 'unique', 'column', 'prefetch'];

/** Options that only some types accept. */
export const TYPE_OPTION_KEYS: Readonly<Record<FieldType, readonly string[]>> = {
  string: ['size'],
  text: [],
  integer: [],
  float: [],
  decimal: ['precision', 'scale'],
  boolean: [],
  datetime: ['format'],
  json: [],
  many2one: ['onDelete'],
  one2many: [],
  many2many: ['relation', 'column1', 'column2'],
};

/**
 * The design:type constructors (from reflect-metadata) each explicit type may be declared
 * with. Object is what TypeScript emits for unions such as `number | null`.
 */
export const DESIGN_TYPES: Readonly<Record<FieldType, readonly unknown[]>> = {
  string: [String, Object],
  text: [String, Object],
  integer: [Number, Object],
  float: [Number, Object],
  decimal: [String, Number, Object],
  boolean: [Boolean, Object],
  datetime: [Date, Object],
  json: [Object, Array, String, Number, Boolean],
  many2one: [],
  one2many: [Array, Object],
  many2many: [Array, Object],
};

/** Type inferred from a property's design:type when the decorator names none. */
export function inferFieldType(designType: unknown): FieldType | undefined {
  if (designType === String) return 'string';
  if (designType === Number) return 'integer';
  if (designType === Boolean) return 'boolean';
  if (designType === Date) return 'datetime';
  return undefined;
}
