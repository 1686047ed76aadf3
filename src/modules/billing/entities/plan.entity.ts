import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { bigintNumber } from '../../../core/database/bigint-number.js';
import { QUOTA_PERIODS } from '../../../core/identity/lifecycle-hooks.js';

export const PERIODS = QUOTA_PERIODS;
export type Period = (typeof PERIODS)[number];
export const QUOTA_SCOPES = ['tenant', 'user'] as const;
export type QuotaScope = (typeof QUOTA_SCOPES)[number];

export interface PlanQuota {
  meter: string;
  limit: number;
  period: Period;
  scope: QuotaScope;
}

export interface PlanCharge {
  meter: string;
  unitPriceMicros: number;
  includedQuantity: number;
}

// A type alias, not an interface: the Swagger plugin reads entity files and mis-resolves a lone interface.
export type PlanRateLimits = {
  /** Requests per minute per user or API key on metered routes. */
  requestsPerMinute?: number;
  /** Requests per minute for the whole tenant on metered routes. */
  tenantRequestsPerMinute?: number;
};

export type BillingMode = 'prepaid' | 'postpaid';
export type PlanStatus = 'active' | 'archived';

/** A plan of the platform catalog; tenants subscribe to one. */
@Entity('plans')
export class Plan {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('varchar')
  code: string;

  @Column('varchar')
  name: string;

  @Column('bigint', { name: 'price_micros', transformer: bigintNumber })
  priceMicros: number;

  @Column('char', { length: 3 })
  currency: string;

  @Column('varchar')
  interval: 'month' | 'year';

  @Column('varchar')
  tier: string;

  @Column('varchar', { name: 'billing_mode' })
  billingMode: BillingMode;

  @Column('bigint', { name: 'included_credits_micros', transformer: bigintNumber })
  includedCreditsMicros: number;

  @Column('jsonb', { name: 'rate_limits' })
  rateLimits: PlanRateLimits;

  @Column('jsonb')
  quotas: PlanQuota[];

  @Column('jsonb')
  charges: PlanCharge[];

  @Column('varchar')
  status: PlanStatus;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}
