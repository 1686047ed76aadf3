import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory.js';
import { AppLogger, createPino } from './core/logging/logger.js';
import { ConfigValidationError, loadConfig } from './config/app-config.js';
import { installGracefulShutdown } from './shutdown.js';

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
  const logger = new AppLogger(createPino(config));
  const app = await createApp({ config, logger });
  installGracefulShutdown(app, config.http.shutdownTimeoutMs);
  await app.listen({ port: config.http.port, host: config.http.host });
  const engine = config.database.url ? 'PostgreSQL' : `embedded PGlite (${config.database.dataDir})`;
  new Logger('Bootstrap').log(
    `Atrium listening on http://${config.http.host}:${config.http.port} (database: ${engine}); docs at /docs`,
  );
}

void bootstrap();
