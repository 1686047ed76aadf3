import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Permission } from '../../core/auth/permissions.js';
import { RequestContext } from '../../core/context/request-context.js';
import { CommonError, CommonErrorCode } from '../../core/errors/app-error.js';
import { AuthError, AuthErrorCode } from '../../core/identity/auth.errors.js';
import { LifecycleHooks, type TenantUsageFigures, type TenantUsageHook } from '../../core/identity/lifecycle-hooks.js';
import { TenantScope } from '../../core/identity/tenant-scope.service.js';
import { UsersRepository } from '../../core/identity/users.repository.js';
import { Clock } from '../../core/ports/clock.js';
import { BillingPlatformRepository, type PlatformGroupBy } from './billing-platform.repository.js';
import { BillingError, BillingErrorCode } from './billing.errors.js';
import type { StatementDto, UsageReportDto } from './dto/billing.dto.js';
import { planNotFound } from './catalog.service.js';
import { PlanCache } from './plan-cache.js';
import { anchorOf } from './quota-policy.service.js';
import { type GroupBy, NONE, UsageDailyRepository } from './usage.repository.js';
import { holdableMicros, LedgerRepository, WalletRepository } from './wallet.repository.js';
import { billingPeriodOf, isoSeconds } from './windows.js';

const DAY_MS = 86_400_000;
const MAX_RANGE_DAYS = 366;

export interface Range {
  from?: string;
  to?: string;
}

/** Usage and cost reports, read from the daily aggregates (never from raw events). */
@Injectable()
export class ReportsService implements OnModuleInit, TenantUsageHook {
  constructor(
    private readonly hooks: LifecycleHooks,
    private readonly wallet: WalletRepository,
    private readonly usage: UsageDailyRepository,
    private readonly platform: BillingPlatformRepository,
    private readonly ledgerEntries: LedgerRepository,
    private readonly plans: PlanCache,
    private readonly scope: TenantScope,
    private readonly context: RequestContext,
    private readonly clock: Clock,
    private readonly users: UsersRepository,
  ) {}

  /**
   * Members, viewers and personal keys see only their own usage; tenant-wide
   * readers (billing:read by role, and the tenant app) see every user's and may filter one.
   */
  async summary(range: Range, groupBy: GroupBy, meter?: string, userId?: string): Promise<UsageReportDto> {
    const { from, to } = this.range(range);
    const own = this.ownOnly();
    const self = this.context.principal.userId;
    if (userId !== undefined && userId !== self) {
      if (own)
        throw new AuthError(
          AuthErrorCode.PERMISSION_DENIED,
          "Only tenant-wide readers may report another user's usage.",
        );
      if (!(await this.users.findById(userId)))
        throw new BillingError(BillingErrorCode.USER_NOT_FOUND, 'User not found.');
    }
    const filterUser = own ? (self ?? NONE) : userId;
    const rows = await this.usage.summary({ from, to, meter, userId: filterUser }, groupBy);
    return { from, to, groupBy, rows: rows.map(present(groupBy)) };
  }

  async leaderboard(range: Range, meter: string, limit: number): Promise<UsageReportDto> {
    const { from, to } = this.range(range);
    const rows = (await this.usage.summary({ from, to, meter }, 'user', limit + 1)).filter((r) => r.key !== NONE);
    return { from, to, groupBy: 'user', rows: rows.slice(0, limit) };
  }

  async costs(range: Range, groupBy: GroupBy): Promise<UsageReportDto> {
    const { from, to } = this.range(range);
    const rows = await this.usage.summary({ from, to }, groupBy);
    return {
      from,
      to,
      groupBy,
      rows: rows.map(present(groupBy)).sort((a, b) => b.costMicros - a.costMicros || (a.key < b.key ? -1 : 1)),
    };
  }

  async platformSummary(range: Range, groupBy: PlatformGroupBy, meter?: string): Promise<UsageReportDto> {
    const { from, to } = this.range(range);
    const rows = await this.platform.summary(from, to, groupBy, meter, 1000);
    return { from, to, groupBy, rows };
  }

  async platformLeaderboard(range: Range, meter: string, limit: number): Promise<UsageReportDto> {
    const { from, to } = this.range(range);
    const rows = await this.platform.summary(from, to, 'tenant', meter, limit);
    return { from, to, groupBy: 'tenant', rows };
  }

  onModuleInit(): void {
    this.hooks.reportTenantUsage(this);
  }

  /** The current billing period's usage, for the tenant's statistics (acting in the tenant). */
  async usageFigures(): Promise<TenantUsageFigures | null> {
    const tenantPlan = await this.plans.current(this.context.tenantId);
    if (!tenantPlan) return null;
    const period = billingPeriodOf(this.clock.now(), anchorOf(tenantPlan));
    const totals = await this.usage.totalsByMeter(period.start, period.end);
    const meters = [...totals].map(([meter, t]) => ({ meter, quantity: t.quantity, costMicros: t.costMicros }));
    const wallet = await this.wallet.get();
    return {
      plan: tenantPlan.plan.code,
      periodStart: isoSeconds(period.start),
      periodEnd: isoSeconds(period.end),
      events: [...totals.values()].reduce((n, t) => n + t.events, 0),
      costMicros: meters.reduce((n, m) => n + m.costMicros, 0),
      meters: meters.sort((a, b) => (a.meter < b.meter ? -1 : 1)),
      creditsAvailableMicros: holdableMicros(wallet),
    };
  }

  /** The billing period's statement: plan fee, one line per charge, credits granted and used, total. */
  async statement(tenantId: string, which: 'current' | 'previous'): Promise<StatementDto> {
    return this.scope.inVisible(tenantId, async (tenant) => {
      const tenantPlan = await this.plans.current(tenant.id);
      if (!tenantPlan) throw planNotFound();
      const { plan } = tenantPlan;
      let period = billingPeriodOf(this.clock.now(), anchorOf(tenantPlan));
      if (which === 'previous') period = billingPeriodOf(new Date(period.start.getTime() - 1), anchorOf(tenantPlan));
      const totals = await this.usage.totalsByMeter(period.start, period.end);
      const lines = plan.charges.map((charge) => {
        const quantity = totals.get(charge.meter)?.quantity ?? 0;
        const billable = Math.max(0, quantity - charge.includedQuantity);
        return {
          meter: charge.meter,
          quantity,
          includedQuantity: charge.includedQuantity,
          billableQuantity: billable,
          unitPriceMicros: charge.unitPriceMicros,
          amountMicros: billable * charge.unitPriceMicros,
        };
      });
      const credits = await this.ledgerEntries.movements(period.start, period.end);
      return {
        tenantId: tenant.id,
        planCode: plan.code,
        currency: plan.currency,
        period: { start: isoSeconds(period.start), end: isoSeconds(period.end) },
        planFeeMicros: plan.priceMicros,
        lines,
        creditsGrantedMicros: credits.grantedMicros,
        creditsUsedMicros: credits.usedMicros,
        totalMicros: plan.priceMicros + lines.reduce((sum, l) => sum + l.amountMicros, 0),
      };
    });
  }

  private ownOnly(): boolean {
    const principal = this.context.principal;
    if (principal.kind === 'tenant_app' || principal.kind === 'platform_admin') return false;
    return principal.apiKeyId !== undefined || !principal.permissions.has(Permission.BILLING_READ);
  }

  private range({ from, to }: Range): { from: string; to: string } {
    const end = to ?? this.clock.now().toISOString().slice(0, 10);
    const start = from ?? new Date(Date.parse(`${end}T00:00:00Z`) - 29 * DAY_MS).toISOString().slice(0, 10);
    const days = (Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / DAY_MS;
    if (days < 0 || days >= MAX_RANGE_DAYS) {
      throw new CommonError(
        CommonErrorCode.VALIDATION_FAILED,
        `from must be on or before to, at most ${MAX_RANGE_DAYS} days.`,
        {
          errors: [
            { field: 'from', messages: [`from must be on or before to, at most ${MAX_RANGE_DAYS} days before it`] },
          ],
        },
      );
    }
    return { from: start, to: end };
  }
}

/** Aggregates key "no user" / "no key" as the zero UUID; reports show it as an empty key. */
const present = (groupBy: GroupBy) => (row: { key: string; quantity: number; costMicros: number; events: number }) =>
  (groupBy === 'user' || groupBy === 'apiKey') && row.key === NONE ? { ...row, key: '' } : row;
