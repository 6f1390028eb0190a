/**
 * The column field types proxorm knows, and the options each accepts. One place for
 * "what a field can be"; the decorators, the validator and schema sync all read it.
 */
export type FieldType = 'string' | 'text' | 'integer' | 'float' | 'decimal' | 'boolean' | 'datetime' | 'json';

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
  /** Column name; defaults to the property name. */
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

export interface DecimalFieldOptions extends BaseFieldOptions<string | number> {
  /** Total digits; default 12. */
  precision?: number;
  /** Digits after the point; default 2. */
  scale?: number;
}

export type FieldOptions = BaseFieldOptions<unknown> & { size?: number; precision?: number; scale?: number };

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
  datetime: [],
  json: [],
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
};

/** Type inferred from a property's design:type when the decorator names none. */
export function inferFieldType(designType: unknown): FieldType | undefined {
  if (designType === String) return 'string';
  if (designType === Number) return 'integer';
  if (designType === Boolean) return 'boolean';
  if (designType === Date) return 'datetime';
  return undefined;
}
