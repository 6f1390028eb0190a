import type { FieldDef } from '../../model/field-types';

/**
 * The text a datetime value is bound as, per the field's format (model/field-types.ts,
 * DatetimeFormat), in UTC and with a fixed width, so that values of one column compare
 * correctly as text (SQLite) and convert to DATETIME exactly (MySQL).
 *
 * Format 'sql' writes `YYYY-MM-DD HH:MM:SS`. normalizeValue refuses milliseconds for
 * such a field on writes, so a fraction (`.mmm`) appears only in a domain value; as text
 * it still compares right against whole seconds: `...:00` < `...:00.500` < `...:01`.
 */
export function sqlDatetimeText(d: Date): string {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ for years 1000-9999
  const seconds = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return d.getTime() % 1000 === 0 ? seconds : `${seconds}${iso.slice(19, 23)}`;
}

/** SQLite: the field's text (format 'iso': toISOString, as proxorm always wrote). */
export function sqliteDatetimeText(field: FieldDef, d: Date): string {
  return field.format === 'sql' ? sqlDatetimeText(d) : d.toISOString();
}

/** MySQL: DATETIME literal text, `YYYY-MM-DD HH:MM:SS.mmm` (format 'iso') or as sqlDatetimeText. */
export function mysqlDatetimeText(field: FieldDef, d: Date): string {
  if (field.format === 'sql') return sqlDatetimeText(d);
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}
