import { Logger } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';

type Exit = (code: number) => void;

/**
 * Returns the shutdown routine: stop accepting connections, let in-flight
 * requests finish, run the shutdown hooks (the database closes), then exit 0.
 * Exits 1 when draining takes longer than `timeoutMs`.
 */
export function gracefulShutdown(app: INestApplication, timeoutMs: number, exit: Exit = process.exit) {
  const logger = new Logger('Shutdown');
  let closing: Promise<void> | undefined;
  const run = async (signal: string) => {
    logger.log(`${signal} received: draining in-flight requests`);
    const timer = setTimeout(() => {
      logger.error(`Shutdown took longer than ${timeoutMs}ms; exiting`);
      exit(1);
    }, timeoutMs);
    timer.unref();
    try {
      await app.close();
      clearTimeout(timer);
      logger.log('Shutdown complete');
      exit(0);
    } catch (err) {
      logger.error({ message: 'Shutdown failed', stack: (err as Error).stack });
      exit(1);
    }
  };
  return (signal: string): Promise<void> => (closing ??= run(signal));
}

export function installGracefulShutdown(app: INestApplication, timeoutMs: number): void {
  const shutdown = gracefulShutdown(app, timeoutMs);
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}
