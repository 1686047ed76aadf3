import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { baseDatabaseOptions, type DatabaseOverrides } from '../../src/database/database-options.js';
import { createEmbedded } from '../../src/database/embedded.js';
import { pgliteDriver } from '../../src/database/pglite-pool.js';

/** Every database a test run creates starts with this and the run's id (global teardown drops them). */
export const TEST_DB_PREFIX = 'atrium_test_';

function runId(): string {
  const run = process.env.ATRIUM_TEST_RUN;
  if (!run) throw new Error('ATRIUM_TEST_RUN is not set: run the tests through jest (npm test)');
  return run;
}

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
  /** REDIS_PREFIX for the apps on this database: files sharing one Redis never see each other's keys or events. */
  redisPrefix: string;
  drop(): Promise<void>;
}

/**
 * The migrated template of this Jest worker, built by the first test file the
 * worker runs: a PGlite data-directory dump, or a PostgreSQL template database.
 * A worker runs one file at a time, so there is no race.
 */
async function workerTemplate(): Promise<string> {
  const run = runId();
  const worker = process.env.JEST_WORKER_ID ?? '1';
  const base = postgresUrl();
  if (base) {
    const name = `${TEST_DB_PREFIX}${run}_template_${worker}`;
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      const { rowCount } = await client.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name]);
      if (rowCount) return name;
    } finally {
      await client.end();
    }
    await adminQuery(`CREATE DATABASE "${name}"`);
    const ds = await new DataSource({ ...baseDatabaseOptions, url: withDatabase(base, name) }).initialize();
    await ds.runMigrations();
    await ds.destroy();
    return name;
  }
  const file = join(tmpdir(), `atrium-test-${run}-${worker}.tar`);
  if (existsSync(file)) return file;
  const { dataSource, dump, drop } = await emptyDataSource();
  await dataSource.runMigrations();
  const tarball = await dump!();
  await drop();
  await writeFile(file, Buffer.from(await tarball.arrayBuffer()));
  return file;
}

/** A fresh database for one test file, cloned from the migrated template. */
export async function cloneTemplateDatabase(): Promise<TestDatabase> {
  const template = await workerTemplate();
  const base = postgresUrl();
  if (base) {
    const name = `${TEST_DB_PREFIX}${runId()}_${process.pid}_${randomBytes(4).toString('hex')}`;
    await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
    return {
      url: withDatabase(base, name),
      overrides: {},
      redisPrefix: `atrium-test:${name}`,
      drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    };
  }
  const seed = new Blob([await readFile(template)]);
  return { overrides: { embeddedSeed: seed }, redisPrefix: embeddedRedisPrefix(), drop: async () => undefined };
}

function embeddedRedisPrefix(): string {
  return `atrium-test:embedded_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/**
 * One database for several app instances at once (the multi-instance tests): on
 * PostgreSQL a clone they all connect to; on the embedded engine one open PGlite
 * instance they all use (each app is handed it and leaves it open). Its owner drops it.
 */
export async function cloneSharedTemplateDatabase(): Promise<TestDatabase> {
  const database = await cloneTemplateDatabase();
  if (database.url) return database;
  const db = await createEmbedded(undefined, { loadDataDir: database.overrides.embeddedSeed });
  return {
    overrides: { embeddedDatabase: db },
    redisPrefix: database.redisPrefix,
    drop: async () => {
      if (!db.closed) await db.close();
    },
  };
}

/** A data source on a brand-new, empty database (no migrations run), for migration tests. */
export interface EmptyDatabase {
  dataSource: DataSource;
  drop(): Promise<void>;
  /** Embedded engine only: the data directory as a tarball, to seed other instances. */
  dump?: () => Promise<Blob>;
}

export async function emptyDataSource(): Promise<EmptyDatabase> {
  const common = baseDatabaseOptions;
  const base = postgresUrl();
  if (base) {
    const name = `${TEST_DB_PREFIX}${runId()}_empty_${process.pid}_${randomBytes(4).toString('hex')}`;
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
  const db = await createEmbedded();
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
