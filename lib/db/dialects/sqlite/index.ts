import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import knexFactory from 'knex';
import { ValidationError } from '../../../errors';
import type { DialectModule } from '../../dialect';
import { assertDriverInstalled } from '../../drivers';
import { probe } from '../common/probe';
import { SQLITE_DRIVER, sqliteKnexConfig } from './client';
import { sqliteDialect } from './dialect';

/** Embedded SQLite (the default): `filename` defaults to ':memory:'. */
export interface SqliteConfig {
  client?: 'sqlite' | 'better-sqlite3';
  filename?: string;
}

/**
 * SQLite through better-sqlite3, in one connection (an in-memory database exists once
 * per connection, and SQLite has a single writer anyway). Its identity is the file's
 * canonical path; an in-memory database is its pool's alone.
 */
export const sqliteModule: DialectModule = {
  name: 'sqlite',
  clients: ['sqlite', 'better-sqlite3'],
  optionKeys: ['client', 'filename'],
  driver: SQLITE_DRIVER,
  async open(config) {
    const filename = (config as SqliteConfig).filename ?? ':memory:';
    if (typeof filename !== 'string' || filename === '')
      throw new ValidationError('sqlite: filename must be a non-empty string');
    assertDriverInstalled(SQLITE_DRIVER, 'sqlite');
    const knex = knexFactory(sqliteKnexConfig(filename));
    await probe(knex, sqliteDialect, () => Promise.resolve(undefined));
    const memory = filename === ':memory:' || filename.startsWith('file::memory:');
    const identity = `sqlite:${memory ? `memory:${randomUUID()}` : realPath(filename)}`;
    return { knex, dialect: sqliteDialect, maxConnections: 1, identity };
  },
};

/** The file's canonical path (symlinks resolved: two paths to one file are one database). */
function realPath(filename: string): string {
  try {
    return fs.realpathSync(filename);
  } catch {
    return path.resolve(filename);
  }
}
