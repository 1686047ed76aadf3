import { Injectable } from '@nestjs/common';
import { RequestContext } from '../../core/context/request-context.js';
import { TenantScopedRepository } from '../../core/database/tenant-scoped.repository.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { UsageDaily, UsageEvent } from './entities/usage.entity.js';
import type { QuotaCheck } from './metering.repository.js';

/** "No user" / "no key" in aggregate keys, which cannot hold NULL. */
export const NONE = '00000000-0000-0000-0000-000000000000';

/** A usage event a tenant app reports, as recorded (see UsageRepository.ingest). */
export interface NewEvent {
  eventId: string;
  userId: string | null;
  meter: string;
  quantity: number;
  costMicros: number;
  model: string | null;
  provider: string | null;
  metadata: Record<string, unknown> | null;
  occurredAt: Date;
}

/** A batch of new events for UsageRepository.ingest. */
export interface IngestBatch {
  /** In the order they are admitted. */
  events: NewEvent[];
  /** The quota counters the events count on, in lock order. */
  counters: QuotaCheck[];
  /** Each event's counters, as indexes into `counters`. */
  links: number[][];
  prepaid: boolean;
  apiKeyId: string | null;
  origin: { clientIp: string | null; requestId: string | null };
}

/** What became of a batch: events (by index) that were duplicates or were refused, and what was debited. */
export interface IngestOutcome {
  duplicates: number[];
  refused: (
    | { event: number; kind: 'credits'; availableMicros: number }
    | { event: number; kind: 'quota'; counter: number; taken: number }
  )[];
  debitedMicros: number;
}

interface IngestRow {
  duplicates: number[];
  refused: ([number, 'credits', number] | [number, 'quota', number, number])[];
  debited: number;
}

export const GROUP_COLUMNS = {
  day: 'day',
  meter: 'meter',
  model: 'model',
  provider: 'provider',
  user: 'user_id',
  apiKey: 'api_key_id',
} as const;
export type GroupBy = keyof typeof GROUP_COLUMNS;

export interface UsageFilter {
  from: string;
  to: string;
  meter?: string;
  userId?: string;
}

export interface UsageRow {
  key: string;
  quantity: number;
  costMicros: number;
  events: number;
}

/** A row of sums over the daily aggregates, as PostgreSQL returns them (bigint sums as text). */
export interface UsageSums {
  quantity: string;
  cost: string;
  events: string;
}

export const usageTotals = (r: UsageSums): Omit<UsageRow, 'key'> => ({
  quantity: Number(r.quantity),
  costMicros: Number(r.cost),
  events: Number(r.events),
});

/**
 * Usage events and the daily aggregates reports read. Events are written with
 * their caller-given id as a per-tenant unique key, so the same event posted
 * twice, even in parallel, is stored once (the second insert waits for the
 * first to commit, then finds it).
 */
@Injectable()
export class UsageRepository extends TenantScopedRepository<UsageEvent> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(UsageEvent, uow, context);
  }

  /**
   * Records a batch in one database call (see the ingest events function
   * migration): new events are inserted (an id already recorded, also by a
   * batch racing this one, is a duplicate), then admitted one by one against
   * the wallet (prepaid) and their quota counters, all locked until it ends; the
   * admitted ones count on the counters, the wallet (one debit entry) and the
   * daily aggregates, the refused ones leave nothing behind.
   */
  async ingest(batch: IngestBatch): Promise<IngestOutcome> {
    const links: number[] = [];
    const events = batch.events.map((e, i) => {
      for (const counter of batch.links[i]) links.push(counter + 1);
      return {
        n: i + 1,
        event_id: e.eventId,
        user_id: e.userId ?? undefined,
        meter: e.meter,
        quantity: e.quantity,
        cost_micros: e.costMicros,
        model: e.model ?? undefined,
        provider: e.provider ?? undefined,
        metadata: e.metadata ?? undefined,
        occurred_at: e.occurredAt.toISOString(),
        links_end: links.length,
      };
    });
    const counters = batch.counters.map((c, i) => ({
      n: i + 1,
      subject_id: c.subjectId,
      meter: c.meter,
      period: c.period,
      window_start: c.windowStart.toISOString(),
      lim: c.limit,
    }));
    const [{ r }] = await this.call<{ r: IngestRow }>(`SELECT atrium_ingest($1, $2, $3, $4, $5, $6, $7, $8, $9) AS r`, [
      JSON.stringify(events),
      JSON.stringify(counters),
      links,
      batch.prepaid,
      batch.apiKeyId,
      batch.origin.clientIp,
      batch.origin.requestId,
    ]);
    return {
      duplicates: r.duplicates.map((n) => n - 1),
      refused: r.refused.map(([n, kind, a, b]) =>
        kind === 'credits'
          ? { event: n - 1, kind, availableMicros: Number(a) }
          : { event: n - 1, kind: 'quota', counter: Number(a) - 1, taken: Number(b) },
      ),
      debitedMicros: Number(r.debited),
    };
  }
}

/** The daily aggregates (tenant, day, meter, user, key, model, provider) that every report reads. */
@Injectable()
export class UsageDailyRepository extends TenantScopedRepository<UsageDaily> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(UsageDaily, uow, context);
  }

  /** Sums of the aggregates in [from, to] (days, UTC), grouped. */
  async summary(filter: UsageFilter, groupBy: GroupBy, limit = 1000): Promise<UsageRow[]> {
    const column = GROUP_COLUMNS[groupBy];
    const params: unknown[] = [filter.from, filter.to];
    let where = 'tenant_id = $1 AND day BETWEEN $2 AND $3';
    if (filter.meter) {
      params.push(filter.meter);
      where += ` AND meter = $${params.length + 1}`;
    }
    if (filter.userId) {
      params.push(filter.userId);
      where += ` AND user_id = $${params.length + 1}`;
    }
    params.push(limit);
    const rows = await this.query<UsageSums & { key: string }>(
      `SELECT ${column}::text AS key, sum(quantity) AS quantity, sum(cost_micros) AS cost, sum(events) AS events
         FROM usage_daily WHERE ${where}
        GROUP BY ${column} ORDER BY ${groupBy === 'day' ? 'key' : 'sum(quantity) DESC, key'} LIMIT $${params.length + 1}`,
      params,
    );
    return rows.map((r) => ({ key: r.key, ...usageTotals(r) }));
  }

  /** Usage of each meter in [from, to) as timestamps (statements: a billing period). */
  async totalsByMeter(
    from: Date,
    to: Date,
  ): Promise<Map<string, { quantity: number; costMicros: number; events: number }>> {
    const rows = await this.query<UsageSums & { meter: string }>(
      `SELECT meter, sum(quantity) AS quantity, sum(cost_micros) AS cost, sum(events) AS events FROM usage_daily
        WHERE tenant_id = $1 AND day >= $2::date AND day < $3::date GROUP BY meter`,
      [from.toISOString().slice(0, 10), to.toISOString().slice(0, 10)],
    );
    return new Map(rows.map((r) => [r.meter, usageTotals(r)]));
  }
}
