import 'reflect-metadata';
import { BaseModel, DomainError, Environment, Field, Model, type Domain, type DomainLeaf, type Operator } from '../lib';
import { countQueries, describeEachDatabase } from './helpers/databases';

/*
 * The domain language (DESIGN §3) on both databases. Most expectations come from two
 * places: hand-written name lists for the seeded FIXTURE below, and a JS reference
 * implementation of the domain semantics (`evalDomain`) that the SQL must agree with,
 * row for row, including on NULLs.
 */

@Model('dom_item')
class Item extends BaseModel {
  @Field({ required: true }) name!: string;
  @Field.string({ size: 40 }) code!: string | null;
  @Field.integer() qty!: number | null;
  @Field.float() price!: number | null;
  @Field.boolean() active!: boolean | null;
  @Field.datetime() seen!: Date | null;
  @Field.decimal({ precision: 10, scale: 2 }) amount!: string | null;
  @Field.text() note!: string | null;
  @Field.json() meta!: unknown;
}

@Model('dom_bulk')
class Bulk extends BaseModel {
  @Field.integer() n!: number | null;
  @Field.string({ size: 20 }) label!: string | null;
}

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------

interface ItemRow {
  name: string;
  code: string | null;
  qty: number | null;
  price: number | null;
  active: boolean | null;
  seen: Date | null;
  amount: string | null;
  note: string | null;
  meta: unknown;
}
/** A seeded row with its id. */
type Rec = ItemRow & { id: number };

const EMPTY: ItemRow = {
  name: '',
  code: null,
  qty: null,
  price: null,
  active: null,
  seen: null,
  amount: null,
  note: null,
  meta: null,
};
const row = (values: Partial<ItemRow> & { name: string }): ItemRow => ({ ...EMPTY, ...values });
const at = (iso: string) => new Date(iso);

/** Names are unique, so expectations can be written as lists of names (in id order). */
const FIXTURE: readonly ItemRow[] = [
  row({
    name: 'apple',
    code: 'A-1',
    qty: 5,
    price: 1.5,
    active: true,
    seen: at('2024-01-01T00:00:00.000Z'),
    amount: '10.50',
    note: 'Fresh Red fruit',
    meta: { color: 'red' },
  }),
  row({
    name: 'Apple',
    code: 'a-1',
    qty: 0,
    price: 0.1,
    active: false,
    seen: at('2024-01-01T00:00:00.001Z'),
    amount: '0.00',
    note: 'fresh green',
  }),
  row({ name: 'APPLE pie', code: null, qty: -3, price: -2.25, active: null, seen: null, amount: '-10.50', note: null }),
  row({
    name: 'banana',
    code: 'B_2',
    qty: null,
    price: null,
    active: true,
    seen: at('2023-12-31T23:59:59.999Z'),
    amount: null,
    note: '100% natural',
  }),
  row({
    name: 'cherry',
    code: 'C%3',
    qty: 12,
    price: 3,
    active: false,
    seen: at('1999-06-15T12:00:00.000Z'),
    amount: '99999999.99',
    note: 'under_score',
  }),
  row({
    name: 'date',
    code: 'D\\4',
    qty: 2 ** 40,
    price: 1e-9,
    active: null,
    seen: at('2100-02-28T08:30:00.250Z'),
    amount: '0.01',
    note: 'back\\slash',
  }),
  row({
    name: 'elder berry',
    code: 'e 5 ',
    qty: 7,
    price: 7,
    active: true,
    seen: at('2024-06-30T12:00:00.000Z'),
    amount: '10.50',
    note: 'Elder',
  }),
  row({
    name: 'fig ',
    code: 'fig',
    qty: 7,
    price: 0,
    active: false,
    seen: at('2024-01-01T00:00:00.000Z'),
    amount: '-0.01',
    note: '',
  }),
  row({ name: 'grape', code: '', qty: null, price: 0.1, active: null, seen: null, amount: null, note: 'GRAPE grape' }),
  row({ name: 'fig', code: null, qty: 1, price: null, active: true, seen: null, amount: '1.00', note: null }),
  row({
    name: 'lemon_lime',
    code: 'L',
    qty: -1,
    price: 2.5,
    active: false,
    seen: at('1000-01-01T00:00:00.000Z'),
    amount: '0.10',
    note: 'sour',
  }),
];
const ALL_NAMES = FIXTURE.map((r) => r.name);
const except = (...names: string[]) => ALL_NAMES.filter((n) => !names.includes(n));

/** Strings that must be matched literally and must not hurt the database. */
const HOSTILE: readonly string[] = [
  "x'; DROP TABLE dom_item; --",
  "Robert'); DROP TABLE dom_item;--",
  "' OR 1=1 --",
  '" OR ""="',
  '%',
  '_',
  '%%',
  '\\',
  '\\%',
  '\\\\_',
  'it\'s "quoted"',
  "back\\slash\\'s",
  '50% off_sale',
  '? ?? :name $1',
  '`backtick`',
  '\u{1F984} emoji \u{1F389}',
  'nul\u0000byte',
  'line\nbreak\ttab',
];
/** Near misses: would match if the hostile strings were taken as patterns or were truncated. */
const DECOYS: readonly string[] = [
  'x',
  'OR 1=1',
  'abc',
  '50 off sale',
  '50X offXsale',
  'nul',
  'nulXbyte',
  'nul\u0000other',
  'line',
  '\u{1F984}',
  'its quoted',
  'Xslash',
];
/** Strings holding a NUL byte: like/ilike on them get a test of their own (see "NUL byte" below). */
const hasNul = (s: string) => s.includes('\u0000');

// ---------------------------------------------------------------------------------------------
// JS reference semantics (Odoo's two-valued logic: a negated leaf matches NULLs)
// ---------------------------------------------------------------------------------------------

type Comparable = string | number | boolean;

function comparable(field: string, v: unknown): Comparable {
  if (field === 'seen') return v instanceof Date ? v.getTime() : Date.parse(v as string);
  if (field === 'amount') return Number(v);
  return v as Comparable;
}

function compare(field: string, a: unknown, b: unknown): number {
  const x = comparable(field, a);
  const y = comparable(field, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function escapeRegExp(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A raw LIKE pattern (`%`, `_`, `\` escapes) as an anchored RegExp over code points. */
function likeRegExp(pattern: string, insensitive: boolean): RegExp {
  let src = '';
  let escaped = false;
  for (const ch of pattern) {
    if (escaped) {
      src += escapeRegExp(ch);
      escaped = false;
    } else if (ch === '\\') escaped = true;
    else if (ch === '%') src += '.*';
    else if (ch === '_') src += '.';
    else src += escapeRegExp(ch);
  }
  if (escaped) src += escapeRegExp('\\'); // a trailing escape is a literal character
  return new RegExp(`^${src}$`, insensitive ? 'isu' : 'su');
}

function leafMatches(leaf: DomainLeaf, rec: Record<string, unknown>): boolean {
  const [field, op, value] = leaf;
  const v = rec[field];
  switch (op) {
    case '!=':
      return !leafMatches([field, '=', value], rec);
    case 'not in':
      return !leafMatches([field, 'in', value], rec);
    case 'not like':
      return !leafMatches([field, 'like', value], rec);
    case 'not ilike':
      return !leafMatches([field, 'ilike', value], rec);
    case '=':
      return value === null ? v === null : v !== null && compare(field, v, value) === 0;
    case '<':
      return v !== null && compare(field, v, value) < 0;
    case '<=':
      return v !== null && compare(field, v, value) <= 0;
    case '>':
      return v !== null && compare(field, v, value) > 0;
    case '>=':
      return v !== null && compare(field, v, value) >= 0;
    case 'in':
      return (value as unknown[]).some((x) => (x === null ? v === null : v !== null && compare(field, v, x) === 0));
    case 'like':
      return v !== null && (v as string).includes(value as string);
    case 'ilike':
      return v !== null && (v as string).toLowerCase().includes((value as string).toLowerCase());
    case '=like':
      return v !== null && likeRegExp(value as string, false).test(v as string);
    case '=ilike':
      return v !== null && likeRegExp(value as string, true).test(v as string);
  }
}

/** Evaluates a prefix-notation domain on one row, exactly as DESIGN §3 describes it. */
function evalDomain(domain: Domain, rec: Rec): boolean {
  let pos = 0;
  const term = (): boolean => {
    const t = domain[pos++];
    if (t === '&' || t === '|') {
      const a = term();
      const b = term();
      return t === '&' ? a && b : a || b;
    }
    if (t === '!') return !term();
    return leafMatches(t, rec as unknown as Record<string, unknown>);
  };
  let result = true;
  while (pos < domain.length) result = term() && result;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Leaves to try on every field: compared against the reference, with their complement
// ---------------------------------------------------------------------------------------------

const COMPARISONS: readonly Operator[] = ['=', '!=', '<', '<=', '>', '>='];
const LIKES: readonly Operator[] = ['like', 'not like', 'ilike', 'not ilike'];

interface Probe {
  /** Values for = != < <= > >= (booleans: = and != only). */
  scalars: readonly unknown[];
  /** Lists for in / not in. */
  lists: readonly (readonly unknown[])[];
  /** Substrings for like / not like / ilike / not ilike (string fields only). */
  substrings?: readonly string[];
  /** Raw patterns for =like / =ilike (string fields only). */
  patterns?: readonly string[];
  equalityOnly?: boolean;
}

const PROBES: Record<
  'string' | 'text' | 'integer' | 'float' | 'boolean' | 'datetime' | 'decimal',
  Record<string, Probe>
> = {
  string: {
    name: {
      scalars: ['apple', 'Apple', 'APPLE PIE', 'fig', 'fig ', 'banana', 'b', '', 'zzz'],
      lists: [[], [null], ['apple', 'Apple'], ['fig', null], ['nope']],
      substrings: ['pp', 'PP', 'apple', 'APPLE', 'e ', 'E ', '', ' ', '%', '_', '\\', 'a_a', 'n_l', 'fig ', 'zzz'],
      patterns: [
        'a%',
        'A%',
        '%e',
        '_pple',
        '%pp%',
        '%',
        '_',
        '',
        'fig',
        'fig_',
        'fig%',
        '%\\_%',
        '%a_a%',
        '_%_%_',
        'APPLE%',
        'apple pie',
      ],
    },
    code: {
      scalars: ['A-1', 'a-1', '', 'fig', 'e 5', 'e 5 ', 'D\\4', 'C%3', 'B_2'],
      lists: [[], [null], ['A-1', 'a-1'], ['', null], ['C%3', 'D\\4']],
      substrings: ['-', 'A', 'a', '_', '%', '\\', ' ', '', '1', 'E 5'],
      patterns: ['_-1', 'A%', 'a%', '%\\\\%', '%\\%%', '%', '', '_', 'e_5_', 'B\\_2', 'B_2'],
    },
  },
  text: {
    note: {
      scalars: ['fresh green', 'Fresh Red fruit', '', 'sour', 'GRAPE grape'],
      lists: [[], [null], ['', 'sour'], ['Elder', null]],
      substrings: ['fresh', 'FRESH', 'grape', 'Grape', '_', '%', '\\', '', 'e', ' '],
      patterns: ['%fresh%', 'fresh%', '%\\_%', '%\\%%', '', '%', '_%', 'grape%', 'GRAPE%'],
    },
  },
  integer: {
    qty: {
      scalars: [0, 5, 7, -3, -1, 2 ** 40, 1.5, -100, 2 ** 41],
      lists: [[], [null], [0, 1, 99], [7, null], [2 ** 40, -3, 12]],
    },
  },
  float: {
    price: {
      scalars: [0, 0.1, 1.5, -2.25, 1e-9, 3, 2.5, 1e300],
      lists: [[], [null], [0.1, 3], [0, null], [1e-9]],
    },
  },
  boolean: {
    active: { scalars: [true, false], lists: [[], [null], [true], [false, null], [true, false]], equalityOnly: true },
  },
  datetime: {
    seen: {
      scalars: [
        at('2024-01-01T00:00:00.000Z'),
        '2024-01-01T00:00:00.001Z',
        '2024-01-01',
        '2024-01-01T01:00:00+01:00',
        at('1999-06-15T12:00:00.000Z'),
        '2023-12-31 23:59:59.999Z',
        at('1000-01-01T00:00:00.000Z'),
        '9999-12-31T23:59:59.999Z',
      ],
      lists: [
        [],
        [null],
        ['2024-01-01T00:00:00.001Z', null],
        [at('2024-01-01T00:00:00.000Z'), '2100-02-28T08:30:00.250Z'],
      ],
    },
  },
  decimal: {
    amount: {
      scalars: ['10.50', 10.5, '10.5', '0', 0, '-10.5', '99999999.99', '0.01', '-0.01', '0.1', '0.005', 5],
      lists: [[], [null], ['0.01', '-0.01'], [10.5, null], ['1', '0.10', 99999999.99]],
    },
  },
};

function leavesOf(field: string, p: Probe): DomainLeaf[] {
  const out: DomainLeaf[] = [];
  const ops = p.equalityOnly ? (['=', '!='] as const) : COMPARISONS;
  for (const v of p.scalars) for (const op of ops) out.push([field, op, v]);
  out.push([field, '=', null], [field, '!=', null]);
  for (const list of p.lists) out.push([field, 'in', list], [field, 'not in', list]);
  for (const s of p.substrings ?? []) for (const op of LIKES) out.push([field, op, s]);
  for (const s of p.patterns ?? []) out.push([field, '=like', s], [field, '=ilike', s]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Small deterministic PRNG for the random-domain comparison
// ---------------------------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomDomain(rand: () => number, leaves: readonly DomainLeaf[], depth: number): Domain {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const node = (d: number): Domain => {
    const r = rand();
    if (d <= 0 || r < 0.35) return [pick(leaves)];
    if (r < 0.55) return ['!', ...node(d - 1)];
    return [pick(['&', '|'] as const), ...node(d - 1), ...node(d - 1)];
  };
  // Several top-level terms are joined by the implicit AND.
  const out: Domain[number][] = [];
  for (let terms = 1 + Math.floor(rand() * 3); terms > 0; terms--) out.push(...node(depth));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describeEachDatabase('domains', (db) => {
  let env: Environment;
  beforeEach(async () => {
    env = await db.open();
  });
  afterEach(async () => {
    await env.close();
  });

  const items = () => env.model(Item);

  /** Seeds rows through a fork (the env under test starts cold) and returns them with ids. */
  async function seedItems(rows: readonly ItemRow[] = FIXTURE): Promise<Rec[]> {
    const created = await env
      .fork()
      .model(Item)
      .create(rows.map((r) => ({ ...r })));
    expect(created.length).toBe(rows.length);
    return rows.map((r, i) => ({ ...r, id: created.ids[i] }));
  }

  /** Seeds rows that only have a name. */
  async function seedNames(names: readonly string[]): Promise<Rec[]> {
    return seedItems(names.map((name) => row({ name })));
  }

  /** Names of the records `domain` finds, in id order (the model's order). */
  async function namesOf(recs: readonly Rec[], domain: Domain): Promise<string[]> {
    const byId = new Map(recs.map((r) => [r.id, r.name]));
    return (await items().search(domain)).ids.map((id) => byId.get(id) ?? `<unknown id ${id}>`);
  }

  /** What the reference says `domain` finds, as names in id order. */
  const expectedNames = (recs: readonly Rec[], domain: Domain) =>
    recs.filter((r) => evalDomain(domain, r)).map((r) => r.name);

  /** Asserts a table of [domain, names] against the database; all mismatches are reported at once. */
  async function expectNames(
    recs: readonly Rec[],
    cases: ReadonlyArray<readonly [Domain, readonly string[]]>,
  ): Promise<void> {
    const got: unknown[] = [];
    for (const [domain] of cases) got.push({ domain, names: await namesOf(recs, domain) });
    expect(got).toEqual(cases.map(([domain, names]) => ({ domain, names })));
    // The hand-written lists must also agree with the reference semantics.
    expect(cases.map(([domain]) => ({ domain, names: expectedNames(recs, domain) }))).toEqual(
      cases.map(([domain, names]) => ({ domain, names })),
    );
  }

  /**
   * For each leaf: search(leaf), search(['!', leaf]) and searchCount(leaf) against the
   * reference; the negation must be the exact complement, NULL rows included.
   */
  async function expectLeavesMatchReference(recs: readonly Rec[], leaves: readonly DomainLeaf[]): Promise<void> {
    const got: unknown[] = [];
    const want: unknown[] = [];
    const all = recs.map((r) => r.id);
    for (const leaf of leaves) {
      const pos = (await items().search([leaf])).ids;
      const neg = (await items().search(['!', leaf])).ids;
      const count = await items().searchCount([leaf]);
      const expected = recs.filter((r) => evalDomain([leaf], r)).map((r) => r.id);
      got.push({ leaf, pos, neg, count, complete: [...pos, ...neg].sort((a, b) => a - b) });
      want.push({
        leaf,
        pos: expected,
        neg: all.filter((id) => !expected.includes(id)),
        count: expected.length,
        complete: all,
      });
    }
    expect(got).toEqual(want);
  }

  describe('operators on each field type, against concrete rows', () => {
    it('strings: = and comparisons are case-sensitive and trailing spaces count; like/ilike/=like/=ilike', async () => {
      const recs = await seedItems();
      await expectNames(recs, [
        [[['name', '=', 'apple']], ['apple']],
        [[['name', '=', 'Apple']], ['Apple']],
        [[['name', '=', 'APPLE']], []],
        [[['name', '=', 'fig']], ['fig']],
        [[['name', '=', 'fig ']], ['fig ']],
        [[['name', '!=', 'apple']], except('apple')],
        [[['name', '<', 'b']], ['apple', 'Apple', 'APPLE pie']],
        [[['name', '<=', 'Apple']], ['Apple', 'APPLE pie']],
        [[['name', '>', 'elder berry']], ['fig ', 'grape', 'fig', 'lemon_lime']],
        [[['name', '>=', 'fig']], ['fig ', 'grape', 'fig', 'lemon_lime']],
        [[['name', '>', 'fig']], ['fig ', 'grape', 'lemon_lime']],
        [[['name', 'in', ['apple', 'fig', 'nope']]], ['apple', 'fig']],
        [[['name', 'not in', ['apple', 'fig']]], except('apple', 'fig')],
        // like: substring, case-sensitive; ilike: case-insensitive
        [[['name', 'like', 'pp']], ['apple', 'Apple']],
        [[['name', 'like', 'PP']], ['APPLE pie']],
        [[['name', 'ilike', 'pp']], ['apple', 'Apple', 'APPLE pie']],
        [[['name', 'ilike', 'APPLE P']], ['APPLE pie']],
        [[['name', 'not like', 'pp']], except('apple', 'Apple')],
        [[['name', 'not ilike', 'PP']], except('apple', 'Apple', 'APPLE pie')],
        [[['name', 'like', 'e ']], []],
        [[['name', 'ilike', 'e ']], ['APPLE pie']],
        [[['name', 'like', 'fig ']], ['fig ']],
        [[['name', 'like', '']], ALL_NAMES],
        // like's own % and _ are literal
        [[['name', 'like', '_']], ['lemon_lime']],
        [[['name', 'like', 'a_a']], []],
        [[['name', 'like', '%']], []],
        // =like / =ilike: a raw pattern, anchored, % and _ are wildcards
        [[['name', '=like', 'a%']], ['apple']],
        [[['name', '=ilike', 'a%']], ['apple', 'Apple', 'APPLE pie']],
        [[['name', '=like', '_pple']], ['apple', 'Apple']],
        [[['name', '=like', 'fig_']], ['fig ']],
        [[['name', '=like', 'fig']], ['fig']],
        [[['name', '=like', '%a_a%']], ['banana']],
        [[['name', '=like', '%\\_%']], ['lemon_lime']],
        [[['name', '=ilike', 'apple pie']], ['APPLE pie']],
        [[['name', '=like', 'apple pie']], []],
        [[['name', '=like', '%']], ALL_NAMES],
        // text fields work the same
        [[['note', 'like', 'fresh']], ['Apple']],
        [[['note', 'ilike', 'FRESH']], ['apple', 'Apple']],
        [[['note', 'like', '%']], ['banana']],
        [[['note', 'like', '_']], ['cherry']],
        [[['note', 'like', '\\']], ['date']],
        [[['note', '=', '']], ['fig ']],
        [[['note', '=ilike', 'grape%']], ['grape']],
        [[['note', '=like', 'grape%']], []],
        // a nullable string field: '' is not NULL
        [[['code', '=', '']], ['grape']],
        [[['code', '=', 'e 5']], []],
        [[['code', '=', 'e 5 ']], ['elder berry']],
        [[['code', 'like', '-']], ['apple', 'Apple']],
        [[['code', '=like', '_-1']], ['apple', 'Apple']],
        [[['code', '=like', 'B_2']], ['banana']],
        [[['code', '=like', 'C\\%3']], ['cherry']],
        [[['code', '=like', 'D\\\\4']], ['date']],
      ]);
    });

    it('integers and floats', async () => {
      const recs = await seedItems();
      await expectNames(recs, [
        [[['qty', '=', 7]], ['elder berry', 'fig ']],
        [[['qty', '!=', 7]], except('elder berry', 'fig ')],
        [[['qty', '>', 5]], ['cherry', 'date', 'elder berry', 'fig ']],
        [[['qty', '>=', 5]], ['apple', 'cherry', 'date', 'elder berry', 'fig ']],
        [[['qty', '<', 0]], ['APPLE pie', 'lemon_lime']],
        [[['qty', '<=', 0]], ['Apple', 'APPLE pie', 'lemon_lime']],
        [[['qty', '>', 1.5]], ['apple', 'cherry', 'date', 'elder berry', 'fig ']],
        [[['qty', '=', 2 ** 40]], ['date']],
        [[['qty', '>', 2 ** 40]], []],
        [[['qty', 'in', [0, 1, 99]]], ['Apple', 'fig']],
        [[['qty', 'not in', [0, 1]]], except('Apple', 'fig')],
        [[['price', '=', 0.1]], ['Apple', 'grape']],
        [[['price', '<', 0.1]], ['APPLE pie', 'date', 'fig ']],
        [[['price', '>=', 2.5]], ['cherry', 'elder berry', 'lemon_lime']],
        [[['price', '<=', 0]], ['APPLE pie', 'fig ']],
        [[['price', '>', 0]], ['apple', 'Apple', 'cherry', 'date', 'elder berry', 'grape', 'lemon_lime']],
        [[['price', '=', 1e-9]], ['date']],
        [[['price', 'in', [3, -2.25]]], ['APPLE pie', 'cherry']],
        [[['price', '!=', 0.1]], except('Apple', 'grape')],
      ]);
    });

    it('booleans (=, !=, in, not in)', async () => {
      const recs = await seedItems();
      await expectNames(recs, [
        [[['active', '=', true]], ['apple', 'banana', 'elder berry', 'fig']],
        [[['active', '=', false]], ['Apple', 'cherry', 'fig ', 'lemon_lime']],
        [[['active', '=', null]], ['APPLE pie', 'date', 'grape']],
        [[['active', '!=', true]], ['Apple', 'APPLE pie', 'cherry', 'date', 'fig ', 'grape', 'lemon_lime']],
        [[['active', '!=', false]], ['apple', 'APPLE pie', 'banana', 'date', 'elder berry', 'grape', 'fig']],
        [[['active', 'in', [true, null]]], ['apple', 'APPLE pie', 'banana', 'date', 'elder berry', 'grape', 'fig']],
        [
          [['active', 'in', [true, false]]],
          ['apple', 'Apple', 'banana', 'cherry', 'elder berry', 'fig ', 'fig', 'lemon_lime'],
        ],
        [[['active', 'not in', [false]]], ['apple', 'APPLE pie', 'banana', 'date', 'elder berry', 'grape', 'fig']],
        [[['active', 'not in', [true, false]]], ['APPLE pie', 'date', 'grape']],
      ]);
    });

    it('datetimes: Date or ISO 8601 values, millisecond precision, any offset', async () => {
      const recs = await seedItems();
      await expectNames(recs, [
        [[['seen', '=', at('2024-01-01T00:00:00.000Z')]], ['apple', 'fig ']],
        [[['seen', '=', '2024-01-01T01:00:00+01:00']], ['apple', 'fig ']],
        [[['seen', '=', '2024-01-01']], ['apple', 'fig ']],
        [[['seen', '=', '2024-01-01T00:00:00.001Z']], ['Apple']],
        [[['seen', '>', '2024-01-01']], ['Apple', 'date', 'elder berry']],
        [[['seen', '>=', '2024-01-01']], ['apple', 'Apple', 'date', 'elder berry', 'fig ']],
        [[['seen', '<', '2024-01-01']], ['banana', 'cherry', 'lemon_lime']],
        [[['seen', '<=', at('2024-01-01T00:00:00.000Z')]], ['apple', 'banana', 'cherry', 'fig ', 'lemon_lime']],
        [[['seen', '!=', at('2024-01-01T00:00:00.000Z')]], except('apple', 'fig ')],
        [[['seen', '<', at('1000-01-01T00:00:00.001Z')]], ['lemon_lime']],
        [[['seen', 'in', ['2024-01-01T00:00:00.001Z', null]]], ['Apple', 'APPLE pie', 'grape', 'fig']],
        [[['seen', 'not in', [at('2100-02-28T08:30:00.250Z')]]], except('date')],
      ]);
    });

    it('decimals: compared as numbers, given as strings or numbers', async () => {
      const recs = await seedItems();
      await expectNames(recs, [
        [[['amount', '=', '10.5']], ['apple', 'elder berry']],
        [[['amount', '=', 10.5]], ['apple', 'elder berry']],
        [[['amount', '=', '10.50']], ['apple', 'elder berry']],
        [[['amount', '=', 0]], ['Apple']],
        [[['amount', '>', 0]], ['apple', 'cherry', 'date', 'elder berry', 'fig', 'lemon_lime']],
        [[['amount', '<', 0]], ['APPLE pie', 'fig ']],
        [[['amount', '>=', '0.10']], ['apple', 'cherry', 'elder berry', 'fig', 'lemon_lime']],
        [[['amount', '<=', '-10.5']], ['APPLE pie']],
        [[['amount', '>', '0.005']], ['apple', 'cherry', 'date', 'elder berry', 'fig', 'lemon_lime']],
        [[['amount', '=', '99999999.99']], ['cherry']],
        [[['amount', 'in', ['0.01', '-0.01']]], ['date', 'fig ']],
        [[['amount', '!=', '10.50']], except('apple', 'elder berry')],
        [[['amount', 'not in', [1, '0.1']]], except('fig', 'lemon_lime')],
      ]);
    });

    it("'id' is usable as a field", async () => {
      const recs = await seedItems();
      const id = (name: string) => recs.find((r) => r.name === name)!.id;
      await expectNames(recs, [
        [[['id', 'in', [id('apple'), id('cherry')]]], ['apple', 'cherry']],
        [[['id', 'not in', [id('apple'), id('cherry')]]], except('apple', 'cherry')],
        [[['id', '=', id('date')]], ['date']],
        [[['id', '!=', id('date')]], except('date')],
        [[['id', '>', id('elder berry')]], ['fig ', 'grape', 'fig', 'lemon_lime']],
        [[['id', '<=', id('Apple')]], ['apple', 'Apple']],
        [[['id', '=', null]], []],
        [[['id', '!=', null]], ALL_NAMES],
        [[['id', 'in', []]], []],
        [[['id', 'in', [id('grape'), 999_999_999]]], ['grape']],
      ]);
    });
  });

  describe('every operator against the JS reference, with its exact complement', () => {
    for (const [type, fields] of Object.entries(PROBES)) {
      it(`${type} fields: ${Object.keys(fields).join(', ')}`, async () => {
        const recs = await seedItems();
        const leaves = Object.entries(fields).flatMap(([field, probe]) => leavesOf(field, probe));
        // every operator that applies to the type is exercised
        const ops = new Set(leaves.map((l) => l[1]));
        if (type === 'string' || type === 'text') expect(ops.size).toBe(14);
        else if (type === 'boolean') expect([...ops].sort()).toEqual(['!=', '=', 'in', 'not in']);
        else expect(ops.size).toBe(8);
        await expectLeavesMatchReference(recs, leaves);
      });
    }

    it("'id' leaves", async () => {
      const recs = await seedItems();
      const ids = recs.map((r) => r.id);
      await expectLeavesMatchReference(
        recs,
        leavesOf('id', {
          scalars: [ids[0], ids[4], ids[10], 0, 999_999_999],
          lists: [[], [null], [ids[1], ids[3]], [ids[2], null]],
        }),
      );
    });
  });

  describe('logic: &, |, ! and the implicit AND', () => {
    it('combines terms in prefix notation, nested, with the implicit AND at the top level', async () => {
      const recs = await seedItems();
      await expectNames(recs, [
        [[], ALL_NAMES],
        [
          [
            ['qty', '>', 0],
            ['active', '=', true],
          ],
          ['apple', 'elder berry', 'fig'],
        ],
        [
          ['&', ['qty', '>', 0], ['active', '=', true]],
          ['apple', 'elder berry', 'fig'],
        ],
        [
          ['|', ['qty', '>', 10], ['price', '<', 0]],
          ['APPLE pie', 'cherry', 'date'],
        ],
        [
          ['!', ['active', '=', true]],
          ['Apple', 'APPLE pie', 'cherry', 'date', 'fig ', 'grape', 'lemon_lime'],
        ],
        [['!', '|', ['qty', '>', 10], ['price', '<', 0]], except('APPLE pie', 'cherry', 'date')],
        [
          ['!', '!', ['qty', '=', 7]],
          ['elder berry', 'fig '],
        ],
        [['!', '&', ['qty', '>', 0], ['price', '>', 0]], except('apple', 'cherry', 'date', 'elder berry')],
        [
          ['|', '&', ['active', '=', true], ['qty', '>', 4], '&', ['active', '=', false], ['price', '<', 1]],
          ['apple', 'Apple', 'elder berry', 'fig '],
        ],
        // '|' takes the next two terms; the third is ANDed at the top level
        [
          ['|', ['name', '=like', 'a%'], ['name', '=like', 'b%'], ['active', '!=', null]],
          ['apple', 'banana'],
        ],
        [
          [['active', '!=', null], '|', ['name', '=like', 'a%'], ['name', '=like', 'b%']],
          ['apple', 'banana'],
        ],
        [
          ['&', '&', ['qty', '!=', null], ['price', '!=', null], ['amount', '>', 0]],
          ['apple', 'cherry', 'date', 'elder berry', 'lemon_lime'],
        ],
        [
          ['|', '|', ['name', '=', 'fig'], ['name', '=', 'grape'], ['name', '=', 'date']],
          ['date', 'grape', 'fig'],
        ],
        [
          ['!', '&', '!', ['qty', '=', null], '|', ['active', '=', true], '!', ['price', '>=', 1]],
          // NOT(qty not null AND (active OR price < 1 or null)) -> qty null, or (not active and price >= 1)
          ['banana', 'cherry', 'grape', 'lemon_lime'],
        ],
        [['|', ['id', '=', null], '!', ['name', 'like', '']], []],
      ]);
    });

    it('random nested domains agree with the reference semantics', async () => {
      const recs = await seedItems();
      const pool: DomainLeaf[] = [
        ['qty', '>', 4],
        ['qty', '=', null],
        ['qty', 'not in', [7, null]],
        ['price', '<=', 0.1],
        ['price', '!=', 0.1],
        ['active', '=', true],
        ['active', '!=', false],
        ['active', 'in', [null]],
        ['name', 'ilike', 'e'],
        ['name', 'not like', 'a'],
        ['code', '=like', '%-%'],
        ['code', 'not ilike', 'a'],
        ['note', '!=', null],
        ['seen', '<', '2024-01-01'],
        ['amount', '>=', 0],
        ['amount', 'not in', ['10.50']],
        ['id', 'in', []],
        ['id', 'not in', []],
      ];
      const rand = mulberry32(20240229);
      const got: unknown[] = [];
      const want: unknown[] = [];
      for (let i = 0; i < 120; i++) {
        const domain = randomDomain(rand, pool, 3);
        got.push({ domain, names: await namesOf(recs, domain), count: await items().searchCount(domain) });
        const names = expectedNames(recs, domain);
        want.push({ domain, names, count: names.length });
      }
      expect(got).toEqual(want);
    });
  });

  describe('null semantics (Odoo: two-valued, negations match NULL)', () => {
    it('= null is IS NULL, != null IS NOT NULL, in [] matches nothing, not in [] everything', async () => {
      const recs = await seedItems();
      await expectNames(recs, [
        [[['code', '=', null]], ['APPLE pie', 'fig']],
        [[['code', '!=', null]], except('APPLE pie', 'fig')],
        [[['qty', '=', null]], ['banana', 'grape']],
        [[['qty', '!=', null]], except('banana', 'grape')],
        [[['meta', '=', null]], except('apple')],
        [[['meta', '!=', null]], ['apple']],
        [[['code', 'in', []]], []],
        [[['code', 'not in', []]], ALL_NAMES],
        [[['qty', 'in', []]], []],
        [[['qty', 'not in', []]], ALL_NAMES],
        [['!', ['qty', 'in', []]], ALL_NAMES],
        [['!', ['code', '=', null]], except('APPLE pie', 'fig')],
        [
          ['!', ['code', '!=', null]],
          ['APPLE pie', 'fig'],
        ],
      ]);
    });

    it('in with null in its list also matches NULL rows; not in with null excludes them', async () => {
      const recs = await seedItems();
      await expectNames(recs, [
        [[['code', 'in', ['A-1', null]]], ['apple', 'APPLE pie', 'fig']],
        [[['code', 'in', [null]]], ['APPLE pie', 'fig']],
        [[['code', 'not in', ['A-1', null]]], except('apple', 'APPLE pie', 'fig')],
        [[['code', 'not in', [null]]], except('APPLE pie', 'fig')],
        [[['qty', 'in', [7, null]]], ['banana', 'elder berry', 'fig ', 'grape']],
        [[['qty', 'not in', [7, null]]], except('banana', 'elder berry', 'fig ', 'grape')],
        [
          ['!', ['qty', 'not in', [7, null]]],
          ['banana', 'elder berry', 'fig ', 'grape'],
        ],
        [[['active', 'in', [null]]], ['APPLE pie', 'date', 'grape']],
      ]);
    });

    it('!=, not in, not like and not ilike match rows where the field is NULL; comparisons do not', async () => {
      const recs = await seedItems();
      await expectNames(recs, [
        [[['code', '!=', 'A-1']], except('apple')],
        [[['code', 'not in', ['A-1', 'a-1']]], except('apple', 'Apple')],
        [[['code', 'not like', '-']], except('apple', 'Apple')],
        [[['code', 'not ilike', 'A']], except('apple', 'Apple')],
        [[['note', 'not like', '']], ['APPLE pie', 'fig']],
        [[['note', 'like', '']], except('APPLE pie', 'fig')],
        [[['qty', '!=', 5]], except('apple')],
        [[['amount', '!=', 0]], except('Apple')],
        [[['seen', '!=', '2024-01-01']], except('apple', 'fig ')],
        [[['active', '!=', true]], ['Apple', 'APPLE pie', 'cherry', 'date', 'fig ', 'grape', 'lemon_lime']],
        // comparisons never match NULL ...
        [[['qty', '<', 5]], ['Apple', 'APPLE pie', 'fig', 'lemon_lime']],
        [[['qty', '>=', 5]], ['apple', 'cherry', 'date', 'elder berry', 'fig ']],
        // ... but their negation does, so '!' is an exact complement
        [
          ['!', ['qty', '<', 5]],
          ['apple', 'banana', 'cherry', 'date', 'elder berry', 'fig ', 'grape'],
        ],
        [['!', ['code', 'like', '-']], except('apple', 'Apple')],
        [['!', ['code', '=like', '%-%']], except('apple', 'Apple')],
        [['!', ['code', '=ilike', 'a%']], except('apple', 'Apple')],
      ]);
    });

    it("'!' is the exact complement of every operator, on a table full of NULLs", async () => {
      const recs = await seedItems([...FIXTURE, row({ name: 'all null' }), row({ name: 'all null 2' })]);
      const leaves: DomainLeaf[] = [];
      for (const [field, v] of [
        ['code', 'A-1'],
        ['qty', 5],
        ['price', 0.1],
        ['seen', '2024-01-01'],
        ['amount', '10.5'],
        ['note', ''],
      ] as const) {
        for (const op of COMPARISONS) leaves.push([field, op, v]);
        leaves.push([field, 'in', [v]], [field, 'not in', [v]], [field, 'in', [v, null]], [field, 'not in', [v, null]]);
        leaves.push([field, '=', null], [field, '!=', null], [field, 'in', []], [field, 'not in', []]);
      }
      for (const op of [...LIKES, '=like', '=ilike'] as const)
        leaves.push(['code', op, 'a'], ['note', op, ''], ['name', op, 'null']);
      leaves.push(
        ['active', '=', true],
        ['active', '!=', true],
        ['active', 'in', [false, null]],
        ['active', 'not in', [false, null]],
      );
      expect(new Set(leaves.map((l) => l[1])).size).toBe(14);
      await expectLeavesMatchReference(recs, leaves);
      // and the counts add up to the table size
      const total = await items().searchCount();
      expect(total).toBe(recs.length);
      for (const leaf of leaves) {
        const [yes, no] = [await items().searchCount([leaf]), await items().searchCount(['!', leaf])];
        expect({ leaf, sum: yes + no }).toEqual({ leaf, sum: total });
      }
    });
  });

  describe('like and hostile strings', () => {
    it("like/ilike treat the value's own % and _ literally; =like/=ilike treat them as wildcards", async () => {
      const recs = await seedNames([
        '100%',
        '100 percent',
        '1000',
        'a_b',
        'axb',
        'a%b',
        'ab',
        'A_B',
        'back\\slash',
        'backslash',
      ]);
      await expectNames(recs, [
        [[['name', 'like', '%']], ['100%', 'a%b']],
        [[['name', 'like', '0%']], ['100%']],
        [[['name', 'like', '_']], ['a_b', 'A_B']],
        [[['name', 'like', 'a_b']], ['a_b']],
        [[['name', 'ilike', 'a_b']], ['a_b', 'A_B']],
        [[['name', 'like', 'a%b']], ['a%b']],
        [[['name', 'like', '\\']], ['back\\slash']],
        [[['name', 'like', 'k\\s']], ['back\\slash']],
        [[['name', 'not like', '_']], ['100%', '100 percent', '1000', 'axb', 'a%b', 'ab', 'back\\slash', 'backslash']],
        [[['name', '=like', 'a_b']], ['a_b', 'axb', 'a%b']],
        [[['name', '=ilike', 'a_b']], ['a_b', 'axb', 'a%b', 'A_B']],
        [[['name', '=like', 'a%b']], ['a_b', 'axb', 'a%b', 'ab']],
        [[['name', '=like', '100%']], ['100%', '100 percent', '1000']],
        [[['name', '=like', '100\\%']], ['100%']],
        [[['name', '=like', 'a\\_b']], ['a_b']],
        [[['name', '=like', '____']], ['100%', '1000']],
        [[['name', '=like', 'back\\\\slash']], ['back\\slash']],
      ]);
    });

    it('like is case-sensitive and ilike case-insensitive; = is case-sensitive (ASCII)', async () => {
      const recs = await seedNames(['Case', 'case', 'CASE', 'cAsE x', 'other']);
      await expectNames(recs, [
        [[['name', '=', 'case']], ['case']],
        [[['name', '=', 'CASE']], ['CASE']],
        [[['name', 'in', ['Case', 'nope']]], ['Case']],
        [[['name', 'like', 'as']], ['Case', 'case']],
        [[['name', 'like', 'AS']], ['CASE']],
        [[['name', 'ilike', 'cAs']], ['Case', 'case', 'CASE', 'cAsE x']],
        [[['name', 'not ilike', 'CASE']], ['other']],
        [[['name', '=like', 'c%']], ['case', 'cAsE x']],
        [[['name', '=ilike', 'c%']], ['Case', 'case', 'CASE', 'cAsE x']],
        [[['name', '=ilike', 'case']], ['Case', 'case', 'CASE']],
      ]);
    });

    it('ilike is case-insensitive beyond ASCII on both databases', async () => {
      const zoe = 'Zo\u00eb'; // Zoë
      const ZOE = 'ZO\u00cb'; // ZOË
      const ecole = '\u00e9cole'; // école
      const ECOLE = '\u00c9COLE'; // ÉCOLE
      const recs = await seedNames([zoe, ZOE, 'zoe', ecole, ECOLE, 'ecole']);
      await expectNames(recs, [
        [[['name', '=', zoe]], [zoe]],
        [[['name', 'like', 'o\u00eb']], [zoe]],
        [[['name', 'ilike', 'o\u00eb']], [zoe, ZOE]],
        [[['name', 'ilike', ECOLE]], [ecole, ECOLE]],
        [[['name', '=ilike', '\u00e9%']], [ecole, ECOLE]],
        [[['name', 'not ilike', 'zo\u00cb']], ['zoe', ecole, ECOLE, 'ecole']],
      ]);
    });

    it('hostile strings are matched literally by =, in, like and ilike, and no table is harmed', async () => {
      // PostgreSQL stores no U+0000 (see "a NUL byte" below): its rows are the others.
      const names = [...HOSTILE, ...DECOYS].filter((s) => db.name !== 'postgres' || !hasNul(s));
      const recs = await seedNames(names);
      await env.fork().model(Bulk).create({ n: 1, label: 'still here' });
      const idOf = new Map(recs.map((r) => [r.name, r.id]));
      // every row round-trips unchanged
      const stored = await env
        .fork()
        .model(Item)
        .browse(recs.map((r) => r.id))
        .read(['name']);
      expect(stored.map((r) => r.name)).toEqual(names);

      const got: unknown[] = [];
      const want: unknown[] = [];
      for (const s of HOSTILE) {
        const domains: Domain[] = [[['name', '=', s]], [['name', 'in', [s, 'nope']]], [['name', '!=', s]]];
        if (!hasNul(s)) domains.push([['name', 'like', s]], [['name', 'ilike', s]], [['name', 'not like', s]]);
        for (const domain of domains) {
          got.push({ domain, names: await namesOf(recs, domain) });
          want.push({ domain, names: expectedNames(recs, domain) });
        }
      }
      expect(got).toEqual(want);
      // = finds exactly the row; like finds at least it (the reference above says which others)
      for (const s of HOSTILE) {
        const stored = idOf.get(s);
        expect({ s, ids: (await items().search([['name', '=', s]])).ids }).toEqual({ s, ids: stored ? [stored] : [] });
        if (hasNul(s)) continue;
        expect({ s, found: (await items().search([['name', 'like', s]])).ids.includes(idOf.get(s)!) }).toEqual({
          s,
          found: true,
        });
      }
      // a few spelled out
      await expectNames(recs, [
        [
          [['name', 'like', 'DROP TABLE dom_item;']],
          ["x'; DROP TABLE dom_item; --", "Robert'); DROP TABLE dom_item;--"],
        ],
        [[['name', 'like', '%']], ['%', '%%', '\\%', '50% off_sale']],
        [
          [['name', 'like', '_']],
          ["x'; DROP TABLE dom_item; --", "Robert'); DROP TABLE dom_item;--", '_', '\\\\_', '50% off_sale'],
        ],
        [[['name', 'like', '\\']], ['\\', '\\%', '\\\\_', "back\\slash\\'s"]],
        [[['name', '=', 'nul\u0000byte']], db.name === 'postgres' ? [] : ['nul\u0000byte']],
        [[['name', '=', 'nul']], ['nul']],
        [[['name', 'like', '\u{1F984}']], ['\u{1F984} emoji \u{1F389}', '\u{1F984}']],
        [[['name', '=like', '\u{1F984}_']], []],
        // A pattern's trailing escape is a literal character (PostgreSQL would refuse the pattern).
        [[['name', '=like', '\\']], ['\\']],
        [[['name', '=ilike', 'BACK\\slash\\']], []],
        [[['name', '=like', '_ emoji _']], ['\u{1F984} emoji \u{1F389}']],
        [[['name', 'like', "' OR 1=1 --"]], ["' OR 1=1 --"]],
      ]);
      // the tables are intact
      expect(await env.knex.schema.hasTable('dom_item')).toBe(true);
      expect(await env.knex.schema.hasTable('dom_bulk')).toBe(true);
      expect(await items().searchCount()).toBe(names.length);
      expect(await env.fork().model(Bulk).searchCount()).toBe(1);
    });

    it('a NUL byte inside a string is an ordinary character for =, like, ilike and =like', async () => {
      const withNul = ['nul\u0000byte', 'nul\u0000other', 'NUL\u0000BYTE'];
      if (db.name === 'postgres') {
        // PostgreSQL's text holds no U+0000: a write of one is refused before any SQL, and
        // a domain value holding one matches what no stored value can, exactly.
        for (const name of withNul) {
          const queries = await countQueries(env, async () => {
            await expect(items().create(row({ name }))).rejects.toThrow(
              /name: PostgreSQL cannot store the character U\+0000 \(NUL\)/,
            );
          });
          expect(queries).toBe(0);
        }
        const recs = await seedNames(['nul', 'nulXbyte', 'byte', 'nul\u0001', 'num', 'nuk', 'nt']);
        const cases: Domain[] = [
          [['name', '=', 'nul\u0000byte']],
          [['name', '!=', 'nul\u0000byte']],
          [['name', 'in', ['nul\u0000byte', 'byte']]],
          [['name', 'not in', ['nul\u0000byte', 'byte']]],
          [['name', 'like', '\u0000']],
          [['name', 'not like', 'nul\u0000']],
          [['name', 'ilike', 'NUL\u0000']],
          [['name', '=like', 'nul_byte']],
          [['name', '=like', 'nul\u0000%']],
          [['name', '<', 'nul\u0000b']],
          [['name', '<=', 'nul\u0000b']],
          [['name', '>', 'nul\u0000b']],
          [['name', '>=', 'nul\u0000b']],
          ['!', ['name', '>', 'nul\u0000b']],
        ];
        const got = await Promise.all(cases.map(async (domain) => ({ domain, names: await namesOf(recs, domain) })));
        expect(got).toEqual(cases.map((domain) => ({ domain, names: expectedNames(recs, domain) })));
        expect(await namesOf(recs, [['name', '>', 'nul\u0000b']])).toEqual(['nulXbyte', 'nul\u0001', 'num']);
        return;
      }
      const recs = await seedNames(['nul\u0000byte', 'nul', 'nul\u0000other', 'nulXbyte', 'byte', 'NUL\u0000BYTE']);
      await expectNames(recs, [
        [[['name', '=', 'nul\u0000byte']], ['nul\u0000byte']],
        [[['name', '=', 'nul']], ['nul']],
        [[['name', 'like', 'nul\u0000byte']], ['nul\u0000byte']],
        [[['name', 'like', '\u0000']], ['nul\u0000byte', 'nul\u0000other', 'NUL\u0000BYTE']],
        [[['name', 'like', 'byte']], ['nul\u0000byte', 'nulXbyte', 'byte']],
        [[['name', 'ilike', 'nul\u0000b']], ['nul\u0000byte', 'NUL\u0000BYTE']],
        [[['name', 'not like', 'nul\u0000']], ['nul', 'nulXbyte', 'byte', 'NUL\u0000BYTE']],
        [[['name', '=like', 'nul_byte']], ['nul\u0000byte', 'nulXbyte']],
        [[['name', '=like', 'nul']], ['nul']],
      ]);
    });
  });

  describe('large in lists', () => {
    it('in / not in with 2,500 values, in one statement', async () => {
      const created = await env
        .fork()
        .model(Bulk)
        .create(Array.from({ length: 2600 }, (_, i) => ({ n: i % 10 === 9 ? null : i, label: `L${i}` })));
      const ids = created.ids;
      const first = ids.slice(0, 2500);
      const bulk = () => env.model(Bulk);
      const search = async (domain: Domain) => {
        let found: readonly number[] = [];
        const queries = await countQueries(env, async () => {
          found = (await bulk().search(domain)).ids;
        });
        expect(queries).toBe(1);
        return found;
      };
      expect(await search([['id', 'in', first]])).toEqual(first);
      expect(await search([['id', 'in', [...first].reverse()]])).toEqual(first);
      expect(await search([['id', 'not in', first]])).toEqual(ids.slice(2500));
      expect(await search(['!', ['id', 'in', first]])).toEqual(ids.slice(2500));
      expect(await search([['id', 'in', [...first, 900_000_001, 900_000_002]]])).toEqual(first);
      expect(await bulk().searchCount([['id', 'in', first]])).toBe(2500);

      const values = Array.from({ length: 2500 }, (_, i) => i);
      const n = (i: number) => (i % 10 === 9 ? null : i);
      const where = (pred: (v: number | null) => boolean) => ids.filter((_, i) => pred(n(i)));
      expect(await search([['n', 'in', values]])).toEqual(where((v) => v !== null && v < 2500));
      expect(await search([['n', 'in', [...values, null]]])).toEqual(where((v) => v === null || v < 2500));
      expect(await search([['n', 'not in', values]])).toEqual(where((v) => v === null || v >= 2500));
      expect(await search([['n', 'not in', [...values, null]]])).toEqual(where((v) => v !== null && v >= 2500));
      const labels = Array.from({ length: 2500 }, (_, i) => `L${i * 2}`);
      expect(await search([['label', 'in', labels]])).toEqual(ids.filter((_, i) => i % 2 === 0 && i < 5000));
      expect(await search(['|', ['label', 'in', labels], ['id', 'in', first]])).toEqual(
        ids.filter((_, i) => i % 2 === 0 || i < 2500),
      );
    });

    it('in / not in with 40,000 values (more than SQLite binds in one statement)', async () => {
      const created = await env
        .fork()
        .model(Bulk)
        .create(Array.from({ length: 300 }, (_, i) => ({ n: i, label: `L${i}` })));
      const ids = created.ids;
      const missing = Array.from({ length: 40_000 }, (_, i) => 1_000_000 + i);
      // A failure is rethrown without its cause: the driver's error quotes all 40,000 values.
      const quiet = <T>(p: Promise<T>) => p.catch((e: Error) => Promise.reject(new Error(`${e.name}: ${e.message}`)));
      const bulk = () => env.model(Bulk);
      expect((await quiet(bulk().search([['id', 'in', [...missing, ...ids.slice(0, 100)]]]))).ids).toEqual(
        ids.slice(0, 100),
      );
      expect((await quiet(bulk().search([['id', 'not in', [...ids.slice(100), ...missing]]]))).ids).toEqual(
        ids.slice(0, 100),
      );
      expect(await quiet(bulk().searchCount([['n', 'in', Array.from({ length: 40_000 }, (_, i) => i - 20_000)]]))).toBe(
        300,
      );
    });
  });

  describe('errors', () => {
    const BAD: ReadonlyArray<readonly [label: string, domain: unknown, message: RegExp]> = [
      ['not an array (string)', 'name', /domain must be an array.*"name"/],
      ['not an array (object)', { name: 'x' }, /domain must be an array/],
      ['not an array (null)', null, /domain must be an array.*null/],
      ['a leaf of length 2', [['name', '=']], /domain term 0 \(\["name","="\]\).*expected/],
      ['a leaf of length 4', [['name', '=', 'a', 'b']], /domain term 0 \(\["name","=","a","b"\]\)/],
      ['an empty leaf', [[]], /domain term 0 \(\[\]\)/],
      ['a number as a term', [42], /domain term 0 \(42\)/],
      ['null as a term', [null], /domain term 0 \(null\)/],
      ['an unknown word as a term', [['name', '=', 'a'], 'and'], /domain term 1 \("and"\)/],
      ['a dangling & (alone)', ['&'], /domain ends early.*lacks an operand/],
      ['a dangling ! (alone)', ['!'], /domain ends early.*lacks an operand/],
      ['a dangling & (one operand)', ['&', ['name', '=', 'a']], /domain ends early.*lacks an operand/],
      [
        'a dangling | after a leaf',
        [['name', '=', 'a'], '|', ['name', '=', 'b']],
        /domain ends early.*lacks an operand/,
      ],
      ['a dangling ! inside &', ['&', ['name', '=', 'a'], '!'], /domain ends early.*lacks an operand/],
      ['a non-string field name', [[42, '=', 1]], /domain term 0 \(\[42,"=",1\]\).*field name must be a string/],
      ['a null field name', [[null, '=', 1]], /field name must be a string/],
      ['an unknown field', [['nope', '=', 1]], /unknown field "nope" on model "dom_item"/],
      [
        'an unknown field in a nested term',
        ['|', ['name', '=', 'a'], ['nope', '=', 1]],
        /domain term 2 .*unknown field "nope"/,
      ],
      ['__proto__ as a field', [['__proto__', '=', 1]], /unknown field "__proto__"/],
      ['constructor as a field', [['constructor', '=', 1]], /unknown field "constructor"/],
      ['toString as a field', [['toString', '=', 1]], /unknown field "toString"/],
      [
        'a dotted path on a scalar field',
        [['name.length', '=', 1]],
        /"name" on model "dom_item" is not a relation, cannot follow "name\.length"/,
      ],
      ['an unknown operator', [['name', '~', 'a']], /unknown operator "~"/],
      ['an operator in the wrong case', [['name', 'LIKE', 'a']], /unknown operator "LIKE"/],
      ['an operator with spaces', [['name', ' = ', 'a']], /unknown operator " = "/],
      ['a non-string operator', [['name', 1, 'a']], /unknown operator 1/],
      ['in with a number', [['qty', 'in', 5]], /\["qty","in",5\].*needs an array/],
      ['not in with a string', [['qty', 'not in', '5']], /\["qty","not in","5"\].*needs an array/],
      ['in with a wrong-typed item', [['qty', 'in', [1, '2']]], /\["qty","in",\[1,"2"\]\].*safe integer/],
      ['like on an integer field', [['qty', 'like', '5']], /\["qty","like","5"\].*string fields only/],
      ['not ilike on a float field', [['price', 'not ilike', '1']], /\["price","not ilike","1"\].*string fields only/],
      ['=like on id', [['id', '=like', '1%']], /\["id","=like","1%"\].*string fields only/],
      ['like with a number', [['name', 'like', 5]], /\["name","like",5\].*needs a string/],
      ['like with null', [['name', 'like', null]], /\["name","like",null\].*needs a string/],
      ['< with null', [['qty', '<', null]], /\["qty","<",null\].*cannot compare with null/],
      ['>= with null', [['seen', '>=', null]], /\["seen",">=",null\].*cannot compare with null/],
      ['a string for an integer', [['qty', '>', 'abc']], /\["qty",">","abc"\].*expected a safe integer/],
      ['a numeric string for an integer', [['qty', '=', '5']], /\["qty","=","5"\].*expected a safe integer/],
      ['a string for id', [['id', '=', '1']], /\["id","=","1"\].*safe integer/],
      ['NaN for a float', [['price', '>', NaN]], /\["price",">",null\].*finite number/],
      ['Infinity for a float', [['price', '=', Infinity]], /finite number/],
      ['a number for a string', [['name', '=', 5]], /\["name","=",5\].*expected a string/],
      ['undefined as a value', [['name', '=', undefined]], /undefined/],
      ['a string for a boolean', [['active', '=', 'true']], /\["active","=","true"\].*expected a boolean/],
      ['1 for a boolean', [['active', '!=', 1]], /\["active","!=",1\].*expected a boolean/],
      ['< on a boolean', [['active', '<', true]], /\["active","<",true\].*booleans support/],
      ['a bad date', [['seen', '>', 'yesterday']], /\["seen",">","yesterday"\].*Date or an ISO 8601/],
      ['an impossible date', [['seen', '=', '2024-13-45']], /no such day/],
      ['a bad decimal', [['amount', '=', '1.2.3']], /\["amount","=","1.2.3"\].*decimal/],
      [
        'a json value',
        [['meta', '=', { a: 1 }]],
        /\["meta","=",\{"a":1\}\].*json fields can only be compared with null/,
      ],
    ];

    it('malformed domains, unknown fields/operators and wrong values are DomainErrors naming the term, with no SQL', async () => {
      await seedItems();
      const got: unknown[] = [];
      const queries = await countQueries(env, async () => {
        for (const [label, domain] of BAD) {
          const viaSearch = await items()
            .search(domain as Domain)
            .then(
              () => null,
              (e: unknown) => e,
            );
          const viaCount = await items()
            .searchCount(domain as Domain)
            .then(
              () => null,
              (e: unknown) => e,
            );
          got.push({
            label,
            search: viaSearch instanceof DomainError ? viaSearch.message : `not a DomainError: ${String(viaSearch)}`,
            searchCount: viaCount instanceof DomainError ? viaCount.message : `not a DomainError: ${String(viaCount)}`,
          });
        }
      });
      expect(got).toEqual(
        BAD.map(([label, , message]) => ({
          label,
          search: expect.stringMatching(message),
          searchCount: expect.stringMatching(message),
        })),
      );
      expect(queries).toBe(0);
      // the env is still usable
      expect(await items().searchCount()).toBe(FIXTURE.length);
    });

    it('a dangling operator is reported at its own position', async () => {
      const cases: ReadonlyArray<readonly [unknown[], number]> = [
        [['&'], 0],
        [['!'], 0],
        [['&', ['name', '=', 'a']], 0],
        [['|', '&', ['name', '=', 'a'], ['name', '=', 'b']], 0],
        [[['name', '=', 'a'], '|', ['name', '=', 'b']], 1],
        [['&', ['name', '=', 'a'], '!'], 2],
      ];
      const got: unknown[] = [];
      for (const [domain] of cases) {
        const err = await items()
          .search(domain as unknown as Domain)
          .then(
            () => null,
            (e: unknown) => e,
          );
        got.push({ domain, message: err instanceof DomainError ? err.message : String(err) });
      }
      expect(got).toEqual(
        cases.map(([domain, position]) => ({ domain, message: expect.stringContaining(`position ${position} `) })),
      );
    });

    it('the static API reports the same DomainError without SQL', async () => {
      Environment.setDefault(env);
      const queries = await countQueries(env, async () => {
        await expect(Item.search([['nope', '=', 1]])).rejects.toThrow(DomainError);
        await expect(Item.searchCount(['!'] as unknown as Domain)).rejects.toThrow(DomainError);
      });
      expect(queries).toBe(0);
    });
  });

  describe('search options', () => {
    /** The reference order: NULLs sort first ascending (and last descending) on both databases; ties by id. */
    function sortRecs(recs: readonly Rec[], order: string): Rec[] {
      const terms = order.split(',').map((t) => t.trim().split(/\s+/) as [keyof Rec, string?]);
      return [...recs].sort((a, b) => {
        for (const [field, dir] of terms) {
          const [x, y] = [a[field], b[field]];
          let c: number;
          if (x === null || y === null) c = x === y ? 0 : x === null ? -1 : 1;
          else c = compare(field, x, y);
          if (c !== 0) return dir === 'desc' ? -c : c;
        }
        return a.id - b.id;
      });
    }

    it('order, limit and offset apply to the matching rows', async () => {
      const recs = await seedItems();
      const names = async (domain: Domain, options: { order?: string; limit?: number; offset?: number }) => {
        const byId = new Map(recs.map((r) => [r.id, r.name]));
        return (await items().search(domain, options)).ids.map((id) => byId.get(id));
      };
      expect(await names([['qty', '!=', null]], { order: 'qty desc' })).toEqual([
        'date',
        'cherry',
        'elder berry',
        'fig ',
        'apple',
        'fig',
        'Apple',
        'lemon_lime',
        'APPLE pie',
      ]);
      expect(await names([['qty', '!=', null]], { order: 'qty desc', limit: 3, offset: 2 })).toEqual([
        'elder berry',
        'fig ',
        'apple',
      ]);
      expect(await names([['qty', '=', 7]], { order: 'qty, name desc' })).toEqual(['fig ', 'elder berry']);
      expect(await names([['active', '=', true]], { order: 'name desc', limit: 2 })).toEqual(['fig', 'elder berry']);
      expect(await names([], { order: 'id desc', offset: 9 })).toEqual(['Apple', 'apple']);
      expect(await names([], { limit: 0 })).toEqual([]);
      expect(await names([], { offset: 11 })).toEqual([]);
      expect(await names([['qty', '>', 1000]], { limit: 5 })).toEqual(['date']);

      const domains: Domain[] = [
        [],
        [['qty', '!=', null]],
        [['active', '!=', true]],
        ['|', ['price', '<', 1], ['amount', '>', 1]],
      ];
      const orders = [
        'id',
        'qty desc',
        'price, name desc',
        'seen desc, amount',
        'amount desc, qty',
        'active, code desc',
        'name',
      ];
      const got: unknown[] = [];
      const want: unknown[] = [];
      for (const domain of domains) {
        for (const order of orders) {
          for (const [limit, offset] of [
            [undefined, undefined],
            [3, undefined],
            [4, 2],
            [undefined, 5],
            [100, 1],
          ] as const) {
            const options = { order, limit, offset };
            got.push({ domain, options, ids: (await items().search(domain, options)).ids });
            const all = sortRecs(
              recs.filter((r) => evalDomain(domain, r)),
              order,
            ).map((r) => r.id);
            want.push({
              domain,
              options,
              ids: all.slice(offset ?? 0, limit === undefined ? undefined : (offset ?? 0) + limit),
            });
          }
        }
      }
      expect(got).toEqual(want);
    });

    it('searchCount(domain) agrees with search(domain).length', async () => {
      const recs = await seedItems();
      const domains: Domain[] = [
        [],
        [['qty', '=', null]],
        [['qty', '!=', null]],
        [['code', 'in', []]],
        [['code', 'not in', []]],
        [['name', 'ilike', 'a']],
        ['!', ['name', 'ilike', 'a']],
        ['|', ['active', '=', true], ['price', '>', 1]],
        [
          ['amount', '>', 0],
          ['seen', '!=', null],
        ],
        [['id', 'in', recs.slice(2, 6).map((r) => r.id)]],
      ];
      const got: unknown[] = [];
      for (const domain of domains) {
        const found = await items().search(domain);
        got.push({ domain, count: await items().searchCount(domain), length: found.length });
      }
      expect(got).toEqual(
        domains.map((domain) => {
          const n = recs.filter((r) => evalDomain(domain, r)).length;
          return { domain, count: n, length: n };
        }),
      );
    });
  });
});
