import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config.js';
import { baseDatabaseOptions, embeddedDataPath } from './database-options.js';
import { pgliteDriver } from './pglite-pool.js';

// The data source of `npm run migration:*` (TypeORM CLI, run from dist/). It reads the
// same environment as the server; stop the server first when using the embedded database.
if (existsSync('.env')) process.loadEnvFile('.env');
const config = loadConfig(process.env);
const entities = [join(dirname(fileURLToPath(import.meta.url)), '..', '**', '*.entity.js')];

function embedded() {
  const path = embeddedDataPath(config.database.dataDir);
  if (path) mkdirSync(path, { recursive: true });
  const db = new PGlite(path);
  return { driver: pgliteDriver(db, () => db.close()), database: 'postgres' };
}

export default new DataSource({
  ...baseDatabaseOptions,
  migrationsRun: false,
  entities,
  ...(config.database.url ? { url: config.database.url } : embedded()),
});
