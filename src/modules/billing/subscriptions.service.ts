import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { RequestContext } from '../../core/context/request-context.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { CommonError, CommonErrorCode } from '../../core/errors/app-error.js';
import type { AccountQuota, AccountQuotasHook, TenantCreatedHook } from '../../core/identity/lifecycle-hooks.js';
import { LifecycleHooks } from '../../core/identity/lifecycle-hooks.js';
import type { Tenant } from '../../core/identity/tenant.entity.js';
import { TenantScope } from '../../core/identity/tenant-scope.service.js';
import type { User } from '../../core/identity/user.entity.js';
import { UsersRepository } from '../../core/identity/users.repository.js';
import { Clock } from '../../core/ports/clock.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { BillingError, BillingErrorCode, unknownMeters } from './billing.errors.js';
import { MetersRepository, PlansRepository } from './catalog.repository.js';
import { planNotFound } from './catalog.service.js';
import { PERIODS, type Period } from './entities/plan.entity.js';
import { PlanCache, type TenantPlan } from './plan-cache.js';
import { anchorOf } from './quota-policy.service.js';
import {
  type QuotaSetting,
  QuotaDefaultsRepository,
  SubscriptionsRepository,
  UserQuotasRepository,
} from './subscriptions.repository.js';
import { WalletRepository } from './wallet.repository.js';
import { billingPeriodOf, type Window } from './windows.js';

export interface SubscriptionView extends TenantPlan {
  period: Window;
}

/**
 * Subscriptions and the quotas a tenant sets. New tenants are subscribed to
 * DEFAULT_PLAN (with their wallet) inside their creation's unit of work; users
 * created in bulk get the quotas the request names.
 */
@Injectable()
export class SubscriptionsService
  implements OnModuleInit, OnApplicationBootstrap, TenantCreatedHook, AccountQuotasHook
{
  constructor(
    private readonly subscriptions: SubscriptionsRepository,
    private readonly defaults: QuotaDefaultsRepository,
    private readonly userQuotas: UserQuotasRepository,
    private readonly wallet: WalletRepository,
    private readonly plans: PlansRepository,
    private readonly meters: MetersRepository,
    private readonly users: UsersRepository,
    private readonly cache: PlanCache,
    private readonly scope: TenantScope,
    private readonly context: RequestContext,
    private readonly uow: UnitOfWork,
    private readonly hooks: LifecycleHooks,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.hooks.onTenantCreated(this);
    this.hooks.handleAccountQuotas(this);
  }

  /** DEFAULT_PLAN must name a plan: found out at start, not at the first sign-up. */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.database.migrationsRun && !(await this.hasPlanTable())) return;
    if (!(await this.plans.findByCode(this.config.billing.defaultPlan))) {
      throw new Error(`DEFAULT_PLAN is ${this.config.billing.defaultPlan}, but no plan has that code`);
    }
  }

  async tenantCreated(tenant: Tenant): Promise<void> {
    const plan = await this.plans.findByCode(this.config.billing.defaultPlan);
    if (!plan) throw new Error(`DEFAULT_PLAN ${this.config.billing.defaultPlan} does not exist`);
    const anchorDay = Math.min(28, tenant.createdAt.getUTCDate());
    await this.subscriptions.put(plan.id, anchorDay);
    await this.wallet.create();
  }

  view(tenantId: string): Promise<SubscriptionView> {
    return this.scope.inVisible(tenantId, (tenant) => this.currentView(tenant.id));
  }

  /** The subscription of a tenant already known to be visible. */
  private async currentView(tenantId: string): Promise<SubscriptionView> {
    const tenantPlan = await this.cache.current(tenantId);
    if (!tenantPlan) throw planNotFound();
    return { ...tenantPlan, period: billingPeriodOf(this.clock.now(), anchorOf(tenantPlan)) };
  }

  /** Moves the tenant to the plan; the change applies at once (new windows, limits and rates). */
  async subscribe(tenantId: string, planCode: string, anchorDay: number | undefined): Promise<SubscriptionView> {
    const tenant = await this.scope.visible(tenantId);
    const plan = await this.plans.findByCode(planCode);
    if (!plan) throw planNotFound();
    if (plan.status !== 'active') throw new BillingError(BillingErrorCode.PLAN_ARCHIVED, 'The plan is archived.');
    return this.context.runInTenant(tenant.id, async () => {
      await this.uow.run(async () => {
        const current = await this.subscriptions.current();
        await this.subscriptions.put(plan.id, anchorDay ?? current?.anchorDay ?? 1);
        await this.wallet.create();
        this.cache.changed();
      });
      return this.currentView(tenant.id);
    });
  }

  quotaDefaults(tenantId: string): Promise<QuotaSetting[]> {
    return this.scope.inVisible(tenantId, async () => (await this.defaults.list()).map(setting));
  }

  async putQuotaDefaults(tenantId: string, quotas: QuotaSetting[]): Promise<QuotaSetting[]> {
    const tenant = await this.scope.visible(tenantId);
    await this.validateSettings(quotas);
    return this.context.runInTenant(tenant.id, async () => {
      await this.uow.run(async () => {
        await this.defaults.replace(quotas);
        this.cache.changed();
      });
      return (await this.defaults.list()).map(setting);
    });
  }

  async userQuotasOf(userId: string): Promise<QuotaSetting[]> {
    await this.existingUser(userId);
    return (await this.userQuotas.forUser(userId)).map(setting);
  }

  async putUserQuotas(userId: string, quotas: QuotaSetting[]): Promise<QuotaSetting[]> {
    await this.existingUser(userId);
    await this.validateSettings(quotas);
    await this.uow.run(async () => {
      await this.userQuotas.replace(userId, quotas);
      this.cache.changed();
    });
    return this.userQuotasOf(userId);
  }

  validateQuotas(quotas: AccountQuota[]): Promise<void> {
    return this.validateSettings(quotas as QuotaSetting[]);
  }

  async applyQuotas(user: User, quotas: AccountQuota[]): Promise<void> {
    await this.userQuotas.replace(user.id, quotas as QuotaSetting[]);
    this.cache.changed();
  }

  private async validateSettings(quotas: QuotaSetting[]): Promise<void> {
    const badPeriods = quotas.filter((q) => !(PERIODS as readonly string[]).includes(q.period));
    if (badPeriods.length > 0) {
      throw new CommonError(CommonErrorCode.VALIDATION_FAILED, `Unknown period: ${badPeriods[0].period}.`, {
        errors: [{ field: 'quotas', messages: [`period must be one of ${PERIODS.join(', ')}`] }],
      });
    }
    const unknown = await this.meters.unknownOf(quotas.map((q) => q.meter));
    if (unknown.length > 0) throw unknownMeters(unknown);
    const keys = new Set<string>();
    for (const q of quotas) {
      const key = `${q.meter}|${q.period}`;
      if (keys.has(key)) {
        throw new CommonError(
          CommonErrorCode.VALIDATION_FAILED,
          `The quota for ${q.meter} per ${q.period} is given twice.`,
          {
            errors: [{ field: 'quotas', messages: [`${q.meter} per ${q.period} is given twice`] }],
          },
        );
      }
      keys.add(key);
    }
  }

  private async existingUser(userId: string): Promise<User> {
    const user = await this.users.findById(userId);
    if (!user) throw new BillingError(BillingErrorCode.USER_NOT_FOUND, 'User not found.');
    return user;
  }

  private async hasPlanTable(): Promise<boolean> {
    try {
      await this.plans.list(true);
      return true;
    } catch {
      return false;
    }
  }
}

const setting = (s: { meter: string; period: Period; limit: number }): QuotaSetting => ({
  meter: s.meter,
  period: s.period,
  limit: s.limit,
});
