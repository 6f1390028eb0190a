/**
 * Each jest worker tests on databases of its own, so that two suites running at the same
 * time in two workers never drop each other's tables. Worker 1 (and every `--runInBand`
 * run) uses the databases of PROXORM_MYSQL_URL and PROXORM_PG_URL as given; worker N >= 2
 * uses the same server with `_wN` appended to the database's name. What a suite derives
 * from that name (`<name>_2` for openSecond, `<name>_chinook`) is then the worker's too.
 *
 * The global setup creates the workers' databases (setup/worker-databases-setup.ts); the
 * test environment (setup/test-environment.ts) points each worker's variables at its own.
 */

/** The variables that name a database server and, in the URL's path, the test database. */
export const DATABASE_URL_VARIABLES = ['PROXORM_MYSQL_URL', 'PROXORM_PG_URL'] as const;

/** Set in a worker whose variables point at its own databases (to the worker's number). */
const MARK = 'PROXORM_WORKER_DATABASES';

/** The name of worker `worker`'s database standing for `name`. */
export function workerDatabaseName(name: string, worker: number): string {
  return worker <= 1 ? name : `${name}_w${worker}`;
}

/** `url` with its database replaced by worker `worker`'s (worker 1: `url` itself). */
export function workerDatabaseUrl(url: string, worker: number): string {
  if (worker <= 1) return url;
  const parsed = new URL(url);
  const name = decodeURIComponent(parsed.pathname.slice(1));
  if (name === '') throw new Error('a test database URL names no database (its path is empty)');
  parsed.pathname = `/${encodeURIComponent(workerDatabaseName(name, worker))}`;
  return parsed.toString();
}

/** The number of the jest worker running this process (1 in the parent of a --runInBand run). */
export function jestWorker(env: NodeJS.ProcessEnv = process.env): number {
  const id = Number(env.JEST_WORKER_ID ?? '1');
  return Number.isInteger(id) && id >= 1 ? id : 1;
}

/** Points `env`'s database URLs at this worker's databases; a second call changes nothing. */
export function useWorkerDatabases(env: NodeJS.ProcessEnv = process.env): void {
  const worker = jestWorker(env);
  if (env[MARK] !== undefined) return;
  for (const variable of DATABASE_URL_VARIABLES) {
    const url = env[variable];
    if (url) env[variable] = workerDatabaseUrl(url, worker);
  }
  env[MARK] = String(worker);
}
