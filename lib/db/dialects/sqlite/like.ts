/**
 * LIKE for SQLite, as SQL functions implemented in JS. SQLite's own LIKE stops at a NUL
 * byte and folds case for ASCII only; these match MySQL's LIKE on a binary collation
 * (proxorm_like) and on LOWER()ed values (proxorm_ilike): `%` any run of characters,
 * `_` one character, the escape character makes the next one literal (a trailing
 * escape is itself literal). A NULL value gives NULL, as LIKE does.
 */
const compiled = new Map<string, RegExp>();
const MAX_COMPILED = 500;

function toRegExp(pattern: string, escape: string, caseInsensitive: boolean): RegExp {
  const key = `${caseInsensitive ? 'i' : 's'}${escape}\u0000${pattern}`;
  let re = compiled.get(key);
  if (!re) {
    let src = '';
    const chars = [...pattern];
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i];
      if (c === escape && i + 1 < chars.length) src += quote(chars[++i]);
      else if (c === '%') src += '.*';
      else if (c === '_') src += '.';
      else src += quote(c);
    }
    re = new RegExp(`^${src}$`, caseInsensitive ? 'sui' : 'su');
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value as string);
    compiled.set(key, re);
  }
  return re;
}

function quote(c: string): string {
  // Outside a character class these are the only special characters (with the u flag,
  // escaping anything else is an error).
  return /[\\^$.*+?()[\]{}|]/.test(c) ? `\\${c}` : c;
}

/** What SQLite passes to a user function: the storage classes. */
type SqliteValue = string | number | bigint | Buffer | null;

function likeFunction(caseInsensitive: boolean) {
  return (value: SqliteValue, pattern: SqliteValue, escape?: SqliteValue): number | null => {
    if (value === null || pattern === null) return null;
    return toRegExp(String(pattern), String(escape ?? ''), caseInsensitive).test(String(value)) ? 1 : 0;
  };
}

interface SqliteConnection {
  function(name: string, options: { deterministic: boolean }, fn: (...args: SqliteValue[]) => unknown): unknown;
}

export function registerLikeFunctions(conn: SqliteConnection): void {
  conn.function('proxorm_like', { deterministic: true }, likeFunction(false));
  conn.function('proxorm_ilike', { deterministic: true }, likeFunction(true));
}
