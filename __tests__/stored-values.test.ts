import 'reflect-metadata';
import {
  BaseModel,
  DatabaseError,
  DomainError,
  Field,
  Model,
  SchemaError,
  ValidationError,
  type Domain,
  type Environment,
} from '../lib';
import { countQueries, describeEachDatabase, postgresCaseless, type TestDatabase } from './helpers/databases';
import { inTimeZone } from './helpers/time-zone';

/*
 * Values as existing databases store them (issue 10, item 5), over tables created by raw
 * SQL the way the Chinook scripts create theirs (PascalCase columns, `InvoiceId INT NOT
 * NULL` keys the caller gives), with rows inserted by raw SQL:
 *
 * 1. A DATETIME another program stored as UTC text without offset ('2002-08-14 00:00:00')
 *    reads as that UTC instant under any process time zone, and a field declared with
 *    `format: 'sql'` writes and compares that same text, so a domain returns the rows
 *    the equivalent raw SQL returns (with the default ISO text, `>=` on SQLite compared
 *    '2002-08-14T...' with '2002-08-14 00:00:00' and lost the equal row). A value the
 *    format cannot hold (milliseconds) is a ValidationError, never cut or rounded.
 * 2. NUMERIC money that SQLite holds as REAL (0.99) reads as the field's decimal string
 *    ('0.99'), and `=`, `>`, `in` find the rows raw SQL finds.
 * 3. On columns with a case-insensitive / accent-insensitive / PAD SPACE collation
 *    (Chinook's utf8mb3_general_ci on MariaDB; NOCASE on SQLite) comparisons follow the
 *    column's collation, and the records found read the values their rows hold.
 */

@Model({
  name: 'sv_invoice',
  table: 'sv_Invoice',
  primaryKey: { column: 'InvoiceId', type: 'integer', generated: false },
})
class Invoice extends BaseModel {
  @Field.datetime({ format: 'sql', required: true }) InvoiceDate!: Date;
  @Field.decimal({ precision: 10, scale: 2, required: true }) Total!: string;
  @Field.string({ size: 40 }) BillingCity!: string | null;
}

@Model({
  name: 'sv_line',
  table: 'sv_InvoiceLine',
  primaryKey: { column: 'InvoiceLineId', type: 'integer', generated: false },
})
class Line extends BaseModel {
  @Field.decimal({ precision: 10, scale: 2, required: true }) UnitPrice!: string;
  @Field.integer({ required: true }) Quantity!: number;
}

@Model({ name: 'sv_artist', table: 'sv_Artist', primaryKey: { column: 'ArtistId', type: 'integer', generated: false } })
class Artist extends BaseModel {
  @Field.string({ size: 120 }) Name!: string | null;
}

/** A table sync creates, for the columns proxorm makes for format 'sql'. */
@Model('sv_event')
class Event extends BaseModel {
  @Field.datetime({ format: 'sql' }) happened!: Date | null;
  @Field.datetime() stamp!: Date | null;
}

// ---------------------------------------------------------------------------------------------
// Tables and rows, as another program made them
// ---------------------------------------------------------------------------------------------

/** InvoiceDate text of each invoice (ids 1..n): boundaries around the pivot, and times New York skips or repeats. */
const DATES = [
  '2002-08-13 23:59:59',
  '2002-08-14 00:00:00',
  '2002-08-14 00:00:00',
  '2002-08-14 00:00:01',
  '2002-08-14 04:00:00', // New York midnight of the pivot day, in UTC
  '2002-08-15 00:00:00',
  '2009-01-01 00:00:00',
  '2021-12-31 23:59:59',
  '2002-04-07 02:30:00', // no such local time in New York (DST starts)
  '2002-10-27 01:30:00', // twice in New York (DST ends)
];
const utc = (text: string): number => Date.parse(`${text.replace(' ', 'T')}Z`);
const PIVOT_TEXT = '2002-08-14 00:00:00';
const PIVOT = utc(PIVOT_TEXT);

/** UnitPrice of each line as the Chinook script writes it (numeric literals: REAL in SQLite). */
const PRICES = ['0.99', '1.99', '0.99', '13.86', '2', '0.5', '1.98'];
const PRICE_READS = ['0.99', '1.99', '0.99', '13.86', '2.00', '0.50', '1.98'];

/** Artist names: case, trailing space and accent variants of one another. */
const NAMES: readonly (string | null)[] = ['abc', 'ABC', 'abc ', 'Abc', 'abd', 'ábc', 'xabcx', null];

async function createTables(db: TestDatabase, env: Environment): Promise<void> {
  for (const t of ['sv_Invoice', 'sv_InvoiceLine', 'sv_Artist']) await env.knex.schema.dropTableIfExists(t);
  if (db.name === 'sqlite') {
    // As Chinook_Sqlite's: DATETIME and NUMERIC(10,2) have NUMERIC affinity.
    await env.knex.raw(`CREATE TABLE [sv_Invoice] (
      [InvoiceId] INTEGER NOT NULL, [InvoiceDate] DATETIME NOT NULL, [Total] NUMERIC(10,2) NOT NULL, [BillingCity] NVARCHAR(40),
      CONSTRAINT [PK_sv_Invoice] PRIMARY KEY ([InvoiceId]))`);
    await env.knex.raw(`CREATE TABLE [sv_InvoiceLine] (
      [InvoiceLineId] INTEGER NOT NULL, [UnitPrice] NUMERIC(10,2) NOT NULL, [Quantity] INTEGER NOT NULL,
      CONSTRAINT [PK_sv_InvoiceLine] PRIMARY KEY ([InvoiceLineId]))`);
    await env.knex.raw(`CREATE TABLE [sv_Artist] ([ArtistId] INTEGER NOT NULL, [Name] NVARCHAR(120) COLLATE NOCASE,
      CONSTRAINT [PK_sv_Artist] PRIMARY KEY ([ArtistId]))`);
  } else if (db.name === 'postgres') {
    // As Chinook's PostgreSQL script: TIMESTAMP without time zone, NUMERIC(10,2), quoted
    // PascalCase names; Name with a collation that ignores case (nondeterministic, ICU).
    await env.knex.raw(`CREATE TABLE "sv_Invoice" (
      "InvoiceId" INT NOT NULL, "InvoiceDate" TIMESTAMP NOT NULL, "Total" NUMERIC(10,2) NOT NULL,
      "BillingCity" VARCHAR(40), CONSTRAINT "PK_sv_Invoice" PRIMARY KEY ("InvoiceId"))`);
    await env.knex.raw(`CREATE TABLE "sv_InvoiceLine" (
      "InvoiceLineId" INT NOT NULL, "UnitPrice" NUMERIC(10,2) NOT NULL, "Quantity" INT NOT NULL,
      CONSTRAINT "PK_sv_InvoiceLine" PRIMARY KEY ("InvoiceLineId"))`);
    await env.knex.raw(`CREATE TABLE "sv_Artist" ("ArtistId" INT NOT NULL,
      "Name" VARCHAR(120) COLLATE ${await postgresCaseless(env)}, CONSTRAINT "PK_sv_Artist" PRIMARY KEY ("ArtistId"))`);
  } else {
    // As Chinook_MySql's: NVARCHAR is utf8mb3 with its default collation, utf8mb3_general_ci.
    await env.knex.raw(`CREATE TABLE \`sv_Invoice\` (
      \`InvoiceId\` INT NOT NULL, \`InvoiceDate\` DATETIME NOT NULL, \`Total\` NUMERIC(10,2) NOT NULL,
      \`BillingCity\` NVARCHAR(40), CONSTRAINT \`PK_sv_Invoice\` PRIMARY KEY (\`InvoiceId\`))`);
    await env.knex.raw(`CREATE TABLE \`sv_InvoiceLine\` (
      \`InvoiceLineId\` INT NOT NULL, \`UnitPrice\` NUMERIC(10,2) NOT NULL, \`Quantity\` INT NOT NULL,
      CONSTRAINT \`PK_sv_InvoiceLine\` PRIMARY KEY (\`InvoiceLineId\`))`);
    await env.knex.raw(`CREATE TABLE \`sv_Artist\` (\`ArtistId\` INT NOT NULL, \`Name\` NVARCHAR(120),
      CONSTRAINT \`PK_sv_Artist\` PRIMARY KEY (\`ArtistId\`))`);
  }
  // Literals in the SQL text, as the scripts insert them.
  const q = (s: string | null) => (s === null ? 'NULL' : `'${s}'`);
  await rawRows(
    db,
    env,
    `INSERT INTO sv_Invoice (InvoiceId, InvoiceDate, Total, BillingCity) VALUES ${DATES.map(
      (d, i) => `(${i + 1}, '${d}', 1.98, 'Paris')`,
    ).join(', ')}`,
  );
  await rawRows(
    db,
    env,
    `INSERT INTO sv_InvoiceLine (InvoiceLineId, UnitPrice, Quantity) VALUES ${PRICES.map((p, i) => `(${i + 1}, ${p}, 1)`).join(', ')}`,
  );
  await rawRows(
    db,
    env,
    `INSERT INTO sv_Artist (ArtistId, Name) VALUES ${NAMES.map((n, i) => `(${i + 1}, ${q(n)})`).join(', ')}`,
  );
}

/** The tables' PascalCase names, which PostgreSQL folds to lower case unless quoted. */
const IDENTIFIERS =
  /\b(sv_InvoiceLine|sv_Invoice|sv_Artist|InvoiceLineId|InvoiceId|InvoiceDate|Total|BillingCity|UnitPrice|Quantity|ArtistId|Name)\b/g;

/** Rows of a raw SELECT, whichever the driver. */
async function rawRows<T>(
  db: TestDatabase,
  env: Environment,
  sql: string,
  bindings: readonly unknown[] = [],
): Promise<T[]> {
  // The raw SQL of this file names tables and columns unquoted, as the Chinook scripts do.
  // (Not inside string literals, which split() leaves at the odd positions.)
  const text =
    db.name === 'postgres'
      ? sql
          .split(/('[^']*')/)
          .map((part, i) => (i % 2 ? part : part.replace(IDENTIFIERS, '"$1"')))
          .join('')
      : sql;
  const result = await env.knex.raw(text, bindings as never);
  if (db.name === 'postgres') return (result as { rows: T[] }).rows;
  return (db.name === 'sqlite' ? result : result[0]) as T[];
}

/** Key column of each table, as Chinook names them. */
const KEY: Readonly<Record<string, string>> = {
  sv_Invoice: 'InvoiceId',
  sv_InvoiceLine: 'InvoiceLineId',
  sv_Artist: 'ArtistId',
};

async function rawIds(db: TestDatabase, env: Environment, table: string, where: string): Promise<number[]> {
  const rows = await rawRows<{ id: number }>(
    db,
    env,
    `SELECT ${KEY[table]} AS id FROM ${table} WHERE ${where} ORDER BY 1`,
  );
  return rows.map((r) => Number(r.id));
}

/** The InvoiceDate text as stored (MySQL: the DATETIME as the server writes it; PostgreSQL: the TIMESTAMP's). */
async function storedDate(db: TestDatabase, env: Environment, id: number): Promise<{ text: string; kind: string }> {
  const sql = {
    sqlite: 'SELECT InvoiceDate AS text, typeof(InvoiceDate) AS kind FROM sv_Invoice WHERE InvoiceId = ?',
    mariadb: "SELECT CAST(InvoiceDate AS CHAR) AS text, 'datetime' AS kind FROM sv_Invoice WHERE InvoiceId = ?",
    postgres: "SELECT InvoiceDate::text AS text, 'datetime' AS kind FROM sv_Invoice WHERE InvoiceId = ?",
  }[db.name];
  const [row] = await rawRows<{ text: string; kind: string }>(db, env, sql, [id]);
  return row;
}

const idsOf = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const sortNum = (a: readonly number[]) => [...a].sort((x, y) => x - y);

describe('declaring a datetime format', () => {
  it('accepts iso and sql, refuses other formats and format on other types (SchemaError)', () => {
    expect(() => {
      @Model('sv_bad_format')
      class Bad extends BaseModel {
        @Field.datetime({ format: 'local' as never }) seenAt!: Date;
      }
      return Bad;
    }).toThrow(SchemaError);
    expect(() => {
      @Model('sv_bad_format2')
      class Bad extends BaseModel {
        @Field.string({ format: 'sql' } as never) seenAt!: string;
      }
      return Bad;
    }).toThrow(/unknown option "format"/);
    expect(() => {
      @Model('sv_bad_default')
      class Bad extends BaseModel {
        @Field.datetime({ format: 'sql', default: new Date(Date.UTC(2020, 0, 1, 0, 0, 0, 5)) }) seenAt!: Date;
      }
      return Bad;
    }).toThrow(/invalid default: .*milliseconds/);
  });
});

describeEachDatabase('values as existing databases store them', (db) => {
  let env: Environment;
  beforeEach(async () => {
    env = await db.open();
    await createTables(db, env);
  });
  afterEach(async () => {
    await env.close();
  });

  // ---- 1. datetimes stored as text without offset ------------------------------------------

  describe.each(['UTC', 'America/New_York'])('datetime text read and compared under TZ=%s', (tz) => {
    it('reads every stored DATETIME as its UTC instant, as raw SQL holds it', async () => {
      await inTimeZone(tz, async () => {
        expect(new Date(PIVOT).getTimezoneOffset()).toBe(tz === 'UTC' ? 0 : 240);
        const raw = await rawRows<{ id: number; d: string }>(
          db,
          env,
          {
            sqlite: 'SELECT InvoiceId AS id, InvoiceDate AS d FROM sv_Invoice ORDER BY 1',
            mariadb: 'SELECT InvoiceId AS id, CAST(InvoiceDate AS CHAR) AS d FROM sv_Invoice ORDER BY 1',
            postgres: 'SELECT InvoiceId AS id, InvoiceDate::text AS d FROM sv_Invoice ORDER BY 1',
          }[db.name],
        );
        expect(raw.map((r) => r.d)).toEqual(DATES);
        const invoices = env.model(Invoice).browse(idsOf(DATES.length));
        const read = await invoices.read(['InvoiceDate']);
        expect(read.map((r) => r.InvoiceDate.toISOString())).toEqual(DATES.map((d) => new Date(utc(d)).toISOString()));
        expect(read[1].InvoiceDate.getTime()).toBe(PIVOT);
      });
    });

    it('a domain on the date returns the rows the equivalent raw SQL returns', async () => {
      await inTimeZone(tz, async () => {
        const pivot = new Date(PIVOT);
        const cases: Array<[Domain, string]> = [
          [[['InvoiceDate', '>=', pivot]], `InvoiceDate >= '${PIVOT_TEXT}'`],
          [[['InvoiceDate', '>', pivot]], `InvoiceDate > '${PIVOT_TEXT}'`],
          [[['InvoiceDate', '<', pivot]], `InvoiceDate < '${PIVOT_TEXT}'`],
          [[['InvoiceDate', '<=', pivot]], `InvoiceDate <= '${PIVOT_TEXT}'`],
          [[['InvoiceDate', '=', pivot]], `InvoiceDate = '${PIVOT_TEXT}'`],
          [[['InvoiceDate', '!=', pivot]], `InvoiceDate <> '${PIVOT_TEXT}'`],
          [
            [['InvoiceDate', 'in', [pivot, new Date(utc('2009-01-01 00:00:00'))]]],
            `InvoiceDate IN ('${PIVOT_TEXT}', '2009-01-01 00:00:00')`,
          ],
          [[['InvoiceDate', 'not in', [pivot]]], `InvoiceDate NOT IN ('${PIVOT_TEXT}')`],
          // The same instant given as text without offset: UTC, as stored.
          [[['InvoiceDate', '>=', PIVOT_TEXT]], `InvoiceDate >= '${PIVOT_TEXT}'`],
          [
            [
              ['InvoiceDate', '>=', pivot],
              ['InvoiceDate', '<', new Date(utc('2002-08-15 00:00:00'))],
            ],
            `InvoiceDate >= '${PIVOT_TEXT}' AND InvoiceDate < '2002-08-15 00:00:00'`,
          ],
        ];
        for (const [domain, where] of cases) {
          const truth = await rawIds(db, env, 'sv_Invoice', where);
          const found = await env.model(Invoice).search(domain);
          expect({ where, ids: sortNum(found.ids) }).toEqual({ where, ids: truth });
        }
        // The issue's numbers: 6 rows from the pivot day on, where ISO text found 5.
        expect(await rawIds(db, env, 'sv_Invoice', `InvoiceDate >= '${PIVOT_TEXT}'`)).toEqual([
          2, 3, 4, 5, 6, 7, 8, 10,
        ]);
        expect(
          await env.model(Invoice).searchCount([
            ['InvoiceDate', '>=', pivot],
            ['InvoiceDate', '<', new Date(utc('2003-01-01 00:00:00'))],
          ]),
        ).toBe(6);
      });
    });

    it('a domain value with milliseconds compares exactly against whole seconds', async () => {
      await inTimeZone(tz, async () => {
        const half = new Date(PIVOT + 500);
        const cases: Array<[Domain, string]> = [
          [[['InvoiceDate', '>=', half]], `InvoiceDate > '${PIVOT_TEXT}'`],
          [[['InvoiceDate', '>', half]], `InvoiceDate > '${PIVOT_TEXT}'`],
          [[['InvoiceDate', '<', half]], `InvoiceDate <= '${PIVOT_TEXT}'`],
          [[['InvoiceDate', '<=', half]], `InvoiceDate <= '${PIVOT_TEXT}'`],
          [[['InvoiceDate', '=', half]], '1 = 0'],
          [[['InvoiceDate', 'in', [half]]], '1 = 0'],
          [[['InvoiceDate', '!=', half]], '1 = 1'],
        ];
        for (const [domain, where] of cases) {
          const truth = await rawIds(db, env, 'sv_Invoice', where);
          const found = await env.model(Invoice).search(domain);
          expect({ where, ids: sortNum(found.ids) }).toEqual({ where, ids: truth });
        }
      });
    });

    it('writes land in the column as whole-second UTC text, the format of the rows already there', async () => {
      await inTimeZone(tz, async () => {
        const at = new Date(Date.UTC(2021, 2, 4, 5, 6, 7));
        const inv = await env.model(Invoice).create({ id: 100, InvoiceDate: at, Total: '3.96', BillingCity: 'Oslo' });
        expect(await storedDate(db, env, inv.id)).toEqual({
          text: '2021-03-04 05:06:07',
          kind: db.name === 'sqlite' ? 'text' : 'datetime',
        });
        // Given as text without offset: UTC, whatever the process's zone.
        await inv.write({ InvoiceDate: '2002-08-14 00:00:00' as unknown as Date });
        expect(await storedDate(db, env, inv.id)).toEqual({
          text: PIVOT_TEXT,
          kind: db.name === 'sqlite' ? 'text' : 'datetime',
        });
        expect((await inv.InvoiceDate).getTime()).toBe(PIVOT);
        // The written row compares with the others: it is one of the pivot's rows now.
        expect(sortNum((await env.model(Invoice).search([['InvoiceDate', '=', new Date(PIVOT)]])).ids)).toEqual([
          2,
          3,
          inv.id,
        ]);
        env.clearCache();
        expect((await env.model(Invoice).browse(inv.id).InvoiceDate).getTime()).toBe(PIVOT);
      });
    });
  });

  it('a value with milliseconds is a ValidationError naming the field; nothing is sent or cached', async () => {
    const inv = env.model(Invoice).browse(2);
    expect((await inv.InvoiceDate).getTime()).toBe(PIVOT);
    const count = await env.model(Invoice).searchCount([]);
    const ms = new Date(Date.UTC(2021, 0, 1, 0, 0, 0, 1));
    let error: unknown;
    const sent = await countQueries(env, async () => {
      await env
        .model(Invoice)
        .create({ id: 100, InvoiceDate: ms, Total: '1.00', BillingCity: null })
        .catch((e: unknown) => {
          error = e;
        });
      await expect(inv.write({ InvoiceDate: ms })).rejects.toThrow(ValidationError);
      await expect(inv.write({ InvoiceDate: '2021-01-01T00:00:00.001Z' as unknown as Date })).rejects.toThrow(
        ValidationError,
      );
    });
    expect(sent).toBe(0);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(
      /^sv_invoice\.InvoiceDate: has milliseconds; its format 'sql' stores whole seconds/,
    );
    expect((await inv.InvoiceDate).getTime()).toBe(PIVOT);
    expect(await env.model(Invoice).searchCount([])).toBe(count);
    expect(await storedDate(db, env, 2)).toMatchObject({ text: PIVOT_TEXT });
    // A domain value is compared, not stored: milliseconds are fine there; bad dates are not.
    await expect(env.model(Invoice).search([['InvoiceDate', '>=', '2002-02-30 00:00:00']])).rejects.toThrow(
      DomainError,
    );
  });

  it('sync creates whole-second columns for format sql, and DATETIME(3) / ISO text stays the default', async () => {
    const ev = await env.model(Event).create({
      happened: new Date(Date.UTC(2020, 1, 29, 12, 0, 1)),
      stamp: new Date(Date.UTC(2020, 1, 29, 12, 0, 1, 250)),
    });
    if (db.name === 'sqlite') {
      const [row] = await rawRows<{ happened: string; stamp: string }>(
        db,
        env,
        'SELECT happened, stamp FROM sv_event WHERE id = ?',
        [ev.id],
      );
      expect(row).toEqual({ happened: '2020-02-29 12:00:01', stamp: '2020-02-29T12:00:01.250Z' });
      const cols = await rawRows<{ name: string; type: string }>(db, env, 'PRAGMA table_info(sv_event)');
      expect(cols.filter((c) => c.name !== 'id').map((c) => [c.name, c.type])).toEqual([
        ['happened', 'varchar(19)'],
        ['stamp', 'varchar(24)'],
      ]);
    } else if (db.name === 'postgres') {
      // timestamptz, shown in UTC (PostgreSQL writes no trailing zeros of a fraction).
      const [row] = await rawRows<{ happened: string; stamp: string }>(
        db,
        env,
        "SELECT (happened AT TIME ZONE 'UTC')::text AS happened, (stamp AT TIME ZONE 'UTC')::text AS stamp FROM sv_event WHERE id = ?",
        [ev.id],
      );
      expect(row).toEqual({ happened: '2020-02-29 12:00:01', stamp: '2020-02-29 12:00:01.25' });
      const cols = await rawRows<{ c: string; t: string; p: number }>(
        db,
        env,
        "SELECT column_name AS c, data_type AS t, datetime_precision AS p FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'sv_event' AND column_name <> 'id' ORDER BY ordinal_position",
      );
      expect(cols.map((c) => [c.c, c.t, c.p])).toEqual([
        ['happened', 'timestamp with time zone', 0],
        ['stamp', 'timestamp with time zone', 3],
      ]);
    } else {
      const [row] = await rawRows<{ happened: string; stamp: string }>(
        db,
        env,
        'SELECT CAST(happened AS CHAR) AS happened, CAST(stamp AS CHAR) AS stamp FROM sv_event WHERE id = ?',
        [ev.id],
      );
      expect(row).toEqual({ happened: '2020-02-29 12:00:01', stamp: '2020-02-29 12:00:01.250' });
      const cols = await rawRows<{ c: string; t: string }>(
        db,
        env,
        "SELECT column_name AS c, column_type AS t FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'sv_event' AND column_name <> 'id' ORDER BY ordinal_position",
      );
      expect(cols.map((c) => [c.c, c.t])).toEqual([
        ['happened', 'datetime'],
        ['stamp', 'datetime(3)'],
      ]);
    }
    env.clearCache();
    const again = env.model(Event).browse(ev.id);
    expect((await again.happened)?.toISOString()).toBe('2020-02-29T12:00:01.000Z');
    expect((await again.stamp)?.toISOString()).toBe('2020-02-29T12:00:01.250Z');
    // A format 'sql' column holding a fraction another program wrote reads it as stored.
    await env
      .knex('sv_event')
      .update({ happened: db.name === 'postgres' ? '2020-02-29 12:00:01.5+00' : '2020-02-29 12:00:01.5' })
      .where({ id: ev.id });
    env.clearCache();
    // MariaDB's DATETIME cuts the fraction on the way in (MySQL's rounds it, and so does
    // PostgreSQL's timestamptz(0)): the row holds :01 (:02).
    const stored = {
      sqlite: '2020-02-29T12:00:01.500Z',
      mariadb: '2020-02-29T12:00:01.000Z',
      postgres: '2020-02-29T12:00:02.000Z',
    }[db.name];
    expect((await env.model(Event).browse(ev.id).happened)?.toISOString()).toBe(stored);
  });

  // ---- 2. NUMERIC money stored as REAL ---------------------------------------------------------

  it('NUMERIC(10,2) money reads as the decimal string with its scale', async () => {
    if (db.name === 'sqlite') {
      const kinds = await rawRows<{ k: string }>(
        db,
        env,
        'SELECT typeof(UnitPrice) AS k FROM sv_InvoiceLine ORDER BY InvoiceLineId',
      );
      expect(kinds.map((r) => r.k)).toEqual(['real', 'real', 'real', 'real', 'integer', 'real', 'real']);
    }
    const lines = env.model(Line).browse(idsOf(PRICES.length));
    const n = await countQueries(env, async () => {
      expect((await lines.read(['UnitPrice'])).map((r) => r.UnitPrice)).toEqual(PRICE_READS);
    });
    expect(n).toBe(1);
    expect(await env.model(Invoice).browse(1).Total).toBe('1.98');
  });

  it('=, >, in and the others on a decimal return the rows raw SQL returns', async () => {
    const cases: Array<[Domain, string]> = [
      [[['UnitPrice', '=', '0.99']], 'UnitPrice = 0.99'],
      [[['UnitPrice', '=', 0.99]], 'UnitPrice = 0.99'],
      [[['UnitPrice', '=', '2']], 'UnitPrice = 2'],
      [[['UnitPrice', '=', '2.00']], 'UnitPrice = 2'],
      [[['UnitPrice', '!=', '0.99']], 'UnitPrice <> 0.99'],
      [[['UnitPrice', '>', '0.99']], 'UnitPrice > 0.99'],
      [[['UnitPrice', '>=', '1.98']], 'UnitPrice >= 1.98'],
      [[['UnitPrice', '<', 1]], 'UnitPrice < 1'],
      [[['UnitPrice', '<=', '0.5']], 'UnitPrice <= 0.5'],
      [[['UnitPrice', 'in', ['0.99', '2.00', '13.86']]], 'UnitPrice IN (0.99, 2, 13.86)'],
      [[['UnitPrice', 'in', ['0.990', 0.5]]], 'UnitPrice IN (0.99, 0.5)'],
      [[['UnitPrice', 'not in', ['0.99', '1.99']]], 'UnitPrice NOT IN (0.99, 1.99)'],
    ];
    for (const [domain, where] of cases) {
      const truth = await rawIds(db, env, 'sv_InvoiceLine', where);
      expect(truth.length).toBeGreaterThan(0);
      const found = await env.model(Line).search(domain);
      expect({ where, ids: sortNum(found.ids) }).toEqual({ where, ids: truth });
    }
    expect(sortNum((await env.model(Line).search([['UnitPrice', '=', '0.99']])).ids)).toEqual([1, 3]);
  });

  it('a decimal written lands as the column stores it and reads back with its scale', async () => {
    const line = env.model(Line).browse(1);
    await line.write({ UnitPrice: '1.25' });
    const created = await env.model(Line).create({ id: 100, UnitPrice: '3', Quantity: 2 });
    const [row] = await rawRows<{ p: unknown }>(
      db,
      env,
      'SELECT UnitPrice AS p FROM sv_InvoiceLine WHERE InvoiceLineId = ?',
      [1],
    );
    const [made] = await rawRows<{ p: unknown }>(
      db,
      env,
      'SELECT UnitPrice AS p FROM sv_InvoiceLine WHERE InvoiceLineId = ?',
      [created.id],
    );
    expect([row.p, made.p]).toEqual(db.name === 'sqlite' ? [1.25, 3] : ['1.25', '3.00']); // NUMERIC as text elsewhere
    expect([await line.UnitPrice, await created.UnitPrice]).toEqual(['1.25', '3.00']);
    env.clearCache();
    expect(await env.model(Line).browse([1, created.id]).mapped('UnitPrice')).toEqual(['1.25', '3.00']);
    expect(sortNum((await env.model(Line).search([['UnitPrice', 'in', ['1.25', '3']]])).ids)).toEqual([1, created.id]);
  });

  // ---- 3. comparisons follow an existing column's collation ------------------------------------

  it('the column is the collation the other program chose', async () => {
    if (db.name === 'sqlite') {
      const [row] = await rawRows<{ sql: string }>(db, env, "SELECT sql FROM sqlite_master WHERE name = 'sv_Artist'");
      expect(row.sql).toMatch(/COLLATE NOCASE/);
    } else if (db.name === 'postgres') {
      const [row] = await rawRows<{ c: string }>(
        db,
        env,
        "SELECT collation_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'sv_Artist' AND column_name = 'Name'",
      );
      expect(row.c).toBe('proxorm_test_caseless');
    } else {
      const [row] = await rawRows<{ c: string }>(
        db,
        env,
        "SELECT collation_name AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'sv_Artist' AND column_name = 'Name'",
      );
      expect(row.c).toMatch(/^utf8(mb3)?_general_ci$/);
    }
  });

  it('=, in, like and ilike on such a column match what its collation matches; records read their own rows', async () => {
    // Ids by name: 1 'abc', 2 'ABC', 3 'abc ', 4 'Abc', 5 'abd', 6 'ábc', 7 'xabcx', 8 null.
    const expected: Record<string, Record<TestDatabase['name'], number[]>> = {
      // NOCASE folds ASCII case only; utf8mb3_general_ci also accents and trailing spaces
      // (PAD SPACE); PostgreSQL's caseless ICU collation (level 2) case, not accents or spaces.
      eq: { sqlite: [1, 2, 4], mariadb: [1, 2, 3, 4, 6], postgres: [1, 2, 4] },
      in: { sqlite: [1, 2, 4, 5], mariadb: [1, 2, 3, 4, 5, 6], postgres: [1, 2, 4, 5] },
      ne: { sqlite: [3, 5, 6, 7, 8], mariadb: [5, 7, 8], postgres: [3, 5, 6, 7, 8] },
      // proxorm's like on SQLite is its own function: case-sensitive whatever the column;
      // MariaDB's LIKE follows the collation (no padding: 'abc ' is not LIKE 'abc');
      // PostgreSQL has no LIKE under a nondeterministic collation: proxorm's compares
      // code points there, as on SQLite.
      like: { sqlite: [1, 3, 7], mariadb: [1, 2, 3, 4, 6, 7], postgres: [1, 3, 7] },
      eqlike: { sqlite: [1], mariadb: [1, 2, 4, 6], postgres: [1] },
      ilike: { sqlite: [1, 2, 3, 4, 7], mariadb: [1, 2, 3, 4, 6, 7], postgres: [1, 2, 3, 4, 7] },
    };
    const domains: Record<string, Domain> = {
      eq: [['Name', '=', 'abc']],
      in: [['Name', 'in', ['abc', 'ABD']]],
      ne: [['Name', '!=', 'abc']],
      like: [['Name', 'like', 'abc']],
      eqlike: [['Name', '=like', 'abc']],
      ilike: [['Name', 'ilike', 'ABC']],
    };
    // = and in agree with raw SQL's = and IN on the same column.
    expect(await rawIds(db, env, 'sv_Artist', "Name = 'abc'")).toEqual(expected.eq[db.name]);
    expect(await rawIds(db, env, 'sv_Artist', "Name IN ('abc', 'ABD')")).toEqual(expected.in[db.name]);
    const stored = new Map(
      (await rawRows<{ id: number; Name: string | null }>(db, env, 'SELECT ArtistId AS id, Name FROM sv_Artist')).map(
        (r) => [Number(r.id), r.Name],
      ),
    );
    for (const [key, domain] of Object.entries(domains)) {
      env.clearCache();
      const found = await env.model(Artist).search(domain);
      const ids = sortNum(found.ids);
      expect({ key, ids }).toEqual({ key, ids: expected[key][db.name] });
      // The cache holds what each row holds, not the value the domain compared with.
      const names = await env.model(Artist).browse(ids).mapped('Name');
      expect(names).toEqual(ids.map((id) => stored.get(id)));
    }
    expect(stored.get(3)).toBe('abc ');
  });

  it("a character the column's character set cannot hold is refused by MariaDB (utf8mb3), stored by SQLite and PostgreSQL", async () => {
    const artist = env.model(Artist).browse(1);
    expect(await artist.Name).toBe('abc');
    const name = 'note \u{1F3B5}'; // outside the BMP: four bytes in UTF-8, which utf8mb3 lacks
    if (db.name !== 'mariadb') {
      await artist.write({ Name: name });
      env.clearCache();
      expect(await env.model(Artist).browse(1).Name).toBe(name);
      return;
    }
    const error = await artist.write({ Name: name }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as Error).message).toMatch(/Incorrect string value for column .*Name/);
    expect((error as Error).message).not.toContain('note');
    // The failed write left the cache and the row as they were.
    expect(await artist.Name).toBe('abc');
    expect(await rawRows<{ Name: string }>(db, env, 'SELECT Name FROM sv_Artist WHERE ArtistId = 1')).toEqual([
      { Name: 'abc' },
    ]);
  });
});
