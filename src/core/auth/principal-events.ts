import { Injectable, type OnModuleInit } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work.js';
import { EventBus } from '../ports/event-bus.js';
import { PrincipalCache, type PrincipalChange } from './principal-cache.js';

const TOPIC = 'principals-changed';

/**
 * The one event for "who may do what changed" (a key revoked or regenerated, a
 * user disabled, demoted, deleted or signed out everywhere, a password changed,
 * a tenant suspended or deleted). Raised inside the change's unit of work, it is
 * applied once the change commits: here at once, on every other instance
 * through the event bus (Redis pub/sub), so cached principals are dropped
 * everywhere within moments. The cache TTL stays as the backstop.
 */
@Injectable()
export class PrincipalEvents implements OnModuleInit {
  constructor(
    private readonly cache: PrincipalCache,
    private readonly bus: EventBus,
    private readonly uow: UnitOfWork,
  ) {}

  onModuleInit(): void {
    this.bus.subscribe(TOPIC, (message) => this.cache.invalidate(message as PrincipalChange));
  }

  changed(change: PrincipalChange): void {
    this.uow.afterCommit(() => this.bus.publish(TOPIC, change));
  }
}
