import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations/index.js';
import {
  adminQuery,
  emptyDataSource,
  postgresUrl,
  TEMPLATE_DB,
  TEMPLATE_ENV,
  TEST_DB_PREFIX,
  withDatabase,
} from './test-database.js';

async function dropLeftoverDatabases(): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
      `${TEST_DB_PREFIX}%`,
    ]);
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Migrates one template database; every test file then starts from its own copy. */
export default async function globalSetup(): Promise<void> {
  const base = postgresUrl();
  if (base) {
    await dropLeftoverDatabases();
    await adminQuery(`CREATE DATABASE "${TEMPLATE_DB}"`);
    const ds = await new DataSource({
      type: 'postgres',
      url: withDatabase(base, TEMPLATE_DB),
      migrations,
      migrationsTransactionMode: 'each',
      installExtensions: false,
    }).initialize();
    await ds.runMigrations();
    await ds.destroy();
    process.env[TEMPLATE_ENV] = TEMPLATE_DB;
    return;
  }
  const { dataSource, dump: dumpDataDir, drop } = await emptyDataSource();
  await dataSource.runMigrations();
  const dump = await dumpDataDir!();
  await drop();
  const file = join(tmpdir(), `atrium-test-template-${process.pid}.tar`);
  await writeFile(file, Buffer.from(await dump.arrayBuffer()));
  process.env[TEMPLATE_ENV] = file;
}
