import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { RequestContext } from '../../core/context/request-context.js';
import { TenantScopedRepository } from '../../core/database/tenant-scoped.repository.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import type { Period } from './entities/plan.entity.js';
import { type CounterHold, QuotaCounter, Reservation, type ReservationStatus } from './entities/usage.entity.js';

/** One quota a use must fit in: the subject's counter for the meter in the current window, and its limit. */
export interface QuotaCheck {
  subjectId: string;
  scope: 'tenant' | 'user';
  meter: string;
  period: Period;
  windowStart: Date;
  windowEnd: Date;
  limit: number;
}

export interface CounterState {
  used: number;
  reserved: number;
}

type CounterId = { subjectId: string; meter: string; period: string; windowStart: Date | string };

/** `subject|meter|period|windowStart (ISO)`: one counter row. */
export const counterKey = (c: CounterId): string =>
  `${c.subjectId}|${c.meter}|${c.period}|${new Date(c.windowStart).toISOString()}`;

/** The counters' identities as the four arrays the statements unnest. */
const counterColumns = (checks: CounterId[]) => [
  checks.map((c) => c.subjectId),
  checks.map((c) => c.meter),
  checks.map((c) => c.period),
  checks.map((c) => new Date(c.windowStart).toISOString()),
];

/** Counters are always touched in this order, so two units of work never wait on each other in a cycle. */
export function lockOrder<T extends CounterId>(checks: T[]): T[] {
  return checks
    .map((check) => ({ check, key: counterKey(check) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ check }) => check);
}

/**
 * Quota counters. Each hold or use is one conditional statement on the
 * counter's row (created on first use), so N concurrent uses of remaining
 * quota Q succeed exactly min(N, Q) times, on any number of instances.
 */
@Injectable()
export class QuotaCountersRepository extends TenantScopedRepository<QuotaCounter> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(QuotaCounter, uow, context);
  }

  /**
   * Adds `quantity` to the counter's `reserved` (hold) or `used` (direct use)
   * if used + reserved + quantity stays within the limit. Returns false, and
   * changes nothing, when it would not.
   */
  async add(check: QuotaCheck, quantity: number, column: 'reserved' | 'used'): Promise<boolean> {
    if (quantity > check.limit) return false;
    const rows = await this.query(
      `INSERT INTO quota_counters AS c (tenant_id, subject_id, meter, period, window_start, used, reserved)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (tenant_id, subject_id, meter, period, window_start)
       DO UPDATE SET ${column} = c.${column} + $8
        WHERE c.used + c.reserved + $8 <= $9
       RETURNING 1`,
      [
        check.subjectId,
        check.meter,
        check.period,
        check.windowStart,
        column === 'used' ? quantity : 0,
        column === 'reserved' ? quantity : 0,
        quantity,
        check.limit,
      ],
    );
    return rows.length === 1;
  }

  /**
   * Creates the counters that do not exist yet and locks all of them (in the
   * order given) until the unit of work ends; returns their state by counterKey.
   */
  async lockAll(checks: QuotaCheck[]): Promise<Map<string, CounterState>> {
    if (checks.length === 0) return new Map();
    await this.query(
      `INSERT INTO quota_counters (tenant_id, subject_id, meter, period, window_start)
       SELECT $1, s, m, p, w FROM unnest($2::uuid[], $3::text[], $4::text[], $5::timestamptz[]) AS v(s, m, p, w)
       ON CONFLICT (tenant_id, subject_id, meter, period, window_start) DO NOTHING`,
      counterColumns(checks),
    );
    return this.read(checks, 'FOR UPDATE OF c');
  }

  /** The state of each counter (zero for one not used yet), by counterKey; one statement, no locks. */
  async states(checks: CounterId[]): Promise<Map<string, CounterState>> {
    const found = checks.length === 0 ? new Map<string, CounterState>() : await this.read(checks, '');
    return new Map(checks.map((c) => [counterKey(c), found.get(counterKey(c)) ?? { used: 0, reserved: 0 }]));
  }

  private async read(checks: CounterId[], lock: '' | 'FOR UPDATE OF c'): Promise<Map<string, CounterState>> {
    const rows = await this.query<{
      subject_id: string;
      meter: string;
      period: string;
      window_start: Date;
      used: string;
      reserved: string;
    }>(
      `SELECT c.subject_id, c.meter, c.period, c.window_start, c.used, c.reserved
         FROM quota_counters c
         JOIN unnest($2::uuid[], $3::text[], $4::text[], $5::timestamptz[]) AS v(s, m, p, w)
           ON c.subject_id = v.s AND c.meter = v.m AND c.period = v.p AND c.window_start = v.w
        WHERE c.tenant_id = $1
        ORDER BY c.subject_id, c.meter, c.period, c.window_start
          ${lock}`,
      counterColumns(checks),
    );
    return new Map(
      rows.map((r) => [
        counterKey({ subjectId: r.subject_id, meter: r.meter, period: r.period, windowStart: r.window_start }),
        { used: Number(r.used), reserved: Number(r.reserved) },
      ]),
    );
  }

  /** Adds each quantity to its counter's `used` (rows locked by lockAll in this unit of work). */
  async addUsed(uses: { check: QuotaCheck; quantity: number }[]): Promise<void> {
    if (uses.length === 0) return;
    await this.query(
      `UPDATE quota_counters c SET used = c.used + v.q
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[]) AS v(s, m, p, w, q)
        WHERE c.tenant_id = $1 AND c.subject_id = v.s AND c.meter = v.m AND c.period = v.p AND c.window_start = v.w`,
      [
        uses.map((u) => u.check.subjectId),
        uses.map((u) => u.check.meter),
        uses.map((u) => u.check.period),
        uses.map((u) => u.check.windowStart.toISOString()),
        uses.map((u) => u.quantity),
      ],
    );
  }

  /** Ends a hold: its quantity leaves `reserved`, and `used` (the actual quantity) joins `used`. */
  async settle(holds: CounterHold[], meter: string, reserved: number, used: number): Promise<void> {
    for (const hold of lockOrder(holds.map((h) => ({ ...h, meter })))) {
      await this.query(
        `UPDATE quota_counters SET reserved = GREATEST(reserved - $6, 0), used = used + $7
          WHERE tenant_id = $1 AND subject_id = $2 AND meter = $3 AND period = $4 AND window_start = $5`,
        [hold.subjectId, meter, hold.period, hold.windowStart, reserved, used],
      );
    }
  }
}

@Injectable()
export class ReservationsRepository extends TenantScopedRepository<Reservation> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(Reservation, uow, context);
  }

  /**
   * Creates the reservation, unless one with its idempotency key exists (null then). A
   * concurrent creation with the same key is waited for: whichever commits first wins.
   */
  async createUnlessKeyed(
    values: Omit<Reservation, 'tenantId' | 'id' | 'createdAt' | 'settledAt' | 'status'>,
  ): Promise<Reservation | null> {
    const id = randomUUID();
    const [row] = await this.query<{ created_at: Date }>(
      `INSERT INTO reservations (tenant_id, id, user_id, api_key_id, meter, quantity, estimated_cost_micros,
                                 wallet_hold_micros, holds, idempotency_key, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
       RETURNING created_at`,
      [
        id,
        values.userId,
        values.apiKeyId,
        values.meter,
        values.quantity,
        values.estimatedCostMicros,
        values.walletHoldMicros,
        JSON.stringify(values.holds),
        values.idempotencyKey,
        values.expiresAt,
      ],
    );
    if (!row) return null;
    return { ...values, tenantId: '', id, status: 'held', createdAt: new Date(row.created_at), settledAt: null };
  }

  findByIdempotencyKey(key: string): Promise<Reservation | null> {
    return this.findOne({ idempotencyKey: key });
  }

  findById(id: string): Promise<Reservation | null> {
    return this.findOne({ id });
  }

  /** The reservation, locked until the unit of work ends (a commit and a release cannot both settle it). */
  async lockById(id: string): Promise<Reservation | null> {
    const [row] = await this.lock({ id });
    return row ?? null;
  }

  async settle(id: string, status: Exclude<ReservationStatus, 'held'>, at: Date): Promise<void> {
    await this.updateWhere({ id }, { status, settledAt: at });
  }
}
