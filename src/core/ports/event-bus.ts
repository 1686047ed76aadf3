import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisConnection } from '../redis/redis.module.js';
import { throttledWarning } from '../logging/throttled-warning.js';

export type EventHandler = (message: unknown) => void;

/**
 * The event bus port: fire-and-forget notifications between the instances of
 * the service (for example "who may do what changed"). Delivery is at most
 * once; every consumer must have a backstop (a cache TTL) for lost events.
 * Handlers on the publishing instance run at once, before the publish returns.
 */
export abstract class EventBus {
  abstract publish(topic: string, message: object): Promise<void>;
  abstract subscribe(topic: string, handler: EventHandler): void;
}

/** One process: events reach only this instance (the default without REDIS_URL). */
@Injectable()
export class MemoryEventBus extends EventBus {
  protected readonly local = new EventEmitter().setMaxListeners(0);

  async publish(topic: string, message: object): Promise<void> {
    this.local.emit(topic, message);
  }

  subscribe(topic: string, handler: EventHandler): void {
    this.local.on(topic, handler);
  }
}

/** Redis pub/sub: events reach every instance connected to the same Redis. */
@Injectable()
export class RedisEventBus extends MemoryEventBus implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('EventBus');
  /** At most one warning every 10 s, so a Redis outage does not flood the log. */
  private readonly warn = throttledWarning(this.logger);
  private readonly instanceId = randomUUID();
  /** <REDIS_PREFIX>:events:<topic> */
  private readonly channelPrefix: string;
  private subscriber?: Redis;

  constructor(private readonly redis: RedisConnection) {
    super();
    this.channelPrefix = `${redis.prefix}:events:`;
  }

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redis.client!.duplicate({ lazyConnect: true, enableOfflineQueue: true });
    this.subscriber.on('error', (err: Error) => this.warn(`subscriber: ${err.message}`));
    this.subscriber.on('message', (channel: string, raw: string) => this.deliver(channel, raw));
    // Subscriptions are re-established by ioredis after a reconnect.
    this.subscriber.connect().catch((err: Error) => this.warn(`cannot connect: ${err.message}`));
    for (const topic of this.local.eventNames()) void this.listen(String(topic));
  }

  override subscribe(topic: string, handler: EventHandler): void {
    const first = this.local.listenerCount(topic) === 0;
    super.subscribe(topic, handler);
    if (first && this.subscriber) void this.listen(topic);
  }

  override async publish(topic: string, message: object): Promise<void> {
    await super.publish(topic, message);
    try {
      await this.redis.command((client) =>
        client.publish(this.channelPrefix + topic, JSON.stringify({ from: this.instanceId, message })),
      );
    } catch (err) {
      this.warn(`publish to ${topic} failed (other instances rely on their cache TTL): ${(err as Error).message}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscriber?.disconnect();
  }

  private async listen(topic: string): Promise<void> {
    try {
      await this.subscriber!.subscribe(this.channelPrefix + topic);
    } catch (err) {
      this.warn(`subscribe to ${topic} failed: ${(err as Error).message}`);
    }
  }

  private deliver(channel: string, raw: string): void {
    if (!channel.startsWith(this.channelPrefix)) return;
    try {
      const { from, message } = JSON.parse(raw) as { from: string; message: unknown };
      if (from !== this.instanceId) this.local.emit(channel.slice(this.channelPrefix.length), message);
    } catch {
      this.warn(`ignored a malformed event on ${channel}`);
    }
  }
}
