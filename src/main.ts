import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from './app.factory.js';
import { createNestLogger, createWinston } from './common/logging/logger.js';
import { ConfigValidationError, loadConfig } from './config/app-config.js';

/** Stops accepting connections, lets in-flight requests finish, closes the database, exits 0. */
export function installGracefulShutdown(app: NestFastifyApplication, timeoutMs: number, exit = process.exit): void {
  const logger = new Logger('Shutdown');
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received: draining in-flight requests`);
    const timer = setTimeout(() => {
      logger.error(`Shutdown took longer than ${timeoutMs}ms; exiting`);
      exit(1);
    }, timeoutMs);
    timer.unref();
    try {
      await app.close();
      logger.log('Shutdown complete');
      exit(0);
    } catch (err) {
      logger.error({ message: 'Shutdown failed', stack: (err as Error).stack });
      exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createNestLogger(createWinston(config));
  const app = await createApp({ config, logger });
  installGracefulShutdown(app, config.http.shutdownTimeoutMs);
  await app.listen({ port: config.http.port, host: config.http.host });
  const engine = config.database.url ? 'PostgreSQL' : `embedded PGlite (${config.database.dataDir})`;
  new Logger('Bootstrap').log(`Atrium listening on http://${config.http.host}:${config.http.port} (database: ${engine}); docs at /docs`);
}

void bootstrap();
