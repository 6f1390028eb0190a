/**
 * The contract between the benchmark runner and each contender (proxorm in its three
 * modes, hand-written knex, and the peer ORMs in benchmarks/peers/).
 *
 * The runner creates and seeds the tables (seed.ts) once; a contender maps its models
 * onto those tables, never creates or alters them, and runs each workload as its
 * documentation recommends. Every workload returns a checksum that must equal the
 * hand-written knex one, so no contender can win by doing less.
 */

export type DbKind = 'sqlite' | 'mysql' | 'postgres';

/** A database server's connection settings, for libraries that want an object. */
export interface ServerSettings {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** Where the seeded data lives. */
export interface BenchDb {
  readonly kind: DbKind;
  /** SQLite: path of the database file (every contender opens it itself). */
  readonly sqliteFile?: string;
  /** MySQL/MariaDB: mysql://user:pw@host:port/db */
  readonly mysqlUrl?: string;
  /** Parsed MySQL connection settings. */
  readonly mysql?: ServerSettings;
  /** PostgreSQL: postgres://user:pw@host:port/db */
  readonly pgUrl?: string;
  /** Parsed PostgreSQL connection settings. */
  readonly pg?: ServerSettings;
}

/**
 * The workloads. Data (see seed.ts): 1,000 users; 100 customers; 1,000 orders, 10 per
 * customer. Every workload starts from a cold unit of work (a new proxorm fork, a new
 * MikroORM fork of the EntityManager, ...), except (d).
 *
 * a  search all users (ordered by id), read name, email and age of each.
 *    checksum: sum over users of (name.length + email.length + age)
 * b  all orders (ordered by id) -> each order's customer name.
 *    checksum: sum of customer name lengths over the orders
 * c  all customers (ordered by id) -> their orders -> each order's amount.
 *    checksum: sum of amounts (integers stored in a float column)
 * d  workload b twice in the same unit of work; only the second run is timed.
 *    checksum: as b
 * e  load all users (ordered by id) through the ORM, set age = 42 on all of them
 *    through the ORM (its bulk form if it has one), then read every user's age back
 *    from the same loaded objects / unit of work. The runner resets ages afterwards.
 *    checksum: sum of the ages read back (42,000)
 * f  all users (ordered by id) as plain objects { id, name, email, age }.
 *    checksum: sum over users of (id + name.length + email.length + age)
 */
export type WorkloadId = 'a' | 'b' | 'c' | 'd' | 'e' | 'f';

export const WORKLOADS: Readonly<Record<WorkloadId, string>> = {
  a: 'search 1,000 users, read 3 fields',
  b: '1,000 orders -> customer name',
  c: '100 customers -> orders -> amount',
  d: 'b again on a warm unit of work',
  e: 'write a field on 1,000 rows, read back',
  f: 'toDict / plain objects of 1,000 users',
};

export interface Contender {
  /** e.g. "TypeORM (lazy relations)". */
  readonly name: string;
  /** Connects and maps models onto the seeded tables. Called once per run. */
  setup(db: BenchDb): Promise<void>;
  /**
   * The workloads this contender runs (each returns the checksum). d is in two steps:
   * the untimed first step opens a unit of work and runs b in it, and returns the timed
   * second step, which runs b again in that same unit of work.
   */
  readonly workloads: Partial<Record<Exclude<WorkloadId, 'd'>, () => Promise<number>>> & {
    d?: () => Promise<() => Promise<number>>;
  };
  /** Closes connections. */
  teardown(): Promise<void>;
}

/**
 * Thrown by a contender's setup when it cannot run on this database at all (the library
 * has no support for it), as opposed to failing: the runner reports the contender as
 * "not available" and runs the others.
 */
export class NotAvailableError extends Error {
  override readonly name = 'NotAvailableError';
}

/** A module under benchmarks/peers/ exports the contenders it defines (e.g. lazy and eager forms). */
export type ContenderModule = { contenders: Contender[] };
