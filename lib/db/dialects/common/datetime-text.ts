/**
 * The text a datetime value is bound as, per the field's format (model/field-types.ts,
 * DatetimeFormat), in UTC and with a fixed width, so that values of one column compare
 * correctly as text and convert to a DATETIME type exactly. Each dialect picks it per format.
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
