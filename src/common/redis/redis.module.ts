import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';

/** The shared Redis connection, or null when REDIS_URL is unset and state stays in-process. */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client: Redis | null;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.client = config.redis.url
      ? new Redis(config.redis.url, {
          lazyConnect: true,
          maxRetriesPerRequest: 1,
          enableOfflineQueue: true,
          connectTimeout: 2000,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        })
      : null;
    // Connection errors surface through readiness; without a listener ioredis would print them unhandled.
    this.client?.on('error', () => undefined);
  }

  get configured(): boolean {
    return this.client !== null;
  }

  async ping(): Promise<void> {
    if (!this.client) return;
    if (this.client.status === 'wait') await this.client.connect();
    await this.client.ping();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.client && this.client.status !== 'end') this.client.disconnect();
  }
}

@Global()
@Module({ providers: [RedisConnection], exports: [RedisConnection] })
export class RedisModule {}
