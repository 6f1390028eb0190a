import { ValidationError } from '../errors';
import type { FieldDef } from './field-types';
import { checkKey, newKey, type Key } from './keys';
import { schemaOf } from './registry';
import type { ModelSchema } from './schema';

/**
 * Turns a value given by a caller into the canonical JS value proxorm caches and binds:
 * the same value a later load from the database yields, so a write can fill the cache
 * without reading back. Throws ValidationError naming the model, field and problem.
 *
 * Canonical forms: string/text -> string; integer -> safe integer; float -> finite
 * number; decimal -> string with exactly `scale` decimals; boolean -> boolean;
 * datetime -> Date (a copy, millisecond precision); json -> a deep-frozen copy.
 */
export function normalizeValue(model: string, field: FieldDef, value: unknown): unknown {
  const fail = (why: string): never => {
    throw new ValidationError(`${model}.${field.name}: ${why} (got ${describe(value)})`);
  };
  if (value === undefined) fail('undefined is not a value; use null to clear a field');
  if (value === null) {
    if (field.required) fail('is required and cannot be null');
    if (field.type === 'one2many' || field.type === 'many2many')
      fail('an x2many takes commands ({ set, add, remove, create }), not null');
    return null;
  }
  switch (field.type) {
    case 'many2one': {
      const ids = idsOf(value, field, fail);
      if (ids.length > 1) fail('a many2one takes one record');
      if (ids.length === 0 && field.required) fail('is required and cannot be empty');
      return ids.length ? ids[0] : null;
    }
    case 'one2many':
    case 'many2many':
      return normalizeCommands(value, field, fail);
    case 'string':
    case 'text': {
      if (typeof value !== 'string') return fail(`expected a string`);
      // A lone surrogate is no character: databases store it as U+FFFD, not as given.
      if (!wellFormed(value)) fail('not well-formed Unicode (lone surrogate)');
      if (field.type === 'string' && value.length > field.size && codePoints(value) > field.size) {
        fail(`longer than ${field.size} characters`);
      }
      return value;
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return fail('expected a safe integer');
      return value + 0; // -0 is stored and read back as 0
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail('expected a finite number');
      return value + 0;
    case 'decimal':
      return normalizeDecimal(field, value, fail);
    case 'boolean':
      if (typeof value !== 'boolean') return fail('expected a boolean');
      return value;
    case 'datetime':
      return normalizeDate(field, value, fail);
    case 'json':
      return freezeJson(value, fail);
  }
}

/** Changes to an x2many, validated: ids are checked, nested create values are checked when run. */
export interface X2manyOps {
  readonly set?: Key[];
  readonly add?: Key[];
  readonly remove?: Key[];
  readonly create?: readonly unknown[];
}

const COMMANDS = ['set', 'add', 'remove', 'create'];

function normalizeCommands(value: unknown, field: FieldDef, fail: (why: string) => never): X2manyOps {
  if (typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) {
    return fail('an x2many takes an object of commands { set, add, remove, create }');
  }
  const keys = Reflect.ownKeys(value as object);
  if (keys.length === 0) fail('no command given (use set, add, remove or create)');
  const out: { set?: Key[]; add?: Key[]; remove?: Key[]; create?: unknown[] } = {};
  for (const key of keys) {
    if (typeof key !== 'string' || !COMMANDS.includes(key))
      fail(`unknown x2many command ${JSON.stringify(String(key))} (use set, add, remove or create)`);
    const v = (value as Record<string, unknown>)[key];
    if (key === 'create') {
      if (!Array.isArray(v)) fail('"create" takes an array of value objects');
      for (const item of v as unknown[]) {
        const proto: unknown = item !== null && typeof item === 'object' ? Object.getPrototypeOf(item) : undefined;
        if (proto !== Object.prototype && proto !== null)
          fail(`"create" takes plain objects of field values, got ${describe(item)}`);
      }
      out.create = [...(v as unknown[])];
    } else {
      out[key as 'set' | 'add' | 'remove'] = idsOf(v, field, fail);
    }
  }
  return out;
}

/** Keys from a key, an array of keys, or a recordset of the field's target model. */
function idsOf(value: unknown, field: FieldDef, fail: (why: string) => never): Key[] {
  const target = schemaOf(field.target!());
  let ids: unknown;
  if ((typeof value === 'number' || typeof value === 'string') && field.type === 'many2one') ids = [value];
  else if (Array.isArray(value) && field.type !== 'many2one') ids = value;
  else if (isRecordSetLike(value)) {
    // By class when the recordset tells it: two Environments may each map a model of that name.
    const sameModel = value.schema ? value.schema.cls === target.cls : value.model === target.name;
    if (!sameModel) {
      fail(
        value.schema && value.model === target.name
          ? `expected records of "${target.name}" of class ${target.cls.name}, got class ${value.schema.cls.name} (another model of that name)`
          : `expected records of "${target.name}", got "${value.model}"`,
      );
    }
    ids = value.ids;
  } else {
    return fail(
      field.type === 'many2one' ? 'expected a key, a recordset or null' : 'expected an array of keys or a recordset',
    );
  }
  const list: Key[] = [];
  for (const id of ids as unknown[]) {
    const key = checkKey(target.primaryKey, id);
    if (typeof key === 'object') fail(`invalid key of "${target.name}": ${key.invalid}`);
    list.push(key);
  }
  return [...new Set(list)];
}

function isRecordSetLike(v: unknown): v is { ids: readonly Key[]; model: string; schema?: ModelSchema } {
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray((v as { ids?: unknown }).ids) &&
    typeof (v as { model?: unknown }).model === 'string'
  );
}

function normalizeDecimal(field: FieldDef, value: unknown, fail: (why: string) => never): string {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return fail('expected a finite number');
    text = String(value);
    if (/e/i.test(text)) return fail('number too large or too small for a decimal; pass a string');
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return fail('expected a number or a numeric string');
  }
  const m = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return fail('expected a decimal number');
  const [, sign, intPart, frac = ''] = m;
  if (frac.length > field.scale) fail(`more than ${field.scale} decimal places`);
  const int = intPart.replace(/^0+(?=\d)/, '');
  if (int.length > field.precision - field.scale)
    fail(`more than ${field.precision - field.scale} digits before the point`);
  const digits = `${int}.${frac.padEnd(field.scale, '0')}`;
  const out = field.scale === 0 ? int : digits;
  return sign === '-' && /[1-9]/.test(out) ? `-${out}` : out;
}

/**
 * The dates a datetime field holds, on every database alike: a rule of the model, not of
 * one dialect, so that a value one database accepts every database accepts and reads back
 * the same (parity). Its bounds are the narrowest of the databases': MySQL's DATETIME
 * covers years 1000-9999, and the fixed-width text SQLite compares needs 4-digit years.
 */
const MIN_DATE = Date.UTC(1000, 0, 1);
const MAX_DATE = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A Date, or an ISO 8601 string (see parseIsoDate), within years 1000-9999, that the
 * field's format stores exactly: format 'sql' holds whole seconds, and a value with
 * milliseconds is refused rather than cut (or rounded, as MySQL's DATETIME would).
 */
function normalizeDate(field: FieldDef, value: unknown, fail: (why: string) => never): Date {
  let ms: number;
  if (value instanceof Date) {
    ms = value.getTime();
  } else if (typeof value === 'string') {
    const parsed = parseIsoDate(value);
    if (typeof parsed !== 'number') return fail(parsed.invalid);
    ms = parsed;
  } else {
    return fail('expected a Date or an ISO 8601 string');
  }
  if (Number.isNaN(ms)) return fail('invalid date');
  if (!inDateRange(ms)) return fail('date outside years 1000-9999');
  if (field.format === 'sql' && ms % 1000 !== 0) fail(`has milliseconds; its format 'sql' stores whole seconds`);
  return new Date(ms);
}

/** Whether a time (ms since the epoch) is in the range both databases store. */
export function inDateRange(ms: number): boolean {
  return ms >= MIN_DATE && ms <= MAX_DATE;
}

/**
 * Milliseconds since the epoch of an ISO 8601 string whose every part is in range (no
 * 30 February: JS would roll it into March), or why it is not one. A string without an
 * offset is UTC, whatever the process's zone. Shared by writes (normalizeValue) and
 * reads (model/decode.ts), so both accept the same strings.
 */
export function parseIsoDate(value: string): number | { readonly invalid: string } {
  const m = ISO_DATE.exec(value);
  if (!m) return { invalid: 'expected a Date or an ISO 8601 string' };
  const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = '', zone = 'Z'] = m;
  const days = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > days) return { invalid: 'no such day' };
  if (Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return { invalid: 'no such time of day' };
  const offset = /^[+-]\d{2}:?\d{2}$/.exec(zone) ? zone : '';
  if (offset && (Number(offset.slice(1, 3)) > 14 || Number(offset.slice(-2)) > 59))
    return { invalid: 'no such UTC offset' };
  // Millisecond precision: further fraction digits are cut, as Date.parse does.
  return Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${sec}${frac.slice(0, 4)}${offset || 'Z'}`);
}

/** Deeper JSON is refused (a ValidationError, not a stack overflow). */
const MAX_JSON_DEPTH = 256;

function freezeJson(value: unknown, fail: (why: string) => never): unknown {
  const seen = new Set<unknown>();
  const copy = (v: unknown, path: string, depth: number): unknown => {
    if (v === null || typeof v === 'boolean') return v;
    if (typeof v === 'string') return wellFormed(v) ? v : fail(`not well-formed Unicode at ${path}`);
    if (typeof v === 'number') return Number.isFinite(v) ? v + 0 : fail(`non-finite number at ${path}`);
    if (typeof v !== 'object') return fail(`${typeof v} is not JSON at ${path}`);
    if (depth > MAX_JSON_DEPTH) return fail(`nested deeper than ${MAX_JSON_DEPTH} levels`);
    if (seen.has(v)) return fail(`circular structure at ${path}`);
    seen.add(v);
    let out: unknown;
    if (Array.isArray(v)) {
      const list: unknown[] = [];
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) fail(`hole in array at ${path}[${i}]`);
        list.push(copy(v[i], `${path}[${i}]`, depth + 1));
      }
      out = list;
    } else {
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null)
        return fail(`only plain objects and arrays are JSON (at ${path})`);
      const obj: Record<string, unknown> = {};
      for (const key of Object.keys(v)) {
        // defineProperty, not assignment: a key named "__proto__" stays an own data key.
        if (!wellFormed(key)) fail(`key not well-formed Unicode at ${path}`);
        Object.defineProperty(obj, key, {
          value: copy((v as Record<string, unknown>)[key], `${path}.${key}`, depth + 1),
          enumerable: true,
        });
      }
      out = obj;
    }
    seen.delete(v);
    return Object.freeze(out);
  };
  return copy(value, '$', 0);
}

/** Deep-freezes a value parsed from the database so cached JSON cannot be mutated by readers. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** False for a string holding a lone surrogate (paired ones read as one code point under /u). */
export function wellFormed(s: string): boolean {
  return !/\p{Surrogate}/u.test(s);
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return value.length > 40 ? `string(${value.length})` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return `${typeof value} ${String(value)}`;
  if (value instanceof Date) return `Date ${Number.isNaN(value.getTime()) ? 'Invalid' : value.toISOString()}`;
  if (Array.isArray(value)) return `array(${value.length})`;
  return typeof value === 'object'
    ? `object ${(Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name ?? 'null-prototype'}`
    : typeof value;
}

/** Validated values of one record for create() or write(), by field. */
export interface RecordValues {
  /** create(): the key the caller gave (or proxorm generated); undefined when the database assigns it. */
  readonly key: Key | undefined;
  readonly values: Map<FieldDef, unknown>;
}

/**
 * Validates the values object given to create() or write() and returns canonical values
 * by field. Unknown keys (including "__proto__", "constructor") are rejected; `id` is
 * the record's key: given on create (required unless the database or proxorm generates
 * it), never written. On create, absent fields take their default (or null), and
 * required ones must be set.
 */
export function normalizeRecordValues(schema: ModelSchema, values: unknown, mode: 'create' | 'write'): RecordValues {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) {
    throw new ValidationError(`${schema.name}.${mode}: expected an object of field values, got ${describe(values)}`);
  }
  const proto: unknown = Object.getPrototypeOf(values);
  if (proto !== Object.prototype && proto !== null) {
    throw new ValidationError(
      `${schema.name}.${mode}: expected a plain object of field values, got ${describe(values)}`,
    );
  }
  const out = new Map<FieldDef, unknown>();
  let key: Key | undefined;
  const pk = schema.primaryKey;
  for (const name of Reflect.ownKeys(values)) {
    const given = (values as Record<string, unknown>)[name as string];
    if (name === 'id') {
      if (mode === 'write')
        throw new ValidationError(`${schema.name}.write: the key "id" (column ${pk.column}) cannot be changed`);
      const checked = checkKey(pk, given);
      if (typeof checked === 'object')
        throw new ValidationError(`${schema.name}.create: invalid key: ${checked.invalid}`);
      key = checked;
      continue;
    }
    const field = typeof name === 'string' ? schema.fields.get(name) : undefined;
    if (!field) throw new ValidationError(`${schema.name}.${mode}: unknown field ${JSON.stringify(String(name))}`);
    out.set(field, normalizeValue(schema.name, field, given));
  }
  if (mode === 'create') {
    if (key === undefined && !pk.generated) {
      key = newKey(pk);
      if (key === undefined) {
        throw new ValidationError(
          `${schema.name}.create: the key "id" (column ${pk.column}) is not generated by the database: give it, e.g. create({ id: ..., ... })`,
        );
      }
    }
    for (const field of schema.columnFields) {
      if (out.has(field)) continue;
      const d = typeof field.default === 'function' ? (field.default as () => unknown)() : field.default;
      if (d === undefined && field.required) throw new ValidationError(`${schema.name}.${field.name}: is required`);
      out.set(field, d === undefined ? null : normalizeValue(schema.name, field, d));
    }
  }
  return { key, values: out };
}
