import { Global, Module } from '@nestjs/common';
import { RedisConnection } from '../redis/redis.module.js';
import { CounterStore, MemoryCounterStore, RedisCounterStore } from './counter-store.js';
import { EventBus, MemoryEventBus, RedisEventBus } from './event-bus.js';

/**
 * The I/O ports and the one place that picks their adapters from the
 * configuration: shared ones (Redis) when REDIS_URL is set, in-process otherwise.
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
  ],
  exports: [EventBus, CounterStore],
})
export class PortsModule {}
