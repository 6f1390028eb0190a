/**
 * The PostgreSQL server the benchmark runs on: a URL given by the caller, or the default
 * database on the local server, created when it does not exist yet (the runner drops and
 * recreates its bench_* tables, so it never runs in a database it did not ask for unless
 * given one).
 */
import { Client } from 'pg';
import type { BenchDb, ServerSettings } from './types';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/proxorm_bench';

/** SQLSTATE 3D000: the database named in the connection does not exist. */
const INVALID_CATALOG_NAME = '3D000';

function settings(url: URL): ServerSettings {
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
  };
}

/** Connects once, returns the server's version; creates the default database if missing. */
export async function openPostgres(given: string | undefined): Promise<{ db: BenchDb; version: string }> {
  const pgUrl = given ?? DEFAULT_PG_URL;
  const pg = settings(new URL(pgUrl));
  if (!pg.database) throw new Error('--pg-url must name a database (postgres://user@host:port/db)');
  const version = await serverVersion(pg).catch(async (e: Error & { code?: string }) => {
    if (given !== undefined || e.code !== INVALID_CATALOG_NAME) throw e;
    const admin = new Client({ ...pg, database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(pg.database)}`);
    } finally {
      await admin.end();
    }
    return serverVersion(pg);
  });
  return { db: { kind: 'postgres', pgUrl, pg }, version };
}

async function serverVersion(pg: ServerSettings): Promise<string> {
  const client = new Client(pg);
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0].server_version.split(' ')[0];
  } finally {
    await client.end();
  }
}
