import knexFactory from 'knex';
import { ValidationError } from '../../../errors';
import type { DialectModule } from '../../dialect';
import { assertDriverInstalled } from '../../drivers';
import { probe } from '../common/probe';
import { MYSQL_DRIVER, mysqlKnexConfig } from './client';
import { mysqlDialect, type MysqlServerInfo } from './dialect';

/** MySQL or MariaDB through mysql2: a `mysql://user:pw@host:port/db` URL or mysql2 options. */
export interface MysqlConfig {
  client: 'mysql2' | 'mysql';
  connection: string | Record<string, unknown>;
  /** Largest number of pooled connections (default 10). */
  poolMax?: number;
}

/**
 * MySQL / MariaDB through mysql2. The probe reads what the dialect depends on (the
 * server's flavour, how it numbers a multi-row INSERT's ids, its largest statement) and
 * the identity: the server's host name and port, and the schema, as the server reports
 * them (so that two names of one server agree; two servers alike in all three do not differ).
 */
export const mysqlModule: DialectModule = {
  name: 'mysql',
  clients: ['mysql2', 'mysql'],
  optionKeys: ['client', 'connection', 'poolMax'],
  driver: MYSQL_DRIVER,
  async open(config) {
    const { connection, poolMax = 10 } = config as Partial<MysqlConfig>;
    if (typeof connection !== 'string' && (typeof connection !== 'object' || connection === null)) {
      throw new ValidationError('mysql: `connection` must be a URL string or an options object');
    }
    assertDriverInstalled(MYSQL_DRIVER, 'mysql');
    const knex = knexFactory(mysqlKnexConfig(connection, poolMax));
    let info: MysqlServerInfo | undefined;
    let identity = '';
    // Until the server answers, errors are translated by a dialect of defaults.
    await probe(
      knex,
      mysqlDialect({ mariadb: true, autoincLockMode: 1, autoincIncrement: 1, maxAllowedPacket: 0 }),
      async () => {
        const [rows] = (await knex.raw(
          'SELECT VERSION() AS v, @@innodb_autoinc_lock_mode AS lockMode, @@auto_increment_increment AS step, @@max_allowed_packet AS packet, ' +
            '@@hostname AS host, @@port AS port, DATABASE() AS db',
        )) as [Array<ServerRow>];
        const r = rows[0];
        identity = `mysql:${JSON.stringify([r.host, Number(r.port), r.db])}`;
        info = {
          mariadb: /mariadb/i.test(r.v),
          autoincLockMode: Number(r.lockMode),
          autoincIncrement: Number(r.step),
          maxAllowedPacket: Number(r.packet),
        };
      },
    );
    return { knex, dialect: mysqlDialect(info!), maxConnections: poolMax, identity };
  },
};

/** The probe's one row. */
interface ServerRow {
  v: string;
  lockMode: number;
  step: number;
  packet: number | string;
  host: string;
  port: number;
  db: string | null;
}
