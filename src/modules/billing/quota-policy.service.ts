import { Injectable, type OnModuleInit } from '@nestjs/common';
import { RequestContext } from '../../core/context/request-context.js';
import type { Period } from './entities/plan.entity.js';
import type { QuotaCheck } from './metering.repository.js';
import { PlanCache, type TenantPlan } from './plan-cache.js';
import { type QuotaSetting, QuotaDefaultsRepository, UserQuotasRepository } from './subscriptions.repository.js';
import { type Anchor, windowOf } from './windows.js';

const TTL_MS = 5000;

/** When a tenant's billing periods start (monthly or yearly from the subscription's anchor). */
export function anchorOf({ subscription, plan }: TenantPlan): Anchor {
  return plan.interval === 'year'
    ? { day: subscription.anchorDay, month: subscription.createdAt.getUTCMonth(), months: 12 }
    : { day: subscription.anchorDay, months: 1 };
}

/**
 * Which quotas a use of a meter must fit in. For the tenant: the plan's
 * tenant-scope quotas. For a user, per period, the tightest of the plan's
 * user-scope quota, the tenant's default user quota and the user's own quota.
 */
@Injectable()
export class QuotaPolicy implements OnModuleInit {
  private readonly settings = new Map<string, { value: QuotaSetting[]; expiresAt: number }>();

  constructor(
    private readonly plans: PlanCache,
    private readonly defaults: QuotaDefaultsRepository,
    private readonly userQuotas: UserQuotasRepository,
    private readonly context: RequestContext,
  ) {}

  onModuleInit(): void {
    this.plans.onChanged(() => this.settings.clear());
  }

  /** Every quota that applies to the user (or, without one, to the tenant), for every meter. */
  async allChecks(userId: string | null, at: Date): Promise<QuotaCheck[]> {
    const tenantId = this.context.tenantId;
    const tenantPlan = await this.plans.current(tenantId);
    if (!tenantPlan) return [];
    const anchor = anchorOf(tenantPlan);
    const checks: QuotaCheck[] = [];
    const userLimits = new Map<string, { meter: string; period: Period; limit: number }>();
    const tighten = (meter: string, period: Period, limit: number) => {
      const key = `${meter}|${period}`;
      const current = userLimits.get(key);
      if (!current || limit < current.limit) userLimits.set(key, { meter, period, limit });
    };
    for (const quota of tenantPlan.plan.quotas) {
      if (quota.scope === 'tenant') {
        const window = windowOf(quota.period, at, anchor);
        checks.push({
          subjectId: tenantId,
          scope: 'tenant',
          meter: quota.meter,
          period: quota.period,
          windowStart: window.start,
          windowEnd: window.end,
          limit: quota.limit,
        });
      } else if (userId) {
        tighten(quota.meter, quota.period, quota.limit);
      }
    }
    if (userId) {
      for (const s of await this.cached(`d:${tenantId}`, () => this.defaults.list()))
        tighten(s.meter, s.period, s.limit);
      for (const s of await this.cached(`u:${tenantId}:${userId}`, () => this.userQuotas.forUser(userId))) {
        tighten(s.meter, s.period, s.limit);
      }
      for (const { meter, period, limit } of userLimits.values()) {
        const window = windowOf(period, at, anchor);
        checks.push({
          subjectId: userId,
          scope: 'user',
          meter,
          period,
          windowStart: window.start,
          windowEnd: window.end,
          limit,
        });
      }
    }
    return checks;
  }

  private async cached(key: string, load: () => Promise<QuotaSetting[]>): Promise<QuotaSetting[]> {
    const now = Date.now();
    const hit = this.settings.get(key);
    if (hit && hit.expiresAt > now) return hit.value;
    const value = (await load()).map((s) => ({ meter: s.meter, period: s.period, limit: s.limit }));
    if (this.settings.size > 50_000) this.settings.clear();
    this.settings.set(key, { value, expiresAt: now + TTL_MS });
    return value;
  }
}
