import { Injectable } from '@nestjs/common';
import type { Tenant } from './tenant.entity.js';
import type { User } from './user.entity.js';

/** The periods a quota counts over: the billing module's windows, and what account creation accepts. */
export const QUOTA_PERIODS = ['day', 'week', 'month', 'billing_period'] as const;
/** The form of a meter code. */
export const METER_CODE = /^[a-z][a-z0-9_.]*$/;

/** A quota given to an account when it is created (POST /users/bulk `quotas`). */
export interface AccountQuota {
  meter: string;
  limit: number;
  period: string;
}

export interface TenantCreatedHook {
  /** Runs inside the tenant's creation unit of work, acting in the new tenant: a failure undoes the creation. */
  tenantCreated(tenant: Tenant): Promise<void>;
}

export interface AccountQuotasHook {
  /** Refuses quotas that cannot be applied (an unknown meter, a bad period) before any account is created. */
  validateQuotas(quotas: AccountQuota[]): Promise<void>;
  /** Runs inside the account's creation unit of work, acting in its tenant. */
  applyQuotas(user: User, quotas: AccountQuota[]): Promise<void>;
}

/** What the tenant's usage amounts to in its current billing period (GET /tenants/:id/statistics). */
export interface TenantUsageFigures {
  plan: string;
  periodStart: string;
  periodEnd: string;
  /** Events recorded in the period (reservations committed and usage events accepted). */
  events: number;
  costMicros: number;
  meters: { meter: string; quantity: number; costMicros: number }[];
  creditsAvailableMicros: number;
}

export interface TenantUsageHook {
  /** Runs acting in the tenant. */
  usageFigures(): Promise<TenantUsageFigures | null>;
}

/**
 * Extension points of the identity core for the feature modules above it (a
 * new tenant gets a subscription, bulk-created users get quotas, statistics show
 * usage), so the core
 * never imports a feature: features register themselves here when they start.
 */
@Injectable()
export class LifecycleHooks {
  private readonly tenantHooks: TenantCreatedHook[] = [];
  private quotaHook?: AccountQuotasHook;
  private usageHook?: TenantUsageHook;

  onTenantCreated(hook: TenantCreatedHook): void {
    this.tenantHooks.push(hook);
  }

  handleAccountQuotas(hook: AccountQuotasHook): void {
    this.quotaHook = hook;
  }

  reportTenantUsage(hook: TenantUsageHook): void {
    this.usageHook = hook;
  }

  /** The tenant's usage figures, when a module records usage (acting in the tenant). */
  async usageFigures(): Promise<TenantUsageFigures | null> {
    return this.usageHook ? this.usageHook.usageFigures() : null;
  }

  async tenantCreated(tenant: Tenant): Promise<void> {
    for (const hook of this.tenantHooks) await hook.tenantCreated(tenant);
  }

  async validateQuotas(quotas: AccountQuota[]): Promise<void> {
    if (quotas.length === 0) return;
    if (!this.quotaHook) throw new Error('No module applies account quotas');
    await this.quotaHook.validateQuotas(quotas);
  }

  async applyQuotas(user: User, quotas: AccountQuota[]): Promise<void> {
    if (quotas.length > 0) await this.quotaHook!.applyQuotas(user, quotas);
  }
}
