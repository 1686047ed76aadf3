import { Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisConnection } from '../redis/redis.module.js';
import { throttledWarning } from '../logging/throttled-warning.js';

/** A counter after an increment: its value in the current window and when that window ends. */
export interface CounterHit {
  count: number;
  resetInMs: number;
}

/**
 * The counter-store port: fixed-window counters for rate limits and quotas.
 * Each increment is atomic, so N parallel hits count N on any number of instances
 * sharing the store.
 */
export abstract class CounterStore {
  abstract increment(key: string, windowMs: number, by?: number): Promise<CounterHit>;
}

/** Counters in this process (the default without REDIS_URL, and the fallback while Redis is down). */
@Injectable()
export class MemoryCounterStore extends CounterStore {
  private static readonly PRUNE_AT = 10_000;
  private readonly counters = new Map<string, { count: number; resetAt: number }>();

  async increment(key: string, windowMs: number, by = 1, now = Date.now()): Promise<CounterHit> {
    let entry = this.counters.get(key);
    if (!entry || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + windowMs };
      this.counters.set(key, entry);
    }
    entry.count += by;
    if (this.counters.size > MemoryCounterStore.PRUNE_AT) this.prune(now);
    return { count: entry.count, resetInMs: entry.resetAt - now };
  }

  private prune(now: number): void {
    for (const [key, entry] of this.counters) if (entry.resetAt <= now) this.counters.delete(key);
  }
}

// INCRBY and the window's expiry in one round trip; the expiry is set only by the hit that creates the key.
const INCREMENT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

type WithIncrement = Redis & {
  atriumIncrement(key: string, windowMs: number, by: number): Promise<[number, number]>;
};

/**
 * Counters in Redis, shared by every instance. While Redis is unreachable the
 * store falls back to this process's counters (with a warning) rather than failing requests.
 */
@Injectable()
export class RedisCounterStore extends CounterStore {
  private readonly logger = new Logger('CounterStore');
  private readonly fallback = new MemoryCounterStore();
  private readonly warn = throttledWarning(this.logger);

  constructor(private readonly redis: RedisConnection) {
    super();
    redis.client!.defineCommand('atriumIncrement', { numberOfKeys: 1, lua: INCREMENT });
  }

  async increment(key: string, windowMs: number, by = 1): Promise<CounterHit> {
    try {
      const [count, ttl] = await this.redis.command((client) =>
        (client as WithIncrement).atriumIncrement(`${this.redis.prefix}:counter:${key}`, windowMs, by),
      );
      return { count, resetInMs: ttl };
    } catch (err) {
      this.warn(`Counting in this process while Redis is unavailable: ${(err as Error).message}`);
      return this.fallback.increment(key, windowMs, by);
    }
  }
}
