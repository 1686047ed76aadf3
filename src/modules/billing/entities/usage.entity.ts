import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber } from '../../../core/database/bigint-number.js';
import type { Period } from './plan.entity.js';

/** Quota usage of one subject (the tenant, or a user) for one meter and window. */
@Entity('quota_counters')
export class QuotaCounter {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('uuid', { name: 'subject_id' })
  subjectId: string;

  @PrimaryColumn('varchar')
  meter: string;

  @PrimaryColumn('varchar')
  period: Period;

  @PrimaryColumn('timestamptz', { name: 'window_start' })
  windowStart: Date;

  @Column('bigint', { transformer: bigintNumber })
  used: number;

  @Column('bigint', { transformer: bigintNumber })
  reserved: number;
}

/**
 * A counter a reservation holds quantity in: of the reservation's own meter
 * and quantity, or of another `meter` with its own `quantity` (a chat call's tokens).
 */
export interface CounterHold {
  subjectId: string;
  period: Period;
  windowStart: string;
  meter?: string;
  quantity?: number;
}

export type ReservationStatus = 'held' | 'committed' | 'released' | 'expired';

@Entity('reservations')
export class Reservation {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'user_id', nullable: true })
  userId: string | null;

  @Column('uuid', { name: 'api_key_id', nullable: true })
  apiKeyId: string | null;

  @Column('varchar')
  meter: string;

  @Column('bigint', { transformer: bigintNumber })
  quantity: number;

  @Column('bigint', { name: 'estimated_cost_micros', transformer: bigintNumber })
  estimatedCostMicros: number;

  /** Credits held in the wallet for it (prepaid plans), released or settled with it. */
  @Column('bigint', { name: 'wallet_hold_micros', transformer: bigintNumber })
  walletHoldMicros: number;

  @Column('varchar')
  status: ReservationStatus;

  @Column('jsonb')
  holds: CounterHold[];

  @Column('varchar', { name: 'idempotency_key' })
  idempotencyKey: string;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt: Date;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column('timestamptz', { name: 'settled_at', nullable: true })
  settledAt: Date | null;
}

/** One usage event: the raw record (reports read the daily aggregates instead). */
@Entity('usage_events')
export class UsageEvent {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('uuid')
  id: string;

  /** The caller's id for the event: its idempotency key, unique per tenant. */
  @Column('varchar', { name: 'event_id' })
  eventId: string;

  @Column('uuid', { name: 'user_id', nullable: true })
  userId: string | null;

  @Column('uuid', { name: 'api_key_id', nullable: true })
  apiKeyId: string | null;

  @Column('uuid', { name: 'reservation_id', nullable: true })
  reservationId: string | null;

  @Column('varchar')
  meter: string;

  @Column('bigint', { transformer: bigintNumber })
  quantity: number;

  @Column('bigint', { name: 'cost_micros', transformer: bigintNumber })
  costMicros: number;

  @Column('varchar', { nullable: true })
  model: string | null;

  @Column('varchar', { nullable: true })
  provider: string | null;

  @Column('int', { name: 'latency_ms', nullable: true })
  latencyMs: number | null;

  @Column('varchar')
  status: string;

  @Column('varchar', { name: 'client_ip', nullable: true })
  clientIp: string | null;

  @Column('varchar', { name: 'request_id', nullable: true })
  requestId: string | null;

  @Column('jsonb', { nullable: true })
  metadata: Record<string, unknown> | null;

  @Column('timestamptz', { name: 'occurred_at' })
  occurredAt: Date;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;
}

/** Usage per day, meter, user, key, model and provider: what reports read. */
@Entity('usage_daily')
export class UsageDaily {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('date')
  day: string;

  @PrimaryColumn('varchar')
  meter: string;

  @PrimaryColumn('uuid', { name: 'user_id' })
  userId: string;

  @PrimaryColumn('uuid', { name: 'api_key_id' })
  apiKeyId: string;

  @PrimaryColumn('varchar')
  model: string;

  @PrimaryColumn('varchar')
  provider: string;

  @Column('bigint', { transformer: bigintNumber })
  quantity: number;

  @Column('bigint', { name: 'cost_micros', transformer: bigintNumber })
  costMicros: number;

  @Column('bigint', { transformer: bigintNumber })
  events: number;
}
