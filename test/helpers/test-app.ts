import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { createApp } from '../../src/app.factory.js';
import type { AppModuleOptions } from '../../src/app.module.js';
import { AppLogger, createPino } from '../../src/core/logging/logger.js';
import { loadConfig } from '../../src/config/app-config.js';
import { cloneTemplateDatabase, type TestDatabase } from './test-database.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-signing';
export const SUPER_ADMIN = { email: 'root@atrium.test', password: 'super-admin-test-password' };

/** Keeps every log line (parsed) in memory so tests can assert on what was (and was not) logged. */
export class MemoryLog {
  readonly entries: Record<string, unknown>[] = [];
  write(line: string): void {
    this.entries.push(JSON.parse(line) as Record<string, unknown>);
  }
}

export interface TestApp {
  app: NestFastifyApplication;
  http: (options: InjectOptions) => Promise<LightMyRequestResponse>;
  dataSource: DataSource;
  logs: MemoryLog;
  database: TestDatabase;
  close(): Promise<void>;
}

export interface TestAppOptions extends Pick<AppModuleOptions, 'clock'> {
  /**
   * A database this app shares with other instances (cloneSharedTemplateDatabase).
   * Closing the app leaves it in place: whoever created it drops it.
   */
  database?: TestDatabase;
}

/**
 * Boots the real application on this file's own database: PGlite in memory by
 * default, PostgreSQL when TEST_DATABASE_URL is set (cloned from the migrated template).
 */
export async function createTestApp(
  env: Record<string, string | undefined> = {},
  extraModules: AppModuleOptions['extraModules'] = [],
  options: TestAppOptions = {},
): Promise<TestApp> {
  const database = options.database ?? (await cloneTemplateDatabase());
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: 'memory',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    MIGRATIONS_RUN: 'false',
    BCRYPT_COST: '4',
    LOGIN_RATE_LIMIT_PER_MINUTE: '100000',
    JWT_SECRET: TEST_JWT_SECRET,
    SUPER_ADMIN_EMAIL: SUPER_ADMIN.email,
    SUPER_ADMIN_PASSWORD: SUPER_ADMIN.password,
    DATABASE_URL: database.url,
    REDIS_URL: process.env.REDIS_URL,
    REDIS_PREFIX: database.redisPrefix,
    ...env,
  });
  const logs = new MemoryLog();
  const logger = new AppLogger(createPino(config, logs));
  const app = await createApp({ config, logger, database: database.overrides, extraModules, clock: options.clock });
  await app.init();
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.ready();
  return {
    app,
    http: (opts) => fastify.inject(opts),
    dataSource: app.get(DataSource),
    logs,
    database,
    close: async () => {
      await app.close();
      if (!options.database) await database.drop();
    },
  };
}
