import { mkdir } from 'node:fs/promises';
import type { PGlite } from '@electric-sql/pglite';
import type { DataSourceOptions } from 'typeorm';
import { migrations } from '../../migrations/index.js';
import { type AppConfig, dataPath } from '../config/app-config.js';
import { createEmbedded } from './embedded.js';
import { pgliteDriver } from './pglite-pool.js';

export interface DatabaseOverrides {
  /** A PGlite data directory dump to start the embedded database from (tests clone a migrated template). */
  embeddedSeed?: Blob;
  /** Entities to register (the app auto-loads them from feature modules instead). */
  entities?: DataSourceOptions['entities'];
  /**
   * An open PGlite database to use instead of opening one (several app instances in one
   * process, as in the multi-instance tests). The app never closes it: its owner does.
   */
  embeddedDatabase?: PGlite;
}

export async function openEmbeddedDatabase(dataDir: string, seed?: Blob): Promise<PGlite> {
  const path = dataPath(dataDir, 'pglite');
  if (path) await mkdir(path, { recursive: true });
  return createEmbedded(path, seed ? { loadDataDir: seed } : {});
}

export const baseDatabaseOptions = {
  type: 'postgres',
  synchronize: false,
  migrations,
  migrationsTransactionMode: 'each',
  // An undefined or null value in a `where` must never silently match every row.
  invalidWhereValuesBehavior: { null: 'throw', undefined: 'throw' },
  // gen_random_uuid() is built into PostgreSQL 13+, so no extension is needed on either engine.
  uuidExtension: 'pgcrypto',
  installExtensions: false,
  logging: false,
} as const;

/**
 * TypeORM options for the configured engine: PostgreSQL through `pg` when
 * DATABASE_URL is set, otherwise PGlite (in-process PostgreSQL) under DATA_DIR.
 */
export async function createDatabaseOptions(
  config: AppConfig,
  overrides: DatabaseOverrides = {},
): Promise<DataSourceOptions> {
  const base = {
    ...baseDatabaseOptions,
    migrationsRun: config.database.migrationsRun,
    entities: overrides.entities ?? [],
  };
  if (config.database.url) {
    return { ...base, url: config.database.url, poolSize: 10, applicationName: 'atrium' };
  }
  if (overrides.embeddedDatabase) {
    return { ...base, driver: pgliteDriver(overrides.embeddedDatabase, async () => undefined), database: 'postgres' };
  }
  const db = await openEmbeddedDatabase(config.database.dataDir, overrides.embeddedSeed);
  return { ...base, driver: pgliteDriver(db, () => db.close()), database: 'postgres' };
}
