import { Injectable } from '@nestjs/common';
import { RequestContext } from '../../core/context/request-context.js';
import { TenantScopedRepository } from '../../core/database/tenant-scoped.repository.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import type { Period } from './entities/plan.entity.js';
import { QuotaDefault, UserQuota } from './entities/quota-setting.entity.js';
import { Subscription } from './entities/subscription.entity.js';

@Injectable()
export class SubscriptionsRepository extends TenantScopedRepository<Subscription> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(Subscription, uow, context);
  }

  current(): Promise<Subscription | null> {
    return this.findOne({});
  }

  /** Subscribes the tenant to the plan (a change applies at once). */
  async put(planId: string, anchorDay: number): Promise<void> {
    await this.query(
      `INSERT INTO subscriptions (tenant_id, plan_id, anchor_day) VALUES ($1, $2, $3)
       ON CONFLICT (tenant_id) DO UPDATE SET plan_id = EXCLUDED.plan_id, anchor_day = EXCLUDED.anchor_day, updated_at = now()`,
      [planId, anchorDay],
    );
  }
}

export interface QuotaSetting {
  meter: string;
  period: Period;
  limit: number;
}

/** A tenant's default user quotas. */
@Injectable()
export class QuotaDefaultsRepository extends TenantScopedRepository<QuotaDefault> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(QuotaDefault, uow, context);
  }

  list(): Promise<QuotaDefault[]> {
    return this.find({ order: { meter: 'ASC', period: 'ASC' } });
  }

  /** Replaces every default with `settings` (in the caller's unit of work). */
  async replace(settings: QuotaSetting[]): Promise<void> {
    await this.deleteWhere({});
    for (const s of settings) await this.insertOne({ meter: s.meter, period: s.period, limit: s.limit });
  }
}

/** Users' own quotas. */
@Injectable()
export class UserQuotasRepository extends TenantScopedRepository<UserQuota> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(UserQuota, uow, context);
  }

  forUser(userId: string): Promise<UserQuota[]> {
    return this.find({ where: { userId }, order: { meter: 'ASC', period: 'ASC' } });
  }

  async replace(userId: string, settings: QuotaSetting[]): Promise<void> {
    await this.deleteWhere({ userId });
    for (const s of settings) await this.insertOne({ userId, meter: s.meter, period: s.period, limit: s.limit });
  }
}
