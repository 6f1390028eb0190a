import 'reflect-metadata';
import { BaseModel, DomainError, Environment, Field, Model, type Domain, type DomainTerm } from '../lib';
import { countQueries, describeEachDatabase, rawRows } from './helpers/databases';

/*
 * Dotted-path domains and domains on bare relational fields, on both databases.
 *
 * The oracle is SQL written by hand: for every domain tested, the ids proxorm finds must
 * be the ids an equivalent hand-written query (JOINs, EXISTS, NOT EXISTS) finds on the
 * same database, and `['!', domain]` must find exactly the others. Key cases also carry
 * the expected record labels, so that the hand-written SQL is itself checked against the
 * documented semantics:
 *
 * - `['customer.name', op, v]`: the record's customer meets `[name, op, v]`; a NULL
 *   customer never matches, and `'!'` is the exact complement (NULL customers included).
 * - one2many / many2many paths: "some related record matches"; negated: "none does"
 *   (records without related records included).
 * - a bare many2one compares ids; a bare x2many `[f, 'in', ids]` is `[f.id, 'in', ids]`,
 *   and `not in` / `!=` mean "none of those" (records without related records included).
 */

@Model('rdom_customer')
class Customer extends BaseModel {
  @Field.string({ size: 40 }) name!: string | null;
  @Field.string({ size: 10 }) country!: string | null;
  /** Self-referential many2one, for chains through the same table. */
  @Field.many2one(() => Customer) referrer!: Customer | null;
  @Field.one2many(() => Customer, 'referrer') referred!: Customer[];
  @Field.one2many(() => Order, 'customer') orders!: Order[];
  /** Default relation table: rdom_customer_rdom_tag_rel (rdom_customer_id, rdom_tag_id). */
  @Field.many2many(() => Tag) tags!: Tag[];
  /** Self many2many: rdom_customer_rdom_customer_rel (rdom_customer_id, friends_id). */
  @Field.many2many(() => Customer) friends!: Customer[];
}

@Model({ name: 'rdom_order', table: 'rdom_orders' })
class Order extends BaseModel {
  @Field.string({ size: 20 }) ref!: string | null;
  @Field.float() amount!: number | null;
  @Field.many2one(() => Customer) customer!: Customer | null;
  @Field.one2many(() => Line, 'order') lines!: Line[];
  /** Explicit relation table, shared with Tag.orders: rdom_order_tag (ord, tag). */
  @Field.many2many(() => Tag, { relation: 'rdom_order_tag', column1: 'ord', column2: 'tag' }) tags!: Tag[];
}

@Model('rdom_tag')
class Tag extends BaseModel {
  @Field.string({ size: 20 }) name!: string | null;
  @Field.many2many(() => Order, { relation: 'rdom_order_tag', column1: 'tag', column2: 'ord' }) orders!: Order[];
}

@Model('rdom_line')
class Line extends BaseModel {
  @Field.string({ size: 20 }) product!: string | null;
  @Field.integer() qty!: number | null;
  /** A many2one with its own column name: `order_ref`, not `order_id`. */
  @Field.many2one(() => Order, { onDelete: 'cascade', column: 'order_ref' }) order!: Order | null;
}

// ---------------------------------------------------------------------------------------------
// Fixture: labels are created in this order, so ids ascend in label order within a model.
// ---------------------------------------------------------------------------------------------

const TAGS = ['vip', 'eu', 'new', 'urgent', 'gift', 'nameless', 'unused'] as const;
type TagKey = (typeof TAGS)[number];
const TAG_NAMES: Record<TagKey, string | null> = {
  vip: 'vip',
  eu: 'eu',
  new: 'new',
  urgent: 'urgent',
  gift: 'gift',
  nameless: null,
  unused: 'unused',
};

type CustKey = 'c1' | 'c2' | 'c3' | 'c4' | 'c5' | 'c6';
const CUSTOMERS: ReadonlyArray<{
  key: CustKey;
  name: string | null;
  country: string | null;
  referrer: CustKey | null;
  tags: TagKey[];
  friends: CustKey[];
}> = [
  { key: 'c1', name: 'Alice', country: 'FR', referrer: null, tags: ['vip', 'eu'], friends: ['c2', 'c3'] },
  { key: 'c2', name: 'Bob', country: 'US', referrer: 'c1', tags: ['new'], friends: ['c1'] },
  { key: 'c3', name: 'alice', country: null, referrer: 'c2', tags: [], friends: [] },
  { key: 'c4', name: null, country: 'FR', referrer: 'c3', tags: ['vip', 'nameless'], friends: ['c1'] },
  { key: 'c5', name: 'Carol', country: 'DE', referrer: null, tags: [], friends: [] }, // no orders
  { key: 'c6', name: 'Dave', country: null, referrer: 'c5', tags: ['eu', 'new'], friends: ['c5'] },
];

type OrderKey = 'o1' | 'o2' | 'o3' | 'o4' | 'o5' | 'o6' | 'o7' | 'o8' | 'o9';
const ORDERS: ReadonlyArray<{
  key: OrderKey;
  ref: string | null;
  amount: number | null;
  customer: CustKey | null;
  tags: TagKey[];
}> = [
  { key: 'o1', ref: 'SO1', amount: 150, customer: 'c1', tags: ['urgent', 'gift'] },
  { key: 'o2', ref: 'SO2', amount: 50, customer: 'c1', tags: [] },
  { key: 'o3', ref: 'SO3', amount: null, customer: 'c2', tags: ['gift'] }, // no lines
  { key: 'o4', ref: 'SO4', amount: 300, customer: null, tags: ['urgent'] },
  { key: 'o5', ref: null, amount: 100, customer: 'c3', tags: [] },
  { key: 'o6', ref: 'SO6', amount: 20, customer: 'c4', tags: ['nameless'] },
  { key: 'o7', ref: 'SO7', amount: 500, customer: null, tags: [] }, // no lines
  { key: 'o8', ref: 'SO8', amount: 80, customer: 'c6', tags: ['gift', 'eu'] },
  { key: 'o9', ref: 'SO9', amount: 101, customer: 'c6', tags: [] }, // no lines
];

type LineKey = 'l1' | 'l2' | 'l3' | 'l4' | 'l5' | 'l6' | 'l7' | 'l8';
const LINES: ReadonlyArray<{ key: LineKey; product: string | null; qty: number | null; order: OrderKey | null }> = [
  { key: 'l1', product: 'pen', qty: 1, order: 'o1' },
  { key: 'l2', product: 'ink', qty: 10, order: 'o1' },
  { key: 'l3', product: 'pen', qty: 5, order: 'o2' },
  { key: 'l4', product: 'paper', qty: null, order: 'o4' },
  { key: 'l5', product: 'pen', qty: 2, order: null },
  { key: 'l6', product: null, qty: 3, order: 'o6' },
  { key: 'l7', product: 'ink', qty: 7, order: 'o8' },
  { key: 'l8', product: 'paper', qty: 1, order: 'o5' },
];

type Kind = 'customer' | 'order' | 'tag' | 'line';
const TABLE: Record<Kind, string> = {
  customer: 'rdom_customer',
  order: 'rdom_orders',
  tag: 'rdom_tag',
  line: 'rdom_line',
};
const ALL: Record<Kind, readonly string[]> = {
  customer: CUSTOMERS.map((c) => c.key),
  order: ORDERS.map((o) => o.key),
  tag: TAGS,
  line: LINES.map((l) => l.key),
};
const allBut = (kind: Kind, ...keys: string[]) => ALL[kind].filter((k) => !keys.includes(k));

interface Fixture {
  /** Id of a record by label (c1, o1, l1, vip, ...). */
  id: (key: string) => number;
  /** Label of a record of `kind` by id. */
  label(kind: Kind, id: number): string;
}

/** One domain and the hand-written SQL (a full SELECT of an `id` column) it must agree with. */
interface Case {
  readonly kind: Kind;
  readonly domain: Domain;
  readonly sql: string;
  readonly args?: readonly unknown[];
  /** Labels the domain must find (id order); checks the SQL against the documented semantics. */
  readonly labels?: readonly string[];
}

/** The domain's complement: `'!'` over the AND of all its top-level terms. */
function negate(domain: Domain): Domain {
  let terms = 0;
  let need = 0;
  for (const t of domain) {
    if (need === 0) terms++;
    else need--;
    if (t === '&' || t === '|') need += 2;
    else if (t === '!') need += 1;
  }
  return ['!', ...Array<DomainTerm>(Math.max(terms - 1, 0)).fill('&'), ...domain];
}

// ---------------------------------------------------------------------------------------------
// Leaves with a two-valued hand-written SQL predicate on `o` (rdom_orders) or `l` (rdom_line),
// composed into random domains below.
// ---------------------------------------------------------------------------------------------

interface SqlLeaf {
  readonly leaf: DomainTerm;
  readonly sql: string;
  readonly args: readonly unknown[];
}

function orderLeaves(fx: Fixture): SqlLeaf[] {
  const id = fx.id;
  return [
    { leaf: ['amount', '>', 100], sql: '(o.amount IS NOT NULL AND o.amount > ?)', args: [100] },
    { leaf: ['ref', '=', null], sql: 'o.ref IS NULL', args: [] },
    { leaf: ['ref', '!=', 'SO1'], sql: '(o.ref IS NULL OR o.ref <> ?)', args: ['SO1'] },
    { leaf: ['customer', '=', null], sql: 'o.customer_id IS NULL', args: [] },
    {
      leaf: ['customer', 'in', [id('c1'), id('c6')]],
      sql: '(o.customer_id IS NOT NULL AND o.customer_id IN (?, ?))',
      args: [id('c1'), id('c6')],
    },
    {
      leaf: ['customer', 'not in', [id('c1')]],
      sql: '(o.customer_id IS NULL OR o.customer_id <> ?)',
      args: [id('c1')],
    },
    {
      leaf: ['customer.name', '=', 'Alice'],
      sql: 'EXISTS (SELECT 1 FROM rdom_customer c WHERE c.id = o.customer_id AND c.name = ?)',
      args: ['Alice'],
    },
    {
      leaf: ['customer.name', '!=', 'Alice'],
      sql: 'EXISTS (SELECT 1 FROM rdom_customer c WHERE c.id = o.customer_id AND (c.name IS NULL OR c.name <> ?))',
      args: ['Alice'],
    },
    {
      leaf: ['customer.country', 'in', ['FR', null]],
      sql: 'EXISTS (SELECT 1 FROM rdom_customer c WHERE c.id = o.customer_id AND (c.country IS NULL OR c.country = ?))',
      args: ['FR'],
    },
    {
      leaf: ['customer.referrer.name', 'ilike', 'ALI'],
      sql: 'EXISTS (SELECT 1 FROM rdom_customer c JOIN rdom_customer r ON r.id = c.referrer_id WHERE c.id = o.customer_id AND LOWER(r.name) LIKE ?)',
      args: ['%ali%'],
    },
    {
      leaf: ['customer.referrer', '=', null],
      sql: 'EXISTS (SELECT 1 FROM rdom_customer c WHERE c.id = o.customer_id AND c.referrer_id IS NULL)',
      args: [],
    },
    {
      leaf: ['lines.qty', '>', 4],
      sql: 'EXISTS (SELECT 1 FROM rdom_line l WHERE l.order_ref = o.id AND l.qty > ?)',
      args: [4],
    },
    {
      leaf: ['lines.product', '!=', 'pen'],
      sql: 'EXISTS (SELECT 1 FROM rdom_line l WHERE l.order_ref = o.id AND (l.product IS NULL OR l.product <> ?))',
      args: ['pen'],
    },
    {
      leaf: ['tags.name', 'in', ['gift', 'urgent']],
      sql: 'EXISTS (SELECT 1 FROM rdom_order_tag r JOIN rdom_tag g ON g.id = r.tag WHERE r.ord = o.id AND g.name IN (?, ?))',
      args: ['gift', 'urgent'],
    },
    {
      leaf: ['tags', 'not in', [id('urgent')]],
      sql: 'NOT EXISTS (SELECT 1 FROM rdom_order_tag r WHERE r.ord = o.id AND r.tag = ?)',
      args: [id('urgent')],
    },
    {
      leaf: ['tags', '=', id('gift')],
      sql: 'EXISTS (SELECT 1 FROM rdom_order_tag r WHERE r.ord = o.id AND r.tag = ?)',
      args: [id('gift')],
    },
    {
      leaf: ['customer.tags.name', '=', 'vip'],
      sql:
        'EXISTS (SELECT 1 FROM rdom_customer c JOIN rdom_customer_rdom_tag_rel r ON r.rdom_customer_id = c.id ' +
        'JOIN rdom_tag g ON g.id = r.rdom_tag_id WHERE c.id = o.customer_id AND g.name = ?)',
      args: ['vip'],
    },
    {
      leaf: ['customer.orders.amount', '>', 100],
      sql: 'EXISTS (SELECT 1 FROM rdom_orders s WHERE s.customer_id = o.customer_id AND s.amount > ?)',
      args: [100],
    },
    {
      leaf: ['lines.order.customer.country', '=', 'FR'],
      sql:
        'EXISTS (SELECT 1 FROM rdom_line l JOIN rdom_orders p ON p.id = l.order_ref JOIN rdom_customer c ON c.id = p.customer_id ' +
        'WHERE l.order_ref = o.id AND c.country = ?)',
      args: ['FR'],
    },
  ];
}

function lineLeaves(fx: Fixture): SqlLeaf[] {
  const id = fx.id;
  return [
    { leaf: ['qty', '<', 5], sql: '(l.qty IS NOT NULL AND l.qty < ?)', args: [5] },
    { leaf: ['product', '!=', 'pen'], sql: '(l.product IS NULL OR l.product <> ?)', args: ['pen'] },
    { leaf: ['order', '=', null], sql: 'l.order_ref IS NULL', args: [] },
    {
      leaf: ['order', 'not in', [id('o1'), id('o8')]],
      sql: '(l.order_ref IS NULL OR l.order_ref NOT IN (?, ?))',
      args: [id('o1'), id('o8')],
    },
    {
      leaf: ['order.customer.name', '=', 'Alice'],
      sql: 'EXISTS (SELECT 1 FROM rdom_orders p JOIN rdom_customer c ON c.id = p.customer_id WHERE p.id = l.order_ref AND c.name = ?)',
      args: ['Alice'],
    },
    {
      leaf: ['order.customer.country', 'not in', ['FR']],
      sql: 'EXISTS (SELECT 1 FROM rdom_orders p JOIN rdom_customer c ON c.id = p.customer_id WHERE p.id = l.order_ref AND (c.country IS NULL OR c.country <> ?))',
      args: ['FR'],
    },
    {
      leaf: ['order.customer', '=', null],
      sql: 'EXISTS (SELECT 1 FROM rdom_orders p WHERE p.id = l.order_ref AND p.customer_id IS NULL)',
      args: [],
    },
    {
      leaf: ['order.amount', '>=', 100],
      sql: 'EXISTS (SELECT 1 FROM rdom_orders p WHERE p.id = l.order_ref AND p.amount >= ?)',
      args: [100],
    },
    {
      leaf: ['order.tags.name', '=', 'gift'],
      sql: 'EXISTS (SELECT 1 FROM rdom_order_tag r JOIN rdom_tag g ON g.id = r.tag WHERE r.ord = l.order_ref AND g.name = ?)',
      args: ['gift'],
    },
    {
      leaf: ['order.customer.tags', 'in', [id('vip'), id('new')]],
      sql:
        'EXISTS (SELECT 1 FROM rdom_orders p JOIN rdom_customer_rdom_tag_rel r ON r.rdom_customer_id = p.customer_id ' +
        'WHERE p.id = l.order_ref AND r.rdom_tag_id IN (?, ?))',
      args: [id('vip'), id('new')],
    },
    {
      leaf: ['order.lines.product', '=', 'ink'],
      sql: 'EXISTS (SELECT 1 FROM rdom_line s WHERE s.order_ref = l.order_ref AND s.product = ?)',
      args: ['ink'],
    },
    {
      leaf: ['order.customer.referrer.name', '!=', 'Alice'],
      sql:
        'EXISTS (SELECT 1 FROM rdom_orders p JOIN rdom_customer c ON c.id = p.customer_id JOIN rdom_customer r ON r.id = c.referrer_id ' +
        'WHERE p.id = l.order_ref AND (r.name IS NULL OR r.name <> ?))',
      args: ['Alice'],
    },
  ];
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random domain and the SQL predicate composed from its leaves' hand-written predicates. */
function randomDomain(
  rand: () => number,
  leaves: readonly SqlLeaf[],
  depth: number,
): { domain: Domain; sql: string; args: unknown[] } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const node = (d: number): { domain: DomainTerm[]; sql: string; args: unknown[] } => {
    const r = rand();
    if (d <= 0 || r < 0.35) {
      const l = pick(leaves);
      return { domain: [l.leaf], sql: l.sql, args: [...l.args] };
    }
    if (r < 0.55) {
      const c = node(d - 1);
      return { domain: ['!', ...c.domain], sql: `NOT (${c.sql})`, args: c.args };
    }
    const op = pick(['&', '|'] as const);
    const a = node(d - 1);
    const b = node(d - 1);
    return {
      domain: [op, ...a.domain, ...b.domain],
      sql: `(${a.sql} ${op === '&' ? 'AND' : 'OR'} ${b.sql})`,
      args: [...a.args, ...b.args],
    };
  };
  const domain: DomainTerm[] = [];
  const sql: string[] = [];
  const args: unknown[] = [];
  for (let terms = 1 + Math.floor(rand() * 3); terms > 0; terms--) {
    const n = node(depth);
    domain.push(...n.domain);
    sql.push(n.sql);
    args.push(...n.args);
  }
  return { domain, sql: sql.join(' AND '), args };
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describeEachDatabase('relation domains', (db) => {
  let env: Environment;
  let fx: Fixture;

  beforeEach(async () => {
    env = await db.open();
    fx = await seed(env.fork());
  });
  afterEach(async () => {
    await env.close();
  });

  /** Seeds the fixture through `seeder` (a fork: the env under test starts cold). */
  async function seed(seeder: Environment): Promise<Fixture> {
    const ids = new Map<string, number>();
    const labels = new Map<Kind, Map<number, string>>(Object.keys(TABLE).map((k) => [k as Kind, new Map()]));
    const put = (kind: Kind, key: string, id: number) => {
      ids.set(key, id);
      labels.get(kind)!.set(id, key);
    };
    const id = (key: string) => {
      const v = ids.get(key);
      if (v === undefined) throw new Error(`fixture: no record "${key}"`);
      return v;
    };
    for (const key of TAGS) put('tag', key, (await seeder.model(Tag).create({ name: TAG_NAMES[key] })).ids[0]);
    for (const c of CUSTOMERS) {
      const rec = await seeder.model(Customer).create({
        name: c.name,
        country: c.country,
        referrer: c.referrer === null ? null : id(c.referrer),
        tags: { set: c.tags.map(id) },
      });
      put('customer', c.key, rec.ids[0]);
    }
    for (const c of CUSTOMERS) {
      if (c.friends.length)
        await seeder
          .model(Customer)
          .browse(id(c.key))
          .write({ friends: { set: c.friends.map(id) } });
    }
    for (const o of ORDERS) {
      const rec = await seeder.model(Order).create({
        ref: o.ref,
        amount: o.amount,
        customer: o.customer === null ? null : id(o.customer),
        tags: { set: o.tags.map(id) },
      });
      put('order', o.key, rec.ids[0]);
    }
    for (const l of LINES) {
      const rec = await seeder
        .model(Line)
        .create({ product: l.product, qty: l.qty, order: l.order === null ? null : id(l.order) });
      put('line', l.key, rec.ids[0]);
    }
    return {
      id,
      label: (kind, i) => labels.get(kind)!.get(i) ?? `<unknown ${kind} id ${i}>`,
    };
  }

  /** The search/searchCount API of a model kind, on the env under test. */
  function api(kind: Kind) {
    switch (kind) {
      case 'customer':
        return env.model(Customer);
      case 'order':
        return env.model(Order);
      case 'tag':
        return env.model(Tag);
      case 'line':
        return env.model(Line);
    }
  }

  /** Ids (ascending) returned by a hand-written SQL statement with an `id` column. */
  async function sqlIds(
    sql: string,
    args: readonly unknown[] = [],
    options: { sorted?: boolean } = {},
  ): Promise<number[]> {
    const rows = await rawRows<{ id: unknown }>(env, sql, args);
    const ids = rows.map((r) => Number(r.id));
    return options.sorted === false ? ids : ids.sort((a, b) => a - b);
  }

  /**
   * For each case: search(domain), its complement search(negate(domain)) and both counts,
   * against the hand-written SQL and its complement (`id NOT IN (sql)`), plus the labels.
   * All mismatches are reported at once.
   */
  async function expectCases(cases: readonly Case[]): Promise<void> {
    const got: unknown[] = [];
    const want: unknown[] = [];
    for (const c of cases) {
      const model = api(c.kind);
      let pos: readonly number[] = [];
      const queries = await countQueries(env, async () => {
        pos = (await model.search(c.domain)).ids;
      });
      const neg = (await model.search(negate(c.domain))).ids;
      const count = await model.searchCount(c.domain);
      const negCount = await model.searchCount(negate(c.domain));
      const table = TABLE[c.kind];
      const sqlPos = await sqlIds(c.sql, c.args);
      const sqlNeg = await sqlIds(`SELECT x.id FROM ${table} x WHERE x.id NOT IN (${c.sql})`, c.args);
      const labels = pos.map((i) => fx.label(c.kind, i));
      got.push({ kind: c.kind, domain: c.domain, queries, pos, neg, count, negCount, ...(c.labels ? { labels } : {}) });
      want.push({
        kind: c.kind,
        domain: c.domain,
        queries: 1,
        pos: sqlPos,
        neg: sqlNeg,
        count: sqlPos.length,
        negCount: sqlNeg.length,
        ...(c.labels ? { labels: c.labels } : {}),
      });
      // The SQL itself must agree with the labels written from the documented semantics.
      if (c.labels)
        expect({ domain: c.domain, sqlLabels: sqlPos.map((i) => fx.label(c.kind, i)) }).toEqual({
          domain: c.domain,
          sqlLabels: c.labels,
        });
    }
    expect(got).toEqual(want);
  }

  describe('many2one paths', () => {
    it("['customer.name', op, v]: the operator applies to the customer; a NULL customer never matches, '!' is the exact complement", async () => {
      await expectCases([
        {
          kind: 'order',
          domain: [['customer.name', '=', 'Alice']],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.name = ?',
          args: ['Alice'],
          labels: ['o1', 'o2'],
        },
        {
          kind: 'order',
          domain: ['!', ['customer.name', '=', 'Alice']],
          sql: 'SELECT o.id FROM rdom_orders o LEFT JOIN rdom_customer c ON c.id = o.customer_id WHERE c.id IS NULL OR c.name IS NULL OR c.name <> ?',
          args: ['Alice'],
          labels: allBut('order', 'o1', 'o2'),
        },
        {
          kind: 'order',
          domain: [['customer.name', '!=', 'Alice']],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.name IS NULL OR c.name <> ?',
          args: ['Alice'],
          labels: ['o3', 'o5', 'o6', 'o8', 'o9'],
        },
        {
          kind: 'order',
          domain: ['!', ['customer.name', '!=', 'Alice']],
          sql: 'SELECT o.id FROM rdom_orders o LEFT JOIN rdom_customer c ON c.id = o.customer_id WHERE c.id IS NULL OR c.name = ?',
          args: ['Alice'],
          labels: ['o1', 'o2', 'o4', 'o7'],
        },
        {
          kind: 'order',
          domain: [['customer.name', 'ilike', 'ALI']],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE LOWER(c.name) LIKE ?',
          args: ['%ali%'],
          labels: ['o1', 'o2', 'o5'],
        },
        {
          kind: 'order',
          domain: [['customer.name', 'like', 'ali']],
          // (string, substring): INSTR on SQLite and MySQL, STRPOS on PostgreSQL.
          sql: `SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE ${db.name === 'postgres' ? 'STRPOS' : 'INSTR'}(c.name, ?) > 0`,
          args: ['ali'],
          labels: ['o5'],
        },
        {
          kind: 'order',
          domain: [['customer.name', 'not ilike', 'ali']],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.name IS NULL OR LOWER(c.name) NOT LIKE ?',
          args: ['%ali%'],
          labels: ['o3', 'o6', 'o8', 'o9'],
        },
        {
          kind: 'order',
          domain: [['customer.name', '=like', '_a%']],
          sql: "SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE SUBSTR(c.name, 2, 1) = 'a'",
          labels: ['o8', 'o9'],
        },
        {
          kind: 'order',
          domain: [['customer.name', '>=', 'a']],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.name >= ?',
          args: ['a'],
          labels: ['o5'],
        },
        {
          kind: 'order',
          domain: [['customer.name', '=', null]],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.name IS NULL',
          labels: ['o6'],
        },
        {
          kind: 'order',
          domain: [['customer.name', '!=', null]],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.name IS NOT NULL',
          labels: ['o1', 'o2', 'o3', 'o5', 'o8', 'o9'],
        },
        {
          kind: 'order',
          domain: ['!', ['customer.name', '=', null]],
          sql: 'SELECT o.id FROM rdom_orders o LEFT JOIN rdom_customer c ON c.id = o.customer_id WHERE c.id IS NULL OR c.name IS NOT NULL',
          labels: allBut('order', 'o6'),
        },
      ]);
    });

    it('in / not in (with and without null) and empty lists inside a many2one path', async () => {
      await expectCases([
        {
          kind: 'order',
          domain: [['customer.country', 'in', ['FR', 'DE']]],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.country IN (?, ?)',
          args: ['FR', 'DE'],
          labels: ['o1', 'o2', 'o6'],
        },
        {
          kind: 'order',
          domain: [['customer.country', 'not in', ['FR']]],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.country IS NULL OR c.country <> ?',
          args: ['FR'],
          labels: ['o3', 'o5', 'o8', 'o9'],
        },
        {
          kind: 'order',
          domain: [['customer.country', 'in', ['US', null]]],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.country IS NULL OR c.country = ?',
          args: ['US'],
          labels: ['o3', 'o5', 'o8', 'o9'],
        },
        {
          kind: 'order',
          domain: ['!', ['customer.country', 'in', ['US', null]]],
          sql:
            'SELECT o.id FROM rdom_orders o LEFT JOIN rdom_customer c ON c.id = o.customer_id ' +
            'WHERE c.id IS NULL OR (c.country IS NOT NULL AND c.country <> ?)',
          args: ['US'],
          labels: ['o1', 'o2', 'o4', 'o6', 'o7'],
        },
        {
          kind: 'order',
          domain: [['customer.country', 'not in', ['US', null]]],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.country IS NOT NULL AND c.country <> ?',
          args: ['US'],
          labels: ['o1', 'o2', 'o6'],
        },
        {
          kind: 'order',
          domain: ['!', ['customer.name', 'not in', ['Alice', null]]],
          sql: 'SELECT o.id FROM rdom_orders o LEFT JOIN rdom_customer c ON c.id = o.customer_id WHERE c.id IS NULL OR c.name IS NULL OR c.name = ?',
          args: ['Alice'],
          labels: ['o1', 'o2', 'o4', 'o6', 'o7'],
        },
        {
          kind: 'order',
          domain: [['customer.name', 'in', []]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE 1 = 0',
          labels: [],
        },
        {
          kind: 'order',
          domain: [['customer.name', 'not in', []]],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id',
          labels: ['o1', 'o2', 'o3', 'o5', 'o6', 'o8', 'o9'],
        },
        {
          kind: 'order',
          domain: [['customer.id', 'in', [fx.id('c1'), fx.id('c2')]]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.customer_id IN (?, ?)',
          args: [fx.id('c1'), fx.id('c2')],
          labels: ['o1', 'o2', 'o3'],
        },
        {
          kind: 'order',
          domain: [['customer.id', 'not in', [fx.id('c1')]]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.customer_id <> ?',
          args: [fx.id('c1')],
          labels: ['o3', 'o5', 'o6', 'o8', 'o9'],
        },
      ]);
    });

    it('chains of many2ones, self-referential ones included, and a many2one path ending on a bare many2one', async () => {
      await expectCases([
        {
          kind: 'order',
          domain: [['customer.referrer.name', '=', 'Alice']],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id JOIN rdom_customer r ON r.id = c.referrer_id WHERE r.name = ?',
          args: ['Alice'],
          labels: ['o3'],
        },
        {
          kind: 'order',
          domain: ['!', ['customer.referrer.name', '=', 'Alice']],
          sql:
            'SELECT o.id FROM rdom_orders o WHERE NOT EXISTS (SELECT 1 FROM rdom_customer c JOIN rdom_customer r ON r.id = c.referrer_id ' +
            'WHERE c.id = o.customer_id AND r.name = ?)',
          args: ['Alice'],
          labels: allBut('order', 'o3'),
        },
        {
          kind: 'order',
          domain: [['customer.referrer.referrer.name', '=', 'Alice']],
          sql:
            'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id JOIN rdom_customer r ON r.id = c.referrer_id ' +
            'JOIN rdom_customer rr ON rr.id = r.referrer_id WHERE rr.name = ?',
          args: ['Alice'],
          labels: ['o5'],
        },
        {
          kind: 'order',
          domain: [['customer.referrer.name', '!=', 'Bob']],
          sql:
            'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id JOIN rdom_customer r ON r.id = c.referrer_id ' +
            'WHERE r.name IS NULL OR r.name <> ?',
          args: ['Bob'],
          labels: ['o3', 'o6', 'o8', 'o9'],
        },
        {
          kind: 'order',
          domain: [['customer.referrer', '=', null]],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.referrer_id IS NULL',
          labels: ['o1', 'o2'],
        },
        {
          kind: 'order',
          domain: ['!', ['customer.referrer', '=', null]],
          sql: 'SELECT o.id FROM rdom_orders o LEFT JOIN rdom_customer c ON c.id = o.customer_id WHERE c.id IS NULL OR c.referrer_id IS NOT NULL',
          labels: allBut('order', 'o1', 'o2'),
        },
        {
          kind: 'order',
          domain: [['customer.referrer', '!=', null]],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.referrer_id IS NOT NULL',
          labels: ['o3', 'o5', 'o6', 'o8', 'o9'],
        },
        {
          kind: 'order',
          domain: [['customer.referrer', 'in', [fx.id('c1'), fx.id('c5')]]],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.referrer_id IN (?, ?)',
          args: [fx.id('c1'), fx.id('c5')],
          labels: ['o3', 'o8', 'o9'],
        },
        {
          kind: 'order',
          domain: [['customer.referrer', 'not in', [fx.id('c1')]]],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.referrer_id IS NULL OR c.referrer_id <> ?',
          args: [fx.id('c1')],
          labels: ['o1', 'o2', 'o5', 'o6', 'o8', 'o9'],
        },
        {
          kind: 'order',
          domain: [['customer.referrer', '=', fx.id('c2')]],
          sql: 'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.referrer_id = ?',
          args: [fx.id('c2')],
          labels: ['o5'],
        },
        {
          kind: 'customer',
          domain: [['referrer.referrer', '=', fx.id('c1')]],
          sql: 'SELECT c.id FROM rdom_customer c JOIN rdom_customer r ON r.id = c.referrer_id WHERE r.referrer_id = ?',
          args: [fx.id('c1')],
          labels: ['c3'],
        },
        {
          kind: 'customer',
          domain: [['referrer.name', 'ilike', 'a']],
          sql: 'SELECT c.id FROM rdom_customer c JOIN rdom_customer r ON r.id = c.referrer_id WHERE LOWER(r.name) LIKE ?',
          args: ['%a%'],
          labels: ['c2', 'c4', 'c6'],
        },
      ]);
    });
  });

  describe('one2many paths', () => {
    it("['lines.qty', op, v]: some line matches; '!' means no line matches, parents without lines included", async () => {
      await expectCases([
        {
          kind: 'order',
          domain: [['lines.qty', '>', 4]],
          sql: 'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_line l ON l.order_ref = o.id WHERE l.qty > ?',
          args: [4],
          labels: ['o1', 'o2', 'o8'],
        },
        {
          kind: 'order',
          domain: ['!', ['lines.qty', '>', 4]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE NOT EXISTS (SELECT 1 FROM rdom_line l WHERE l.order_ref = o.id AND l.qty > ?)',
          args: [4],
          labels: ['o3', 'o4', 'o5', 'o6', 'o7', 'o9'],
        },
        {
          kind: 'order',
          domain: [['lines.qty', '<=', 4]],
          sql: 'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_line l ON l.order_ref = o.id WHERE l.qty <= ?',
          args: [4],
          labels: ['o1', 'o5', 'o6'],
        },
        {
          kind: 'order',
          domain: [['lines.qty', '=', null]],
          sql: 'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_line l ON l.order_ref = o.id WHERE l.qty IS NULL',
          labels: ['o4'],
        },
        {
          kind: 'order',
          domain: [['lines.qty', '!=', null]],
          sql: 'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_line l ON l.order_ref = o.id WHERE l.qty IS NOT NULL',
          labels: ['o1', 'o2', 'o5', 'o6', 'o8'],
        },
        {
          kind: 'order',
          domain: ['!', ['lines.qty', '=', null]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE NOT EXISTS (SELECT 1 FROM rdom_line l WHERE l.order_ref = o.id AND l.qty IS NULL)',
          labels: allBut('order', 'o4'),
        },
        {
          kind: 'order',
          domain: [['lines.product', '!=', 'pen']],
          sql: 'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_line l ON l.order_ref = o.id WHERE l.product IS NULL OR l.product <> ?',
          args: ['pen'],
          labels: ['o1', 'o4', 'o5', 'o6', 'o8'],
        },
        {
          kind: 'order',
          domain: ['!', ['lines.product', '!=', 'pen']],
          sql: 'SELECT o.id FROM rdom_orders o WHERE NOT EXISTS (SELECT 1 FROM rdom_line l WHERE l.order_ref = o.id AND (l.product IS NULL OR l.product <> ?))',
          args: ['pen'],
          labels: ['o2', 'o3', 'o7', 'o9'],
        },
        {
          kind: 'order',
          domain: [['lines.product', 'not in', ['pen', 'ink']]],
          sql: 'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_line l ON l.order_ref = o.id WHERE l.product IS NULL OR l.product NOT IN (?, ?)',
          args: ['pen', 'ink'],
          labels: ['o4', 'o5', 'o6'],
        },
        {
          kind: 'order',
          domain: [['lines.product', '=like', 'p%']],
          sql: "SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_line l ON l.order_ref = o.id WHERE SUBSTR(l.product, 1, 1) = 'p'",
          labels: ['o1', 'o2', 'o4', 'o5'],
        },
        {
          kind: 'order',
          domain: [['lines.product', 'in', []]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE 1 = 0',
          labels: [],
        },
        {
          kind: 'order',
          domain: [['lines.product', 'not in', []]],
          sql: 'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_line l ON l.order_ref = o.id',
          labels: ['o1', 'o2', 'o4', 'o5', 'o6', 'o8'],
        },
      ]);
    });

    it("['orders.amount', '>', 100] on customers, and a self-referential one2many", async () => {
      await expectCases([
        {
          kind: 'customer',
          domain: [['orders.amount', '>', 100]],
          sql: 'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_orders o ON o.customer_id = c.id WHERE o.amount > ?',
          args: [100],
          labels: ['c1', 'c6'],
        },
        {
          kind: 'customer',
          domain: ['!', ['orders.amount', '>', 100]],
          sql: 'SELECT c.id FROM rdom_customer c WHERE NOT EXISTS (SELECT 1 FROM rdom_orders o WHERE o.customer_id = c.id AND o.amount > ?)',
          args: [100],
          labels: ['c2', 'c3', 'c4', 'c5'],
        },
        {
          kind: 'customer',
          domain: [['orders.amount', '=', null]],
          sql: 'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_orders o ON o.customer_id = c.id WHERE o.amount IS NULL',
          labels: ['c2'],
        },
        {
          kind: 'customer',
          domain: [['orders.amount', '!=', null]],
          sql: 'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_orders o ON o.customer_id = c.id WHERE o.amount IS NOT NULL',
          labels: ['c1', 'c3', 'c4', 'c6'],
        },
        {
          kind: 'customer',
          domain: [['orders.amount', '<=', 50]],
          sql: 'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_orders o ON o.customer_id = c.id WHERE o.amount <= ?',
          args: [50],
          labels: ['c1', 'c4'],
        },
        {
          kind: 'customer',
          domain: [['orders.ref', '=', null]],
          sql: 'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_orders o ON o.customer_id = c.id WHERE o.ref IS NULL',
          labels: ['c3'],
        },
        {
          kind: 'customer',
          domain: [['referred.name', '=', 'Bob']],
          sql: 'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_customer k ON k.referrer_id = c.id WHERE k.name = ?',
          args: ['Bob'],
          labels: ['c1'],
        },
        {
          kind: 'customer',
          domain: ['!', ['referred.name', '!=', null]],
          sql: 'SELECT c.id FROM rdom_customer c WHERE NOT EXISTS (SELECT 1 FROM rdom_customer k WHERE k.referrer_id = c.id AND k.name IS NOT NULL)',
          labels: ['c3', 'c4', 'c6'],
        },
        {
          kind: 'customer',
          domain: [['referred.referred.name', '=', 'alice']],
          sql:
            'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_customer k ON k.referrer_id = c.id JOIN rdom_customer kk ON kk.referrer_id = k.id ' +
            'WHERE kk.name = ?',
          args: ['alice'],
          labels: ['c1'],
        },
      ]);
    });
  });

  describe('many2many paths', () => {
    it("['tags.name', op, v]: some linked tag matches; '!' means none does (records without tags included)", async () => {
      await expectCases([
        {
          kind: 'order',
          domain: [['tags.name', 'in', ['urgent', 'gift']]],
          sql: 'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_order_tag r ON r.ord = o.id JOIN rdom_tag g ON g.id = r.tag WHERE g.name IN (?, ?)',
          args: ['urgent', 'gift'],
          labels: ['o1', 'o3', 'o4', 'o8'],
        },
        {
          kind: 'order',
          domain: ['!', ['tags.name', 'in', ['urgent', 'gift']]],
          sql:
            'SELECT o.id FROM rdom_orders o WHERE NOT EXISTS (SELECT 1 FROM rdom_order_tag r JOIN rdom_tag g ON g.id = r.tag ' +
            'WHERE r.ord = o.id AND g.name IN (?, ?))',
          args: ['urgent', 'gift'],
          labels: ['o2', 'o5', 'o6', 'o7', 'o9'],
        },
        {
          kind: 'order',
          domain: [['tags.name', 'not in', ['gift']]],
          sql:
            'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_order_tag r ON r.ord = o.id JOIN rdom_tag g ON g.id = r.tag ' +
            'WHERE g.name IS NULL OR g.name <> ?',
          args: ['gift'],
          labels: ['o1', 'o4', 'o6', 'o8'],
        },
        {
          kind: 'order',
          domain: ['!', ['tags.name', 'not in', ['gift']]],
          sql:
            'SELECT o.id FROM rdom_orders o WHERE NOT EXISTS (SELECT 1 FROM rdom_order_tag r JOIN rdom_tag g ON g.id = r.tag ' +
            'WHERE r.ord = o.id AND (g.name IS NULL OR g.name <> ?))',
          args: ['gift'],
          labels: ['o2', 'o3', 'o5', 'o7', 'o9'],
        },
        {
          kind: 'order',
          domain: [['tags.name', '=', null]],
          sql: 'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_order_tag r ON r.ord = o.id JOIN rdom_tag g ON g.id = r.tag WHERE g.name IS NULL',
          labels: ['o6'],
        },
        {
          kind: 'order',
          domain: [['tags.name', '=like', 'u%']],
          sql: "SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_order_tag r ON r.ord = o.id JOIN rdom_tag g ON g.id = r.tag WHERE SUBSTR(g.name, 1, 1) = 'u'",
          labels: ['o1', 'o4'],
        },
        {
          kind: 'order',
          domain: [['tags.name', 'ilike', 'G']],
          sql: 'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_order_tag r ON r.ord = o.id JOIN rdom_tag g ON g.id = r.tag WHERE LOWER(g.name) LIKE ?',
          args: ['%g%'],
          labels: ['o1', 'o3', 'o4', 'o8'],
        },
        {
          kind: 'customer',
          domain: [['tags.name', '=', 'vip']],
          sql:
            'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_customer_rdom_tag_rel r ON r.rdom_customer_id = c.id ' +
            'JOIN rdom_tag g ON g.id = r.rdom_tag_id WHERE g.name = ?',
          args: ['vip'],
          labels: ['c1', 'c4'],
        },
        {
          kind: 'customer',
          domain: ['!', ['tags.name', '=', 'vip']],
          sql:
            'SELECT c.id FROM rdom_customer c WHERE NOT EXISTS (SELECT 1 FROM rdom_customer_rdom_tag_rel r JOIN rdom_tag g ON g.id = r.rdom_tag_id ' +
            'WHERE r.rdom_customer_id = c.id AND g.name = ?)',
          args: ['vip'],
          labels: ['c2', 'c3', 'c5', 'c6'],
        },
        {
          kind: 'customer',
          domain: [['friends.name', '=', 'Bob']],
          sql:
            'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_customer_rdom_customer_rel r ON r.rdom_customer_id = c.id ' +
            'JOIN rdom_customer f ON f.id = r.friends_id WHERE f.name = ?',
          args: ['Bob'],
          labels: ['c1'],
        },
        {
          kind: 'customer',
          domain: [['friends.name', 'ilike', 'alice']],
          sql:
            'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_customer_rdom_customer_rel r ON r.rdom_customer_id = c.id ' +
            'JOIN rdom_customer f ON f.id = r.friends_id WHERE LOWER(f.name) LIKE ?',
          args: ['%alice%'],
          labels: ['c1', 'c2', 'c4'],
        },
        {
          kind: 'tag',
          domain: [['orders.amount', '>', 100]],
          sql: 'SELECT DISTINCT g.id FROM rdom_tag g JOIN rdom_order_tag r ON r.tag = g.id JOIN rdom_orders o ON o.id = r.ord WHERE o.amount > ?',
          args: [100],
          labels: ['urgent', 'gift'],
        },
        {
          kind: 'tag',
          domain: ['!', ['orders.amount', '>', 100]],
          sql: 'SELECT g.id FROM rdom_tag g WHERE NOT EXISTS (SELECT 1 FROM rdom_order_tag r JOIN rdom_orders o ON o.id = r.ord WHERE r.tag = g.id AND o.amount > ?)',
          args: [100],
          labels: ['vip', 'eu', 'new', 'nameless', 'unused'],
        },
      ]);
    });
  });

  describe('bare relational fields', () => {
    it('a bare many2one compares ids: =, !=, in, not in, null, a recordset value', async () => {
      const { id } = fx;
      await expectCases([
        {
          kind: 'order',
          domain: [['customer', '=', id('c1')]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.customer_id = ?',
          args: [id('c1')],
          labels: ['o1', 'o2'],
        },
        {
          kind: 'order',
          domain: [['customer', '!=', id('c1')]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.customer_id IS NULL OR o.customer_id <> ?',
          args: [id('c1')],
          labels: allBut('order', 'o1', 'o2'),
        },
        {
          kind: 'order',
          domain: ['!', ['customer', '=', id('c1')]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.customer_id IS NULL OR o.customer_id <> ?',
          args: [id('c1')],
          labels: allBut('order', 'o1', 'o2'),
        },
        {
          kind: 'order',
          domain: [['customer', 'in', [id('c1'), id('c6')]]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.customer_id IN (?, ?)',
          args: [id('c1'), id('c6')],
          labels: ['o1', 'o2', 'o8', 'o9'],
        },
        {
          kind: 'order',
          domain: [['customer', 'not in', [id('c1'), id('c6')]]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.customer_id IS NULL OR o.customer_id NOT IN (?, ?)',
          args: [id('c1'), id('c6')],
          labels: ['o3', 'o4', 'o5', 'o6', 'o7'],
        },
        {
          kind: 'order',
          domain: [['customer', '=', null]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.customer_id IS NULL',
          labels: ['o4', 'o7'],
        },
        {
          kind: 'order',
          domain: [['customer', '!=', null]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.customer_id IS NOT NULL',
          labels: allBut('order', 'o4', 'o7'),
        },
        {
          kind: 'order',
          domain: [['customer', 'in', [id('c2'), null]]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.customer_id IS NULL OR o.customer_id = ?',
          args: [id('c2')],
          labels: ['o3', 'o4', 'o7'],
        },
        {
          kind: 'order',
          domain: [['customer', 'not in', [id('c2'), null]]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.customer_id IS NOT NULL AND o.customer_id <> ?',
          args: [id('c2')],
          labels: ['o1', 'o2', 'o5', 'o6', 'o8', 'o9'],
        },
        {
          kind: 'order',
          domain: [['customer', 'in', []]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE 1 = 0',
          labels: [],
        },
        {
          kind: 'order',
          domain: [['customer', 'not in', []]],
          sql: 'SELECT o.id FROM rdom_orders o',
          labels: ALL.order,
        },
        {
          kind: 'order',
          domain: [['customer', '=', id('c5')]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.customer_id = ?',
          args: [id('c5')],
          labels: [],
        },
        {
          kind: 'order',
          domain: [['customer', '=', env.model(Customer).browse(id('c6'))]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.customer_id = ?',
          args: [id('c6')],
          labels: ['o8', 'o9'],
        },
        {
          kind: 'order',
          domain: [['customer', '!=', env.model(Customer).browse(id('c6'))]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.customer_id IS NULL OR o.customer_id <> ?',
          args: [id('c6')],
          labels: allBut('order', 'o8', 'o9'),
        },
        {
          kind: 'line',
          domain: [['order', '=', null]],
          sql: 'SELECT l.id FROM rdom_line l WHERE l.order_ref IS NULL',
          labels: ['l5'],
        },
        {
          kind: 'line',
          domain: [['order', '!=', id('o1')]],
          sql: 'SELECT l.id FROM rdom_line l WHERE l.order_ref IS NULL OR l.order_ref <> ?',
          args: [id('o1')],
          labels: allBut('line', 'l1', 'l2'),
        },
        {
          kind: 'customer',
          domain: [['referrer', 'in', [id('c1'), id('c2'), id('c3')]]],
          sql: 'SELECT c.id FROM rdom_customer c WHERE c.referrer_id IN (?, ?, ?)',
          args: [id('c1'), id('c2'), id('c3')],
          labels: ['c2', 'c3', 'c4'],
        },
      ]);
    });

    it("a bare x2many: ['tags', 'in', ids] is ['tags.id', 'in', ids]; not in / != mean none of those (records without any included)", async () => {
      const { id } = fx;
      await expectCases([
        {
          kind: 'order',
          domain: [['tags', 'in', [id('urgent'), id('eu')]]],
          sql: 'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_order_tag r ON r.ord = o.id WHERE r.tag IN (?, ?)',
          args: [id('urgent'), id('eu')],
          labels: ['o1', 'o4', 'o8'],
        },
        {
          kind: 'order',
          domain: [['tags', 'not in', [id('urgent'), id('eu')]]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE NOT EXISTS (SELECT 1 FROM rdom_order_tag r WHERE r.ord = o.id AND r.tag IN (?, ?))',
          args: [id('urgent'), id('eu')],
          labels: ['o2', 'o3', 'o5', 'o6', 'o7', 'o9'],
        },
        {
          kind: 'order',
          domain: [['tags', '=', id('gift')]],
          sql: 'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_order_tag r ON r.ord = o.id WHERE r.tag = ?',
          args: [id('gift')],
          labels: ['o1', 'o3', 'o8'],
        },
        {
          kind: 'order',
          domain: [['tags', '!=', id('gift')]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE NOT EXISTS (SELECT 1 FROM rdom_order_tag r WHERE r.ord = o.id AND r.tag = ?)',
          args: [id('gift')],
          labels: ['o2', 'o4', 'o5', 'o6', 'o7', 'o9'],
        },
        {
          kind: 'order',
          domain: ['!', ['tags', '!=', id('gift')]],
          sql: 'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_order_tag r ON r.ord = o.id WHERE r.tag = ?',
          args: [id('gift')],
          labels: ['o1', 'o3', 'o8'],
        },
        { kind: 'order', domain: [['tags', 'in', []]], sql: 'SELECT o.id FROM rdom_orders o WHERE 1 = 0', labels: [] },
        { kind: 'order', domain: [['tags', 'not in', []]], sql: 'SELECT o.id FROM rdom_orders o', labels: ALL.order },
        {
          kind: 'order',
          domain: [['tags', 'in', [id('unused')]]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE 1 = 0',
          labels: [],
        },
        {
          kind: 'order',
          domain: [['lines', 'in', [id('l1'), id('l3')]]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE EXISTS (SELECT 1 FROM rdom_line l WHERE l.order_ref = o.id AND l.id IN (?, ?))',
          args: [id('l1'), id('l3')],
          labels: ['o1', 'o2'],
        },
        {
          kind: 'order',
          domain: [['lines', 'not in', [id('l1')]]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE NOT EXISTS (SELECT 1 FROM rdom_line l WHERE l.order_ref = o.id AND l.id = ?)',
          args: [id('l1')],
          labels: allBut('order', 'o1'),
        },
        {
          kind: 'order',
          domain: [['lines', '=', id('l7')]],
          sql: 'SELECT l.order_ref AS id FROM rdom_line l WHERE l.id = ?',
          args: [id('l7')],
          labels: ['o8'],
        },
        {
          kind: 'order',
          domain: [['lines', '!=', id('l7')]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE o.id NOT IN (SELECT l.order_ref FROM rdom_line l WHERE l.id = ?)',
          args: [id('l7')],
          labels: allBut('order', 'o8'),
        },
        {
          kind: 'order',
          domain: [['lines', 'in', [id('l5')]]],
          sql: 'SELECT o.id FROM rdom_orders o WHERE 1 = 0',
          labels: [],
        },
        {
          kind: 'customer',
          domain: [['orders', 'not in', [id('o1')]]],
          sql: 'SELECT c.id FROM rdom_customer c WHERE NOT EXISTS (SELECT 1 FROM rdom_orders o WHERE o.customer_id = c.id AND o.id = ?)',
          args: [id('o1')],
          labels: allBut('customer', 'c1'),
        },
        {
          kind: 'customer',
          domain: [['orders', 'in', [id('o4'), id('o7')]]],
          sql: 'SELECT c.id FROM rdom_customer c WHERE 1 = 0',
          labels: [],
        },
        {
          kind: 'customer',
          domain: [['tags', 'in', [id('vip')]]],
          sql: 'SELECT c.id FROM rdom_customer c WHERE c.id IN (SELECT r.rdom_customer_id FROM rdom_customer_rdom_tag_rel r WHERE r.rdom_tag_id = ?)',
          args: [id('vip')],
          labels: ['c1', 'c4'],
        },
        {
          kind: 'customer',
          domain: [['tags', 'not in', [id('vip'), id('new')]]],
          sql:
            'SELECT c.id FROM rdom_customer c WHERE NOT EXISTS (SELECT 1 FROM rdom_customer_rdom_tag_rel r WHERE r.rdom_customer_id = c.id ' +
            'AND r.rdom_tag_id IN (?, ?))',
          args: [id('vip'), id('new')],
          labels: ['c3', 'c5'],
        },
        {
          kind: 'customer',
          domain: [['friends', '=', id('c1')]],
          sql: 'SELECT r.rdom_customer_id AS id FROM rdom_customer_rdom_customer_rel r WHERE r.friends_id = ?',
          args: [id('c1')],
          labels: ['c2', 'c4'],
        },
        {
          kind: 'customer',
          domain: [['friends', '!=', id('c1')]],
          sql: 'SELECT c.id FROM rdom_customer c WHERE NOT EXISTS (SELECT 1 FROM rdom_customer_rdom_customer_rel r WHERE r.rdom_customer_id = c.id AND r.friends_id = ?)',
          args: [id('c1')],
          labels: ['c1', 'c3', 'c5', 'c6'],
        },
        {
          kind: 'tag',
          domain: [['orders', 'in', [id('o1'), id('o6')]]],
          sql: 'SELECT DISTINCT r.tag AS id FROM rdom_order_tag r WHERE r.ord IN (?, ?)',
          args: [id('o1'), id('o6')],
          labels: ['urgent', 'gift', 'nameless'],
        },
      ]);
    });

    it('the bare forms find what their .id forms find', async () => {
      const { id } = fx;
      const lists = [
        [],
        [id('urgent')],
        [id('urgent'), id('eu')],
        [id('unused')],
        [id('gift'), id('nameless'), id('vip')],
      ];
      const got: unknown[] = [];
      const want: unknown[] = [];
      const orders = env.model(Order);
      for (const ids of lists) {
        got.push({
          ids,
          in: (await orders.search([['tags', 'in', ids]])).ids,
          notIn: (await orders.search([['tags', 'not in', ids]])).ids,
        });
        want.push({
          ids,
          in: (await orders.search([['tags.id', 'in', ids]])).ids,
          notIn: (await orders.search(['!', ['tags.id', 'in', ids]])).ids,
        });
      }
      for (const c of ['c1', 'c2', 'c5']) {
        got.push({
          c,
          eq: (await orders.search([['customer', '=', id(c)]])).ids,
          ne: (await orders.search([['customer', '!=', id(c)]])).ids,
        });
        want.push({
          c,
          eq: (await orders.search([['customer.id', '=', id(c)]])).ids,
          ne: (await orders.search(['!', ['customer.id', '=', id(c)]])).ids,
        });
      }
      expect(got).toEqual(want);
    });
  });

  describe('large id lists inside paths', () => {
    it('in / not in with 40,000 ids (more than SQLite binds in one statement) in a path and on a bare x2many', async () => {
      const { id } = fx;
      const missing = Array.from({ length: 40_000 }, (_, i) => 1_000_000 + i);
      // A failure is rethrown without its cause: the driver's error quotes all 40,000 values.
      const quiet = <T>(p: Promise<T>) => p.catch((e: Error) => Promise.reject(new Error(`${e.name}: ${e.message}`)));
      const orders = env.model(Order);
      const cases: ReadonlyArray<readonly [Domain, string, unknown[]]> = [
        [
          [['customer.id', 'in', [...missing, id('c1'), id('c6')]]],
          'SELECT o.id FROM rdom_orders o WHERE o.customer_id IN (?, ?)',
          [id('c1'), id('c6')],
        ],
        [
          ['!', ['customer.referrer', 'in', [...missing, id('c1')]]],
          'SELECT o.id FROM rdom_orders o WHERE NOT EXISTS (SELECT 1 FROM rdom_customer c WHERE c.id = o.customer_id AND c.referrer_id = ?)',
          [id('c1')],
        ],
        [
          [['tags', 'not in', [...missing, id('urgent')]]],
          'SELECT o.id FROM rdom_orders o WHERE NOT EXISTS (SELECT 1 FROM rdom_order_tag r WHERE r.ord = o.id AND r.tag = ?)',
          [id('urgent')],
        ],
        [
          [['lines.id', 'in', [id('l7'), ...missing]]],
          'SELECT l.order_ref AS id FROM rdom_line l WHERE l.id = ?',
          [id('l7')],
        ],
      ];
      const got: unknown[] = [];
      const want: unknown[] = [];
      for (const [domain, sql, args] of cases) {
        got.push({
          n: got.length,
          ids: (await quiet(orders.search(domain))).ids,
          count: await quiet(orders.searchCount(domain)),
        });
        const ids = await sqlIds(sql, args);
        want.push({ n: want.length, ids, count: ids.length });
      }
      expect(got).toEqual(want);
    });
  });

  describe('combinations', () => {
    it("'|', '&', '!' and implicit AND mixing paths, bare relations and plain leaves", async () => {
      const { id } = fx;
      await expectCases([
        {
          kind: 'order',
          domain: ['|', ['customer.name', '=', 'Alice'], ['amount', '>', 200]],
          sql: 'SELECT o.id FROM rdom_orders o LEFT JOIN rdom_customer c ON c.id = o.customer_id WHERE c.name = ? OR o.amount > ?',
          args: ['Alice', 200],
          labels: ['o1', 'o2', 'o4', 'o7'],
        },
        {
          kind: 'order',
          domain: ['&', ['tags.name', '=', 'gift'], '!', ['customer.country', '=', 'US']],
          sql:
            'SELECT o.id FROM rdom_orders o WHERE EXISTS (SELECT 1 FROM rdom_order_tag r JOIN rdom_tag g ON g.id = r.tag WHERE r.ord = o.id AND g.name = ?) ' +
            'AND NOT EXISTS (SELECT 1 FROM rdom_customer c WHERE c.id = o.customer_id AND c.country = ?)',
          args: ['gift', 'US'],
          labels: ['o1', 'o8'],
        },
        {
          kind: 'order',
          domain: ['!', '|', ['lines.product', '=', 'pen'], ['customer', '=', null]],
          sql:
            'SELECT o.id FROM rdom_orders o WHERE o.customer_id IS NOT NULL ' +
            'AND NOT EXISTS (SELECT 1 FROM rdom_line l WHERE l.order_ref = o.id AND l.product = ?)',
          args: ['pen'],
          labels: ['o3', 'o5', 'o6', 'o8', 'o9'],
        },
        {
          kind: 'order',
          domain: [
            ['customer.country', '=', 'FR'],
            ['amount', '!=', null],
            ['lines.qty', '>', 0],
          ],
          sql:
            'SELECT DISTINCT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id JOIN rdom_line l ON l.order_ref = o.id ' +
            'WHERE c.country = ? AND o.amount IS NOT NULL AND l.qty > ?',
          args: ['FR', 0],
          labels: ['o1', 'o2', 'o6'],
        },
        {
          kind: 'order',
          domain: ['|', ['ref', '=', null], '&', ['tags', '!=', id('urgent')], ['lines.qty', '>', 1]],
          sql:
            'SELECT o.id FROM rdom_orders o WHERE o.ref IS NULL OR (' +
            'NOT EXISTS (SELECT 1 FROM rdom_order_tag r WHERE r.ord = o.id AND r.tag = ?) ' +
            'AND EXISTS (SELECT 1 FROM rdom_line l WHERE l.order_ref = o.id AND l.qty > ?))',
          args: [id('urgent'), 1],
          labels: ['o2', 'o5', 'o6', 'o8'],
        },
        {
          kind: 'order',
          domain: ['!', '&', ['customer.name', 'ilike', 'a'], ['tags.name', '!=', 'gift']],
          sql:
            'SELECT o.id FROM rdom_orders o WHERE NOT (' +
            'EXISTS (SELECT 1 FROM rdom_customer c WHERE c.id = o.customer_id AND LOWER(c.name) LIKE ?) ' +
            'AND EXISTS (SELECT 1 FROM rdom_order_tag r JOIN rdom_tag g ON g.id = r.tag WHERE r.ord = o.id AND (g.name IS NULL OR g.name <> ?)))',
          args: ['%a%', 'gift'],
          labels: allBut('order', 'o1', 'o8'),
        },
        {
          kind: 'order',
          domain: ['|', '!', ['customer.referrer.name', '=', 'Alice'], ['customer.name', '=', 'Bob']],
          sql: 'SELECT o.id FROM rdom_orders o',
          labels: ALL.order,
        },
        {
          kind: 'order',
          domain: ['&', ['customer', '!=', null], '!', ['customer.orders.amount', '=', null]],
          sql:
            'SELECT o.id FROM rdom_orders o WHERE o.customer_id IS NOT NULL ' +
            'AND NOT EXISTS (SELECT 1 FROM rdom_orders s WHERE s.customer_id = o.customer_id AND s.amount IS NULL)',
          labels: ['o1', 'o2', 'o5', 'o6', 'o8', 'o9'],
        },
        {
          kind: 'order',
          domain: ['|', '!', ['customer.name', '=', 'Alice'], '!', ['lines.qty', '>', 4]],
          sql:
            'SELECT o.id FROM rdom_orders o LEFT JOIN rdom_customer c ON c.id = o.customer_id WHERE c.name IS NULL OR c.name <> ? ' +
            'OR NOT EXISTS (SELECT 1 FROM rdom_line l WHERE l.order_ref = o.id AND l.qty > ?)',
          args: ['Alice', 4],
          labels: allBut('order', 'o1', 'o2'),
        },
        {
          kind: 'customer',
          domain: [
            '|',
            ['orders.amount', '=', null],
            '&',
            ['country', '!=', 'FR'],
            '!',
            ['tags.name', 'in', ['eu', 'new']],
          ],
          sql:
            'SELECT c.id FROM rdom_customer c WHERE EXISTS (SELECT 1 FROM rdom_orders o WHERE o.customer_id = c.id AND o.amount IS NULL) ' +
            'OR ((c.country IS NULL OR c.country <> ?) AND NOT EXISTS (SELECT 1 FROM rdom_customer_rdom_tag_rel r ' +
            'JOIN rdom_tag g ON g.id = r.rdom_tag_id WHERE r.rdom_customer_id = c.id AND g.name IN (?, ?)))',
          args: ['FR', 'eu', 'new'],
          labels: ['c2', 'c3', 'c5'],
        },
      ]);
    });

    it('order, limit and offset apply to path domains', async () => {
      const got = (
        await env
          .model(Order)
          .search([['customer.country', 'in', ['FR', 'DE', 'US']]], { order: 'amount desc', limit: 2, offset: 1 })
      ).ids;
      // NULLs sort last in descending order on both databases.
      const want = await sqlIds(
        'SELECT o.id FROM rdom_orders o JOIN rdom_customer c ON c.id = o.customer_id WHERE c.country IN (?, ?, ?) ' +
          'ORDER BY CASE WHEN o.amount IS NULL THEN 1 ELSE 0 END, o.amount DESC, o.id LIMIT 2 OFFSET 1',
        ['FR', 'DE', 'US'],
        { sorted: false },
      );
      expect(got).toEqual(want);
      expect(got.map((i) => fx.label('order', i))).toEqual(['o2', 'o6']);
    });
  });

  describe('paths inside paths', () => {
    it('line -> order -> customer (and further), through every kind of relation', async () => {
      await expectCases([
        {
          kind: 'line',
          domain: [['order.customer.name', '=', 'Alice']],
          sql: 'SELECT l.id FROM rdom_line l JOIN rdom_orders o ON o.id = l.order_ref JOIN rdom_customer c ON c.id = o.customer_id WHERE c.name = ?',
          args: ['Alice'],
          labels: ['l1', 'l2', 'l3'],
        },
        {
          kind: 'line',
          domain: ['!', ['order.customer.name', '=', 'Alice']],
          sql:
            'SELECT l.id FROM rdom_line l LEFT JOIN rdom_orders o ON o.id = l.order_ref LEFT JOIN rdom_customer c ON c.id = o.customer_id ' +
            'WHERE c.id IS NULL OR c.name IS NULL OR c.name <> ?',
          args: ['Alice'],
          labels: ['l4', 'l5', 'l6', 'l7', 'l8'],
        },
        {
          kind: 'line',
          domain: [['order.customer.name', '!=', 'Alice']],
          sql:
            'SELECT l.id FROM rdom_line l JOIN rdom_orders o ON o.id = l.order_ref JOIN rdom_customer c ON c.id = o.customer_id ' +
            'WHERE c.name IS NULL OR c.name <> ?',
          args: ['Alice'],
          labels: ['l6', 'l7', 'l8'],
        },
        {
          kind: 'line',
          domain: [['order.customer.country', '!=', 'FR']],
          sql:
            'SELECT l.id FROM rdom_line l JOIN rdom_orders o ON o.id = l.order_ref JOIN rdom_customer c ON c.id = o.customer_id ' +
            'WHERE c.country IS NULL OR c.country <> ?',
          args: ['FR'],
          labels: ['l7', 'l8'],
        },
        {
          kind: 'line',
          domain: [['order.customer', '=', null]],
          sql: 'SELECT l.id FROM rdom_line l JOIN rdom_orders o ON o.id = l.order_ref WHERE o.customer_id IS NULL',
          labels: ['l4'],
        },
        {
          kind: 'line',
          domain: ['!', ['order.customer', '=', null]],
          sql: 'SELECT l.id FROM rdom_line l LEFT JOIN rdom_orders o ON o.id = l.order_ref WHERE o.id IS NULL OR o.customer_id IS NOT NULL',
          labels: allBut('line', 'l4'),
        },
        {
          kind: 'line',
          domain: [['order.customer', '=', fx.id('c1')]],
          sql: 'SELECT l.id FROM rdom_line l JOIN rdom_orders o ON o.id = l.order_ref WHERE o.customer_id = ?',
          args: [fx.id('c1')],
          labels: ['l1', 'l2', 'l3'],
        },
        {
          kind: 'line',
          domain: [['order.tags.name', '=', 'gift']],
          sql: 'SELECT DISTINCT l.id FROM rdom_line l JOIN rdom_order_tag r ON r.ord = l.order_ref JOIN rdom_tag g ON g.id = r.tag WHERE g.name = ?',
          args: ['gift'],
          labels: ['l1', 'l2', 'l7'],
        },
        {
          kind: 'line',
          domain: [['order.customer.tags.name', '=', 'vip']],
          sql:
            'SELECT DISTINCT l.id FROM rdom_line l JOIN rdom_orders o ON o.id = l.order_ref ' +
            'JOIN rdom_customer_rdom_tag_rel r ON r.rdom_customer_id = o.customer_id JOIN rdom_tag g ON g.id = r.rdom_tag_id WHERE g.name = ?',
          args: ['vip'],
          labels: ['l1', 'l2', 'l3', 'l6'],
        },
        {
          kind: 'line',
          domain: ['!', ['order.customer.tags.name', '=', 'vip']],
          sql:
            'SELECT l.id FROM rdom_line l WHERE NOT EXISTS (SELECT 1 FROM rdom_orders o JOIN rdom_customer_rdom_tag_rel r ON r.rdom_customer_id = o.customer_id ' +
            'JOIN rdom_tag g ON g.id = r.rdom_tag_id WHERE o.id = l.order_ref AND g.name = ?)',
          args: ['vip'],
          labels: ['l4', 'l5', 'l7', 'l8'],
        },
        {
          kind: 'line',
          domain: [['order.tags', 'not in', [fx.id('urgent')]]],
          sql:
            'SELECT l.id FROM rdom_line l JOIN rdom_orders o ON o.id = l.order_ref ' +
            'WHERE NOT EXISTS (SELECT 1 FROM rdom_order_tag r WHERE r.ord = o.id AND r.tag = ?)',
          args: [fx.id('urgent')],
          labels: ['l3', 'l6', 'l7', 'l8'],
        },
        {
          kind: 'line',
          domain: ['!', ['order.tags', 'not in', [fx.id('urgent')]]],
          sql:
            'SELECT l.id FROM rdom_line l WHERE l.order_ref IS NULL ' +
            'OR EXISTS (SELECT 1 FROM rdom_order_tag r WHERE r.ord = l.order_ref AND r.tag = ?)',
          args: [fx.id('urgent')],
          labels: ['l1', 'l2', 'l4', 'l5'],
        },
        {
          kind: 'line',
          domain: [['order.lines.product', '=', 'ink']],
          sql: 'SELECT DISTINCT l.id FROM rdom_line l JOIN rdom_line s ON s.order_ref = l.order_ref WHERE s.product = ?',
          args: ['ink'],
          labels: ['l1', 'l2', 'l7'],
        },
        {
          kind: 'line',
          domain: [['order.customer.referrer.name', '=', 'Bob']],
          sql:
            'SELECT l.id FROM rdom_line l JOIN rdom_orders o ON o.id = l.order_ref JOIN rdom_customer c ON c.id = o.customer_id ' +
            'JOIN rdom_customer r ON r.id = c.referrer_id WHERE r.name = ?',
          args: ['Bob'],
          labels: ['l8'],
        },
        {
          kind: 'line',
          domain: [['order.customer.referrer.referrer.referrer.name', '=', 'Alice']],
          sql:
            'SELECT l.id FROM rdom_line l JOIN rdom_orders o ON o.id = l.order_ref JOIN rdom_customer c ON c.id = o.customer_id ' +
            'JOIN rdom_customer r1 ON r1.id = c.referrer_id JOIN rdom_customer r2 ON r2.id = r1.referrer_id ' +
            'JOIN rdom_customer r3 ON r3.id = r2.referrer_id WHERE r3.name = ?',
          args: ['Alice'],
          labels: ['l6'],
        },
        {
          kind: 'line',
          domain: ['|', ['order.customer.name', '=', 'Alice'], ['order', '=', null]],
          sql:
            'SELECT l.id FROM rdom_line l LEFT JOIN rdom_orders o ON o.id = l.order_ref LEFT JOIN rdom_customer c ON c.id = o.customer_id ' +
            'WHERE l.order_ref IS NULL OR c.name = ?',
          args: ['Alice'],
          labels: ['l1', 'l2', 'l3', 'l5'],
        },
        {
          kind: 'customer',
          domain: [['orders.lines.product', '=', 'pen']],
          sql: 'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_orders o ON o.customer_id = c.id JOIN rdom_line l ON l.order_ref = o.id WHERE l.product = ?',
          args: ['pen'],
          labels: ['c1'],
        },
        {
          kind: 'customer',
          domain: ['!', ['orders.lines.product', '=', 'pen']],
          sql:
            'SELECT c.id FROM rdom_customer c WHERE NOT EXISTS (SELECT 1 FROM rdom_orders o JOIN rdom_line l ON l.order_ref = o.id ' +
            'WHERE o.customer_id = c.id AND l.product = ?)',
          args: ['pen'],
          labels: allBut('customer', 'c1'),
        },
        {
          kind: 'customer',
          domain: [['orders.lines.qty', 'not in', [1]]],
          sql:
            'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_orders o ON o.customer_id = c.id JOIN rdom_line l ON l.order_ref = o.id ' +
            'WHERE l.qty IS NULL OR l.qty <> ?',
          args: [1],
          labels: ['c1', 'c4', 'c6'],
        },
        {
          kind: 'customer',
          domain: [['orders.tags.name', '=', 'gift']],
          sql:
            'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_orders o ON o.customer_id = c.id JOIN rdom_order_tag r ON r.ord = o.id ' +
            'JOIN rdom_tag g ON g.id = r.tag WHERE g.name = ?',
          args: ['gift'],
          labels: ['c1', 'c2', 'c6'],
        },
        {
          kind: 'customer',
          domain: ['!', ['orders.tags.name', '=', 'gift']],
          sql:
            'SELECT c.id FROM rdom_customer c WHERE NOT EXISTS (SELECT 1 FROM rdom_orders o JOIN rdom_order_tag r ON r.ord = o.id ' +
            'JOIN rdom_tag g ON g.id = r.tag WHERE o.customer_id = c.id AND g.name = ?)',
          args: ['gift'],
          labels: ['c3', 'c4', 'c5'],
        },
        {
          kind: 'customer',
          domain: [['orders.customer.name', '=', 'Bob']],
          sql: 'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_orders o ON o.customer_id = c.id WHERE c.name = ?',
          args: ['Bob'],
          labels: ['c2'],
        },
        {
          kind: 'customer',
          domain: [['referred.orders.amount', '>', 100]],
          sql: 'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_customer k ON k.referrer_id = c.id JOIN rdom_orders o ON o.customer_id = k.id WHERE o.amount > ?',
          args: [100],
          labels: ['c5'],
        },
        {
          kind: 'customer',
          domain: [['referrer.tags.name', '=', 'vip']],
          sql:
            'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_customer_rdom_tag_rel r ON r.rdom_customer_id = c.referrer_id ' +
            'JOIN rdom_tag g ON g.id = r.rdom_tag_id WHERE g.name = ?',
          args: ['vip'],
          labels: ['c2'],
        },
        {
          kind: 'customer',
          domain: [['friends.orders.amount', '>=', 150]],
          sql:
            'SELECT DISTINCT c.id FROM rdom_customer c JOIN rdom_customer_rdom_customer_rel r ON r.rdom_customer_id = c.id ' +
            'JOIN rdom_orders o ON o.customer_id = r.friends_id WHERE o.amount >= ?',
          args: [150],
          labels: ['c2', 'c4'],
        },
        {
          kind: 'tag',
          domain: [['orders.lines.product', '=', 'pen']],
          sql: 'SELECT DISTINCT g.id FROM rdom_tag g JOIN rdom_order_tag r ON r.tag = g.id JOIN rdom_line l ON l.order_ref = r.ord WHERE l.product = ?',
          args: ['pen'],
          labels: ['urgent', 'gift'],
        },
        {
          kind: 'tag',
          domain: [['orders.customer.tags.name', '=', 'eu']],
          sql:
            'SELECT DISTINCT g.id FROM rdom_tag g JOIN rdom_order_tag r ON r.tag = g.id JOIN rdom_orders o ON o.id = r.ord ' +
            'JOIN rdom_customer_rdom_tag_rel cr ON cr.rdom_customer_id = o.customer_id JOIN rdom_tag ct ON ct.id = cr.rdom_tag_id WHERE ct.name = ?',
          args: ['eu'],
          labels: ['eu', 'urgent', 'gift'],
        },
        {
          kind: 'tag',
          domain: ['!', ['orders.customer.name', '!=', null]],
          sql:
            'SELECT g.id FROM rdom_tag g WHERE NOT EXISTS (SELECT 1 FROM rdom_order_tag r JOIN rdom_orders o ON o.id = r.ord ' +
            'JOIN rdom_customer c ON c.id = o.customer_id WHERE r.tag = g.id AND c.name IS NOT NULL)',
          labels: ['vip', 'new', 'nameless', 'unused'],
        },
      ]);
    });
  });

  describe('random domains composed from hand-written leaf predicates', () => {
    it.each([['order', 'o', 'rdom_orders', 1] as const, ['line', 'l', 'rdom_line', 2] as const])(
      '%s: search, its complement and searchCount agree with the composed SQL',
      async (kind, alias, table, seedNo) => {
        const leaves = kind === 'order' ? orderLeaves(fx) : lineLeaves(fx);
        const rand = mulberry32(0x5eed + seedNo);
        const got: unknown[] = [];
        const want: unknown[] = [];
        for (let i = 0; i < 120; i++) {
          const { domain, sql, args } = randomDomain(rand, leaves, 3);
          const model = api(kind);
          const pos = (await model.search(domain)).ids;
          const neg = (await model.search(negate(domain))).ids;
          const count = await model.searchCount(domain);
          const sqlPos = await sqlIds(`SELECT ${alias}.id FROM ${table} ${alias} WHERE ${sql}`, args);
          const sqlNeg = await sqlIds(`SELECT ${alias}.id FROM ${table} ${alias} WHERE NOT (${sql})`, args);
          got.push({ domain, pos, neg, count });
          want.push({ domain, pos: sqlPos, neg: sqlNeg, count: sqlPos.length });
        }
        expect(got).toEqual(want);
      },
    );

    it('each leaf of the pools alone, and negated', async () => {
      const got: unknown[] = [];
      const want: unknown[] = [];
      for (const [kind, alias, table, leaves] of [
        ['order', 'o', 'rdom_orders', orderLeaves(fx)],
        ['line', 'l', 'rdom_line', lineLeaves(fx)],
      ] as const) {
        for (const { leaf, sql, args } of leaves) {
          const model = api(kind);
          got.push({
            leaf,
            pos: (await model.search([leaf])).ids,
            neg: (await model.search(['!', leaf])).ids,
            count: await model.searchCount([leaf]),
          });
          const pos = await sqlIds(`SELECT ${alias}.id FROM ${table} ${alias} WHERE ${sql}`, args);
          const neg = await sqlIds(`SELECT ${alias}.id FROM ${table} ${alias} WHERE NOT (${sql})`, args);
          want.push({ leaf, pos, neg, count: pos.length });
        }
      }
      expect(got).toEqual(want);
    });
  });

  describe('errors', () => {
    it('bad paths, bad operators on bare relations and bad values are DomainErrors naming the term, with no SQL', async () => {
      const { id } = fx;
      const BAD: ReadonlyArray<readonly [Kind, unknown, RegExp]> = [
        ['order', [['customer.nope', '=', 1]], /domain term 0 .*unknown field "nope" on model "rdom_customer"/],
        ['order', [['nope.name', '=', 'x']], /unknown field "nope" on model "rdom_order"/],
        ['line', [['order.customer.nope', '=', 1]], /unknown field "nope" on model "rdom_customer"/],
        [
          'order',
          [['amount.x', '=', 1]],
          /"amount" on model "rdom_order" is not a relation, cannot follow "amount\.x"/,
        ],
        ['order', [['customer.name.first', '=', 'x']], /"name" on model "rdom_customer" is not a relation/],
        ['order', [['id.x', '=', 1]], /"id" on model "rdom_order" is not a relation/],
        ['order', [['.name', '=', 'x']], /unknown field "" on model "rdom_order"/],
        ['order', [['customer.', '=', 'x']], /unknown field "" on model "rdom_customer"/],
        ['order', [['customer..name', '=', 'x']], /unknown field "" on model "rdom_customer"/],
        ['order', ['|', ['amount', '>', 1], ['customer.nope', '=', 1]], /domain term 2 .*unknown field "nope"/],
        ['order', ['!', ['tags.nope', '=', 1]], /domain term 1 .*unknown field "nope" on model "rdom_tag"/],
        ['order', [['customer', 'like', 'A']], /a many2one compares with =, !=, in and not in/],
        ['order', [['customer', 'not like', 'A']], /a many2one compares with/],
        ['order', [['customer', 'ilike', 'A']], /a many2one compares with/],
        ['order', [['customer', 'not ilike', 'A']], /a many2one compares with/],
        ['order', [['customer', '=like', 'A%']], /a many2one compares with/],
        ['order', [['customer', '=ilike', 'A%']], /a many2one compares with/],
        ['order', [['customer', '>', 1]], /a many2one compares with/],
        ['order', [['customer', '<=', 1]], /a many2one compares with/],
        ['order', [['customer.referrer', '<', 1]], /a many2one compares with/],
        ['line', [['order', '>=', 1]], /a many2one compares with/],
        ['order', [['tags', 'like', 'x']], /an x2many compares with =, !=, in and not in/],
        ['order', [['tags', '>', 1]], /an x2many compares with/],
        ['order', [['lines', '<', 1]], /an x2many compares with/],
        ['customer', [['orders', 'ilike', 'x']], /an x2many compares with/],
        ['line', [['order.tags', '=ilike', 'x']], /an x2many compares with/],
        ['order', [['customer', '=', 'Alice']], /invalid key of "rdom_customer": expected an integer key, got string/],
        ['order', [['customer', '=', 0]], /invalid key of "rdom_customer": generated keys start at 1/],
        [
          'order',
          [['customer', '=', env.model(Tag).browse(id('vip'))]],
          /expected records of "rdom_customer", got "rdom_tag"/,
        ],
        ['order', [['customer', '=', env.model(Customer).browse([id('c1'), id('c2')])]], /a many2one takes one record/],
        ['order', [['customer', 'in', 5]], /needs an array/],
        ['order', [['customer', 'in', [id('c1'), 'x']]], /expected an integer key, got string/],
        ['order', [['tags', 'in', 'x']], /needs an array/],
        ['order', [['tags', '=', 'x']], /expected a safe integer/],
        ['order', [['customer.name', '=', 5]], /expected a string/],
        ['order', [['customer.name', 'like', null]], /needs a string/],
        ['order', [['lines.qty', '>', null]], /cannot compare with null/],
        ['order', [['customer.orders.amount', 'like', 'x']], /string fields only/],
      ];
      const got: unknown[] = [];
      const queries = await countQueries(env, async () => {
        for (const [kind, domain] of BAD) {
          const viaSearch = await api(kind)
            .search(domain as Domain)
            .then(
              () => null,
              (e: unknown) => e,
            );
          const viaCount = await api(kind)
            .searchCount(domain as Domain)
            .then(
              () => null,
              (e: unknown) => e,
            );
          got.push({
            domain,
            search: viaSearch instanceof DomainError ? viaSearch.message : `not a DomainError: ${String(viaSearch)}`,
            searchCount: viaCount instanceof DomainError ? viaCount.message : `not a DomainError: ${String(viaCount)}`,
          });
        }
      });
      expect(got).toEqual(
        BAD.map(([, domain, message]) => ({
          domain,
          search: expect.stringMatching(message),
          searchCount: expect.stringMatching(message),
        })),
      );
      expect(queries).toBe(0);
      // the env is still usable
      expect(await env.model(Order).searchCount([['customer.name', '=', 'Alice']])).toBe(2);
    });
  });
});
