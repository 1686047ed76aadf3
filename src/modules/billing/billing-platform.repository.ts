import { Injectable } from '@nestjs/common';
import { PlatformRepository } from '../../core/database/platform.repository.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { Reservation } from './entities/usage.entity.js';
import { type UsageRow, type UsageSums, usageTotals } from './usage.repository.js';

export const PLATFORM_GROUPS = {
  tenant: 'd.tenant_id::text',
  plan: 'p.code',
  meter: 'd.meter',
  model: 'd.model',
  provider: 'd.provider',
  day: 'd.day::text',
} as const;
export type PlatformGroupBy = keyof typeof PLATFORM_GROUPS;

/**
 * The billing queries that span tenants, named and reviewed one by one: finding
 * expired reservations for the sweeper (which then settles each inside its
 * tenant) and the super admin's platform-wide reports.
 */
@Injectable()
export class BillingPlatformRepository extends PlatformRepository<Reservation> {
  constructor(uow: UnitOfWork) {
    super(Reservation, uow);
  }

  /** Reservations still held past their expiry, oldest first. */
  async expiredHolds(now: Date, limit: number): Promise<{ tenantId: string; id: string }[]> {
    const rows: { tenant_id: string; id: string }[] = await this.run((_r, manager) =>
      manager.query(
        `SELECT tenant_id, id FROM reservations WHERE status = 'held' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`,
        [now, limit],
      ),
    );
    return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id }));
  }

  async summary(
    from: string,
    to: string,
    groupBy: PlatformGroupBy,
    meter: string | undefined,
    limit: number,
  ): Promise<UsageRow[]> {
    const column = PLATFORM_GROUPS[groupBy];
    const params: unknown[] = [from, to];
    let where = 'd.day BETWEEN $1 AND $2';
    if (meter) {
      params.push(meter);
      where += ` AND d.meter = $${params.length}`;
    }
    params.push(limit);
    const rows: (UsageSums & { key: string })[] = await this.run((_r, manager) =>
      manager.query(
        `SELECT ${column} AS key, sum(d.quantity) AS quantity, sum(d.cost_micros) AS cost, sum(d.events) AS events
           FROM usage_daily d
           JOIN subscriptions s ON s.tenant_id = d.tenant_id
           JOIN plans p ON p.id = s.plan_id
          WHERE ${where}
          GROUP BY ${column}
          ORDER BY ${groupBy === 'day' ? 'key' : 'sum(d.quantity) DESC, key'}
          LIMIT $${params.length}`,
        params,
      ),
    );
    return rows.map((r) => ({ key: r.key, ...usageTotals(r) }));
  }
}
