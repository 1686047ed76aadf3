import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber } from '../../../core/database/bigint-number.js';
import type { Period } from './plan.entity.js';

/** A tenant's default quota for each of its users. */
@Entity('quota_defaults')
export class QuotaDefault {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('varchar')
  meter: string;

  @PrimaryColumn('varchar')
  period: Period;

  @Column('bigint', { name: 'quota_limit', transformer: bigintNumber })
  limit: number;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}

/** A user's own quota (an override, which can only tighten the plan's). */
@Entity('user_quotas')
export class UserQuota {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('uuid', { name: 'user_id' })
  userId: string;

  @PrimaryColumn('varchar')
  meter: string;

  @PrimaryColumn('varchar')
  period: Period;

  @Column('bigint', { name: 'quota_limit', transformer: bigintNumber })
  limit: number;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}
