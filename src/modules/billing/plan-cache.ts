import { Injectable, type OnModuleInit } from '@nestjs/common';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { EventBus } from '../../core/ports/event-bus.js';
import { MetersRepository, PlansRepository } from './catalog.repository.js';
import type { Plan } from './entities/plan.entity.js';
import type { Subscription } from './entities/subscription.entity.js';
import { SubscriptionsRepository } from './subscriptions.repository.js';

const TOPIC = 'billing-changed';
const TTL_MS = 5000;

export interface TenantPlan {
  subscription: Subscription;
  plan: Plan;
}

/**
 * Each tenant's subscription and plan, read on every metered request, cached
 * for a few seconds. A plan or subscription change drops the entries on every
 * instance once it commits (event bus), so changes apply at once.
 */
@Injectable()
export class PlanCache implements OnModuleInit {
  private readonly tenants = new Map<string, { value: TenantPlan; expiresAt: number }>();
  private meterCodes?: { value: Set<string>; expiresAt: number };

  constructor(
    private readonly subscriptions: SubscriptionsRepository,
    private readonly plans: PlansRepository,
    private readonly meters: MetersRepository,
    private readonly bus: EventBus,
    private readonly uow: UnitOfWork,
  ) {}

  onModuleInit(): void {
    this.bus.subscribe(TOPIC, () => {
      this.tenants.clear();
      this.meterCodes = undefined;
    });
  }

  /** Every meter code (meters are added rarely; an addition drops this everywhere). */
  async meterCodesKnown(): Promise<Set<string>> {
    const now = Date.now();
    if (this.meterCodes && this.meterCodes.expiresAt > now) return this.meterCodes.value;
    const value = new Set((await this.meters.list()).map((m) => m.code));
    this.meterCodes = { value, expiresAt: now + TTL_MS };
    return value;
  }

  /** The current tenant's subscription and plan (null when it has none). */
  async current(tenantId: string): Promise<TenantPlan | null> {
    const now = Date.now();
    const cached = this.tenants.get(tenantId);
    if (cached && cached.expiresAt > now) return cached.value;
    const subscription = await this.subscriptions.current();
    if (!subscription) return null;
    const plan = await this.plans.findById(subscription.planId);
    if (!plan) return null;
    const value = { subscription, plan };
    if (this.tenants.size > 10_000) this.tenants.clear();
    this.tenants.set(tenantId, { value, expiresAt: now + TTL_MS });
    return value;
  }

  /** Calls `fn` whenever billing settings change (here or on another instance): for caches built on them. */
  onChanged(fn: () => void): void {
    this.bus.subscribe(TOPIC, fn);
  }

  /** Raised inside the change's unit of work; applied everywhere after it commits. */
  changed(): void {
    this.uow.afterCommit(() => this.bus.publish(TOPIC, {}));
  }
}
