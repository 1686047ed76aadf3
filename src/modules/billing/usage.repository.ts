import { Injectable } from '@nestjs/common';
import { RequestContext } from '../../core/context/request-context.js';
import { TenantScopedRepository } from '../../core/database/tenant-scoped.repository.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { UsageDaily, UsageEvent } from './entities/usage.entity.js';

/** "No user" / "no key" in aggregate keys, which cannot hold NULL. */
export const NONE = '00000000-0000-0000-0000-000000000000';

export interface NewUsageEvent {
  eventId: string;
  userId: string | null;
  apiKeyId: string | null;
  reservationId: string | null;
  meter: string;
  quantity: number;
  costMicros: number;
  model: string | null;
  provider: string | null;
  latencyMs: number | null;
  status: string;
  clientIp: string | null;
  requestId: string | null;
  metadata: Record<string, unknown> | null;
  occurredAt: Date;
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

/** The event columns after the tenant: name, the type its array is cast to, and the value of an event. */
const EVENT_COLUMNS: readonly (readonly [string, string, (e: NewUsageEvent) => unknown])[] = [
  ['event_id', 'varchar', (e) => e.eventId],
  ['user_id', 'uuid', (e) => e.userId],
  ['api_key_id', 'uuid', (e) => e.apiKeyId],
  ['reservation_id', 'uuid', (e) => e.reservationId],
  ['meter', 'varchar', (e) => e.meter],
  ['quantity', 'bigint', (e) => e.quantity],
  ['cost_micros', 'bigint', (e) => e.costMicros],
  ['model', 'varchar', (e) => e.model],
  ['provider', 'varchar', (e) => e.provider],
  ['latency_ms', 'int', (e) => e.latencyMs],
  ['status', 'varchar', (e) => e.status],
  ['client_ip', 'varchar', (e) => e.clientIp],
  ['request_id', 'varchar', (e) => e.requestId],
  ['metadata', 'jsonb', (e) => (e.metadata === null ? null : JSON.stringify(e.metadata))],
  ['occurred_at', 'timestamptz', (e) => e.occurredAt.toISOString()],
];

/**
 * One statement text for any batch size: each column arrives as one array, so the
 * statement is short, its parameters few, and PostgreSQL parses the same text every time.
 */
const INSERT_EVENTS = `INSERT INTO usage_events (tenant_id, ${EVENT_COLUMNS.map(([c]) => c).join(', ')})
  SELECT $1, ${EVENT_COLUMNS.map(([c]) => `e.${c}`).join(', ')}
    FROM unnest(${EVENT_COLUMNS.map(([, type], i) => `$${i + 2}::${type}[]`).join(', ')})
         WITH ORDINALITY AS e(${EVENT_COLUMNS.map(([c]) => c).join(', ')}, position)
   ORDER BY e.position
  ON CONFLICT (tenant_id, event_id) DO NOTHING
  RETURNING id, event_id`;

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

  /** Inserts the events that are new; returns the ids (event id → row id) of those it inserted. */
  async insertNew(events: NewUsageEvent[]): Promise<Map<string, string>> {
    if (events.length === 0) return new Map();
    // One order for every writer, so concurrent batches sharing ids cannot deadlock.
    const sorted = [...events].sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
    const rows = await this.query<{ id: string; event_id: string }>(
      INSERT_EVENTS,
      EVENT_COLUMNS.map(([, , value]) => sorted.map(value)),
    );
    return new Map(rows.map((r) => [r.event_id, r.id]));
  }

  async deleteByIds(ids: string[]): Promise<void> {
    if (ids.length > 0)
      await this.query(`DELETE FROM usage_events WHERE tenant_id = $1 AND id = ANY($2::uuid[])`, [ids]);
  }
}

/** The daily aggregates (tenant, day, meter, user, key, model, provider) that every report reads. */
@Injectable()
export class UsageDailyRepository extends TenantScopedRepository<UsageDaily> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(UsageDaily, uow, context);
  }

  /** Adds accepted events to the daily aggregates (one upsert; rows in one order). */
  async aggregate(events: NewUsageEvent[]): Promise<void> {
    const groups = new Map<string, { key: unknown[]; quantity: number; cost: number; events: number }>();
    for (const e of events) {
      const key = [
        e.occurredAt.toISOString().slice(0, 10),
        e.meter,
        e.userId ?? NONE,
        e.apiKeyId ?? NONE,
        e.model ?? '',
        e.provider ?? '',
      ];
      const id = key.join('|');
      const group = groups.get(id) ?? { key, quantity: 0, cost: 0, events: 0 };
      group.quantity += e.quantity;
      group.cost += e.costMicros;
      group.events += 1;
      groups.set(id, group);
    }
    if (groups.size === 0) return;
    const rows = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
    const column = (i: number) => rows.map((g) => g.key[i]);
    await this.query(
      `INSERT INTO usage_daily AS d (tenant_id, day, meter, user_id, api_key_id, model, provider, quantity, cost_micros, events)
       SELECT $1, g.day, g.meter, g.user_id, g.api_key_id, g.model, g.provider, g.quantity, g.cost_micros, g.events
         FROM unnest($2::date[], $3::varchar[], $4::uuid[], $5::uuid[], $6::varchar[], $7::varchar[],
                     $8::bigint[], $9::bigint[], $10::bigint[])
              WITH ORDINALITY AS g(day, meter, user_id, api_key_id, model, provider, quantity, cost_micros, events, position)
        ORDER BY g.position
       ON CONFLICT (tenant_id, day, meter, user_id, api_key_id, model, provider) DO UPDATE
         SET quantity = d.quantity + EXCLUDED.quantity, cost_micros = d.cost_micros + EXCLUDED.cost_micros,
             events = d.events + EXCLUDED.events`,
      [
        ...[0, 1, 2, 3, 4, 5].map(column),
        rows.map((g) => g.quantity),
        rows.map((g) => g.cost),
        rows.map((g) => g.events),
      ],
    );
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
