import type { FieldDef } from './field-types';
import type { PrimaryKeyDef } from './keys';
import { deepFreeze, inDateRange, parseIsoDate } from './values';

/**
 * Validating decoders: a non-null value a driver returned for a column -> the canonical
 * JS value of the field (the form normalizeValue gives a write, see values.ts), or
 * UNDECODABLE when the stored value is not one of the field's type: written by another
 * program, or in a column whose type is not the field's. They never throw and never
 * copy the stored value anywhere; the load turns UNDECODABLE into a DataError naming the
 * cell (model, field, key) and, by contract, never the value.
 *
 * They accept what either driver may return for a field (numbers, digit strings for
 * MySQL's big numbers, bigints, Buffers); each dialect picks, per field type, the ones
 * matching what its driver gives (db/dialects/*.ts, `decoder`).
 */
export const UNDECODABLE: unique symbol = Symbol('proxorm.undecodable');

/** A driver value -> canonical value, or UNDECODABLE. */
export type Decoder = (raw: unknown) => unknown;

const INTEGER_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;
const DECIMAL_TEXT = /^([+-]?)(\d+)(?:\.(\d*))?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A safe integer, from a number, a bigint or a string of digits (MySQL's big numbers). */
export function decodeInteger(raw: unknown): number | typeof UNDECODABLE {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && INTEGER_TEXT.test(raw)) n = Number(raw);
  else if (typeof raw === 'bigint') n = Number(raw);
  else return UNDECODABLE;
  // Past 2^53 a driver's number (or Number of a string) is already rounded: refused,
  // as a write of it would be.
  return Number.isSafeInteger(n) ? n + 0 : UNDECODABLE;
}

/** A generated integer key: a safe integer of 1 or more. */
function decodeGeneratedId(raw: unknown): number | typeof UNDECODABLE {
  const n = decodeInteger(raw);
  return n !== UNDECODABLE && n >= 1 ? n : UNDECODABLE;
}

/**
 * The decoder of a key column, or of a many2one column referencing such a key: a key
 * of another type can be no record (a string key read back as a number would never
 * match the record's key again).
 */
export function keyDecoder(key: PrimaryKeyDef): Decoder {
  if (key.type !== 'integer') return decodeText;
  return key.generated ? decodeGeneratedId : decodeInteger;
}

/** A finite number, from a number or a numeric string; NaN and infinities are refused. */
export function decodeFloat(raw: unknown): number | typeof UNDECODABLE {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && NUMBER_TEXT.test(raw)) n = Number(raw);
  else return UNDECODABLE;
  return Number.isFinite(n) ? n + 0 : UNDECODABLE;
}

/**
 * A decimal as its canonical string (exactly `scale` decimals), from a number (SQLite
 * stores decimals as REAL: rounded to `scale`) or a decimal string (MySQL's DECIMAL).
 * A string with more non-zero decimals, or any value with more digits before the point
 * than the type holds, is refused rather than rounded or cut.
 */
export function decodeDecimal(raw: unknown, precision: number, scale: number): string | typeof UNDECODABLE {
  if (typeof raw === 'number') return decimalOfNumber(raw, precision, scale);
  if (typeof raw !== 'string' && typeof raw !== 'bigint') return UNDECODABLE;
  const m = DECIMAL_TEXT.exec(String(raw));
  if (!m) return UNDECODABLE;
  const [, sign, intPart, frac = ''] = m;
  if (/[1-9]/.test(frac.slice(scale))) return UNDECODABLE;
  const int = intPart.replace(/^0+(?=\d)/, '');
  if (int.length > precision - scale) return UNDECODABLE;
  const out = scale === 0 ? int : `${int}.${frac.slice(0, scale).padEnd(scale, '0')}`;
  return sign === '-' && /[1-9]/.test(out) ? `-${out}` : out;
}

/** The number's decimal text, without a regex (SQLite returns every decimal as a number). */
function decimalOfNumber(n: number, precision: number, scale: number): string | typeof UNDECODABLE {
  // Past 1e21 toFixed writes an exponent; such a number has too many digits anyway.
  if (!Number.isFinite(n) || Math.abs(n) >= 1e21) return UNDECODABLE;
  const text = n.toFixed(scale);
  const negative = text.charCodeAt(0) === 45; // '-'
  const intDigits = (scale === 0 ? text.length : text.length - scale - 1) - (negative ? 1 : 0);
  if (intDigits > precision - scale) return UNDECODABLE;
  // A negative that rounds to zero is zero, as a write of it is.
  return negative && !/[1-9]/.test(text) ? text.slice(1) : text;
}

/**
 * A boolean, from 0 or 1 (as number, bigint or string) or a boolean. Anything else
 * ('yes', 2) is refused: a domain `[f, '=', true]` compares with 1, so such a row would
 * match neither true nor false.
 */
export function decodeBoolean(raw: unknown): boolean | typeof UNDECODABLE {
  if (raw === 1 || raw === true || raw === '1' || raw === 1n) return true;
  if (raw === 0 || raw === false || raw === '0' || raw === 0n) return false;
  return UNDECODABLE;
}

/**
 * A Date, from an ISO 8601 string (as normalizeValue accepts it: 'T' or ' ' between
 * date and time, UTC when no offset is given) or a valid Date, within years 1000-9999.
 * Both formats of a datetime field (see DatetimeFormat) read alike; a stored value is
 * read as it is (milliseconds in a 'sql' column another program wrote are kept: the
 * cache holds what the row holds). Numbers (epoch or Julian-day columns) are refused.
 */
export function decodeDate(raw: unknown): Date | typeof UNDECODABLE {
  let ms: number;
  if (typeof raw === 'string') {
    const fixed = fixedWidthMs(raw);
    if (fixed !== undefined) return Number.isNaN(fixed) ? UNDECODABLE : new Date(fixed);
    const parsed = parseIsoDate(raw);
    if (typeof parsed !== 'number') return UNDECODABLE;
    ms = parsed;
  } else if (raw instanceof Date) {
    ms = raw.getTime();
  } else {
    return UNDECODABLE;
  }
  return Number.isNaN(ms) || !inDateRange(ms) ? UNDECODABLE : new Date(ms);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The time of 'YYYY-MM-DD?HH:MM:SS.mmm[Z]' or 'YYYY-MM-DD?HH:MM:SS' ('T' or ' '; what
 * toDb writes on both dialects, in the formats 'iso' and 'sql') read without a regex, as
 * every load of a datetime column reads 1,000 of them: NaN when a part is out of range
 * (or the year before 1000), undefined when the string has another shape (then
 * parseIsoDate decides, with the same rules). No offset means UTC, whatever the
 * process's time zone.
 */
function fixedWidthMs(s: string): number | undefined {
  const len = s.length;
  const whole = len === 19;
  if (!whole && len !== 23 && !(len === 24 && s[23] === 'Z')) return undefined;
  if (
    s[4] !== '-' ||
    s[7] !== '-' ||
    (s[10] !== 'T' && s[10] !== ' ') ||
    s[13] !== ':' ||
    s[16] !== ':' ||
    (!whole && s[19] !== '.')
  )
    return undefined;
  const y = digits(s, 0, 4),
    mo = digits(s, 5, 2),
    d = digits(s, 8, 2);
  const h = digits(s, 11, 2),
    mi = digits(s, 14, 2),
    sec = digits(s, 17, 2),
    ms = whole ? 0 : digits(s, 20, 3);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0 || ms < 0) return undefined;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (y < 1000 || mo < 1 || mo > 12 || d < 1 || d > DAYS_IN_MONTH[mo - 1] + (mo === 2 && leap ? 1 : 0)) return NaN;
  if (h > 23 || mi > 59 || sec > 59) return NaN;
  return Date.UTC(y, mo - 1, d, h, mi, sec, ms);
}

/** The number written by `n` ASCII digits of `s` from `from`, or -1. */
function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** A deep-frozen JSON value, from its text (a string, or UTF-8 bytes from a binary column). */
export function decodeJsonText(raw: unknown): unknown {
  const text = raw instanceof Uint8Array ? decodeText(raw) : raw;
  if (typeof text !== 'string') return UNDECODABLE;
  try {
    return deepFreeze(JSON.parse(text));
  } catch {
    // SyntaxError (its message quotes the text), or a RangeError from absurd nesting.
    return UNDECODABLE;
  }
}

/**
 * A string. A number in a string field (a column of another type, or SQLite's type
 * affinity keeping what another program wrote) is read as its JavaScript text,
 * String(n), as a TEXT column would have stored it; a Buffer (a BLOB / binary column)
 * as UTF-8 when it is valid UTF-8. Anything else is refused.
 */
export function decodeText(raw: unknown): string | typeof UNDECODABLE {
  if (typeof raw === 'string') return raw;
  if ((typeof raw === 'number' && Number.isFinite(raw)) || typeof raw === 'bigint') return String(raw);
  if (raw instanceof Uint8Array) {
    try {
      return utf8.decode(raw);
    } catch {
      return UNDECODABLE;
    }
  }
  return UNDECODABLE;
}

/** What a field's stored values should be, for a DataError's message ("... is not a valid <this>"). */
export function storedTypeOf(field: FieldDef): string {
  switch (field.type) {
    case 'string':
    case 'text':
      return 'string';
    case 'integer':
      return 'integer';
    case 'float':
      return 'finite number';
    case 'decimal':
      return `decimal(${field.precision},${field.scale})`;
    case 'boolean':
      return 'boolean (0 or 1)';
    case 'datetime':
      return 'datetime';
    case 'json':
      return 'JSON document';
    case 'many2one':
      return 'record key';
    default:
      return field.type;
  }
}
