import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations/index.js';
import type { DatabaseOverrides } from '../../src/database/database-options.js';
import { pgliteDriver } from '../../src/database/pglite-pool.js';

/** Where global setup leaves the migrated template: a PGlite dump file, or a PostgreSQL database name. */
export const TEMPLATE_ENV = 'ATRIUM_TEST_TEMPLATE';
export const TEST_DB_PREFIX = 'atrium_test_';
export const TEMPLATE_DB = 'atrium_test_template';

export const postgresUrl = (): string | undefined => process.env.TEST_DATABASE_URL || undefined;

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  /** Set for PostgreSQL: the connection string of this file's own database. */
  url?: string;
  /** For the embedded engine: the migrated template to load. */
  overrides: DatabaseOverrides;
  drop(): Promise<void>;
}

/** A fresh database for one test file, cloned from the migrated template. */
export async function cloneTemplateDatabase(): Promise<TestDatabase> {
  const template = process.env[TEMPLATE_ENV];
  if (!template)
    throw new Error(`${TEMPLATE_ENV} is not set: run the tests through jest (global setup builds the template)`);
  const base = postgresUrl();
  if (base) {
    const name = `${TEST_DB_PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
    await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
    return {
      url: withDatabase(base, name),
      overrides: {},
      drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    };
  }
  const seed = new Blob([await readFile(template)]);
  return { overrides: { embeddedSeed: seed }, drop: async () => undefined };
}

/** A data source on a brand-new, empty database (no migrations run), for migration tests. */
export interface EmptyDatabase {
  dataSource: DataSource;
  drop(): Promise<void>;
  /** Embedded engine only: the data directory as a tarball, to seed other instances. */
  dump?: () => Promise<Blob>;
}

export async function emptyDataSource(): Promise<EmptyDatabase> {
  const common = {
    type: 'postgres' as const,
    migrations,
    migrationsTransactionMode: 'each' as const,
    uuidExtension: 'pgcrypto' as const,
    installExtensions: false,
  };
  const base = postgresUrl();
  if (base) {
    const name = `${TEST_DB_PREFIX}empty_${process.pid}_${randomBytes(4).toString('hex')}`;
    await adminQuery(`CREATE DATABASE "${name}"`);
    const dataSource = await new DataSource({ ...common, url: withDatabase(base, name) }).initialize();
    return {
      dataSource,
      drop: async () => {
        if (dataSource.isInitialized) await dataSource.destroy();
        await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      },
    };
  }
  const db = await PGlite.create();
  const dataSource = await new DataSource({
    ...common,
    driver: pgliteDriver(db, () => db.close()),
    database: 'postgres',
  }).initialize();
  return {
    dataSource,
    drop: async () => {
      if (dataSource.isInitialized) await dataSource.destroy();
    },
    dump: () => db.dumpDataDir('none'),
  };
}
