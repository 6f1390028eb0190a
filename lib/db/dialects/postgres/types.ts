/**
 * How values of a PostgreSQL pool come back from pg: type parsers given to each of its
 * connections (pg's per-client `types` option), never set on the global `pg.types`, which
 * other code in the process (another ORM, the user's own pg pool) relies on.
 *
 * What the dialect's decoders (dialect.ts) then expect:
 * - int8 (BIGINT, count(*), identity keys): a number when it is a safe integer, else its
 *   digit string, which decodeInteger refuses (a DataError, as MySQL's big numbers);
 * - numeric: its text, exact (decodeDecimal checks precision and scale);
 * - json / jsonb: their text, parsed and checked by decodeJsonText (pg would parse it);
 * - timestamp (without time zone) and date: their text, which decodeDate reads as UTC
 *   (pg would read it in the process's time zone); timestamptz: pg's Date, an instant
 *   whatever the session's TimeZone (pg reads the ISO DateStyle only: session.ts sets it).
 */

/** PostgreSQL type OIDs (pg_type.oid; fixed for built-in types). */
const OID = {
  int8: 20,
  json: 114,
  date: 1082,
  timestamp: 1114,
  numeric: 1700,
  jsonb: 3802,
} as const;

type Parser = (text: string) => unknown;

/** What pg's `types` option must provide; `format` is 'text' or 'binary'. */
export interface TypeParsers {
  getTypeParser(oid: number, format?: string): unknown;
}

const asText: Parser = (text) => text;

const int8: Parser = (text) => {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
};

const TEXT_PARSERS: Readonly<Record<number, Parser>> = {
  [OID.int8]: int8,
  [OID.numeric]: asText,
  [OID.json]: asText,
  [OID.jsonb]: asText,
  [OID.timestamp]: asText,
  [OID.date]: asText,
};

/**
 * The parsers of one pool: ours for the types above (text format, which pg uses for
 * every result), pg's own (`fallback`, the driver's defaults) for the others.
 */
export function poolTypeParsers(fallback: () => TypeParsers): TypeParsers {
  return {
    getTypeParser(oid, format = 'text') {
      return (format === 'text' && TEXT_PARSERS[oid]) || fallback().getTypeParser(oid, format);
    },
  };
}
