import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config.js';
import { createDatabaseOptions } from './database-options.js';

// The data source of `npm run migration:*` (TypeORM CLI, run from dist/). It reads the
// same environment as the server; stop the server first when using the embedded database.
if (existsSync('.env')) process.loadEnvFile('.env');
const entities = [join(dirname(fileURLToPath(import.meta.url)), '..', '**', '*.entity.js')];
const options = await createDatabaseOptions(loadConfig(process.env), { entities });

export default new DataSource({ ...options, migrationsRun: false });
