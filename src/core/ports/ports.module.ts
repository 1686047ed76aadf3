import { Global, Module } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { RequestContext } from '../context/request-context.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import { RedisConnection } from '../redis/redis.module.js';
import { BlobStore, FilesystemBlobStore, S3BlobStore } from './blob-store.js';
import { CounterStore, MemoryCounterStore, RedisCounterStore } from './counter-store.js';
import { EventBus, MemoryEventBus, RedisEventBus } from './event-bus.js';
import { BullMqJobQueue, JobQueue, TableJobQueue } from './job-queue.js';
import { JobsRepository } from './jobs.repository.js';
import { AesGcmSecretBox, loadSecretsKey, SecretBox } from './secret-box.js';

/**
 * The I/O ports and the one place that picks their adapters from the
 * configuration: shared ones (Redis, S3) when they are configured, local ones
 * (in-process, the database, DATA_DIR) otherwise.
 */
@Global()
@Module({
  providers: [
    {
      provide: EventBus,
      inject: [RedisConnection],
      useFactory: (redis: RedisConnection) => (redis.configured ? new RedisEventBus(redis) : new MemoryEventBus()),
    },
    {
      provide: CounterStore,
      inject: [RedisConnection],
      useFactory: (redis: RedisConnection) =>
        redis.configured ? new RedisCounterStore(redis) : new MemoryCounterStore(),
    },
    {
      provide: SecretBox,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig) => new AesGcmSecretBox(await loadSecretsKey(config)),
    },
    {
      provide: BlobStore,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        config.storage.s3
          ? S3BlobStore.fromSettings(config.storage.s3)
          : FilesystemBlobStore.open(config.database.dataDir),
    },
    JobsRepository,
    {
      provide: JobQueue,
      inject: [APP_CONFIG, RequestContext, UnitOfWork, JobsRepository],
      useFactory: (config: AppConfig, context: RequestContext, uow: UnitOfWork, jobs: JobsRepository) =>
        config.redis.url
          ? new BullMqJobQueue(context, uow, {
              url: config.redis.url,
              prefix: config.redis.prefix,
              concurrency: config.jobs.concurrency,
            })
          : new TableJobQueue(jobs, uow, context, {
              pollIntervalMs: config.jobs.pollIntervalMs,
              concurrency: config.jobs.concurrency,
            }),
    },
  ],
  exports: [EventBus, CounterStore, SecretBox, BlobStore, JobQueue],
})
export class PortsModule {}
