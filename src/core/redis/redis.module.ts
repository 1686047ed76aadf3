import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';

export class RedisUnavailableError extends Error {
  constructor(reason: string) {
    super(`Redis is unavailable: ${reason}`);
    this.name = 'RedisUnavailableError';
  }
}

/**
 * The shared Redis connection, or null when REDIS_URL is unset and state stays
 * in-process. Commands fail fast while Redis is unreachable (no offline queue),
 * so callers can fall back to in-process state instead of waiting.
 */
@Injectable()
export class RedisConnection implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  readonly client: Redis | null;
  /** Starts every key and channel this deployment uses (REDIS_PREFIX). */
  readonly prefix: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.prefix = config.redis.prefix;
    this.client = config.redis.url
      ? new Redis(config.redis.url, {
          lazyConnect: true,
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          connectTimeout: 2000,
          commandTimeout: 1000,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        })
      : null;
    // Connection errors surface through readiness and the callers' fallbacks; without a listener ioredis would print them.
    this.client?.on('error', () => undefined);
  }

  async onModuleInit(): Promise<void> {
    if (!this.client) return;
    try {
      await this.client.connect();
    } catch (err) {
      this.logger.warn(`Redis is not reachable at start (${(err as Error).message}); falling back to in-process state`);
    }
  }

  get configured(): boolean {
    return this.client !== null;
  }

  /** True while commands can be sent. */
  get ready(): boolean {
    return this.client?.status === 'ready';
  }

  /** Runs `fn` against Redis; throws RedisUnavailableError at once when it is not configured or not connected. */
  async command<T>(fn: (client: Redis) => Promise<T>): Promise<T> {
    if (!this.client) throw new RedisUnavailableError('REDIS_URL is not set');
    if (this.client.status !== 'ready') throw new RedisUnavailableError(this.client.status);
    try {
      return await fn(this.client);
    } catch (err) {
      throw new RedisUnavailableError((err as Error).message);
    }
  }

  async ping(): Promise<void> {
    await this.command((client) => client.ping());
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.client && this.client.status !== 'end') this.client.disconnect();
  }
}

@Global()
@Module({ providers: [RedisConnection], exports: [RedisConnection] })
export class RedisModule {}
