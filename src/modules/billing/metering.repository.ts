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

/** A counter as the metering functions take it in JSON (a reservation's holds, usage recorded with a commit). */
const counterHold = (c: QuotaCheck): CounterHold => ({
  subjectId: c.subjectId,
  period: c.period,
  windowStart: c.windowStart.toISOString(),
});

/** A quota a reservation holds room on: of its own meter, or (`quantity` set) of another meter. */
export type HoldCheck = QuotaCheck & { quantity?: number };

/** A reservation's hold on a counter: a hold of another meter names the meter and its quantity. */
const reservationHold = (c: HoldCheck): CounterHold =>
  c.quantity === undefined ? counterHold(c) : { ...counterHold(c), meter: c.meter, quantity: c.quantity };

/** SQLSTATEs the metering functions raise when a hold does not fit (see the metering functions migration). */
const QUOTA_EXCEEDED_STATE = 'AQ001';
const INSUFFICIENT_CREDITS_STATE = 'AQ002';

/** A hold refused by the database: no room on a quota counter (`check`: its index in the checks) or in the wallet. */
export class HoldRefused extends Error {
  constructor(
    readonly refused: 'quota' | 'credits',
    readonly check = -1,
  ) {
    super(refused === 'quota' ? `No room on quota counter ${check}` : 'No room in the wallet');
  }

  static from(err: unknown): HoldRefused | null {
    const driver = (err as { driverError?: { code?: unknown; message?: unknown } }).driverError ?? err;
    const { code, message } = driver as { code?: unknown; message?: unknown };
    if (code === QUOTA_EXCEEDED_STATE) return new HoldRefused('quota', Number(message));
    if (code === INSUFFICIENT_CREDITS_STATE) return new HoldRefused('credits');
    return null;
  }
}

/**
 * A call of another module's tenant function, made by the statement that commits once the commit
 * has succeeded, so that its record and the usage are written together (the gateway's generation
 * record): `sql(first)` is the call, with the tenant and the row-level-security flag as `$1` and
 * `$2`, and its own parameters numbered from `$first`.
 */
export interface CommitAlongside {
  sql: (first: number) => string;
  params: unknown[];
}

/** Who commits: a tenant-wide actor (`any`), or a user who may commit only their own reservations. */
export interface CommitCall {
  actor: 'any' | string | null;
  now: Date;
  quantity?: number;
  costMicros?: number;
  /** The tenant's plan is prepaid (a reservation that holds credits is settled as prepaid regardless). */
  prepaidPlan: boolean;
  model?: string;
  provider?: string;
  metadata?: Record<string, unknown>;
  clientIp: string | null;
  requestId: string | null;
  /** Usage on other meters (quantities above zero), with the quota counters it counts on (see atrium_record_used). */
  alsoUsed?: { meter: string; quantity: number; counters: QuotaCheck[] }[];
  alongside?: CommitAlongside;
}

type CommitRefusal =
  | { outcome: 'not_found' }
  | { outcome: 'settled'; status: ReservationStatus }
  | { outcome: 'expired' }
  | { outcome: 'above_reserved'; reserved: number };

type CommitOutcomeRow =
  | CommitRefusal
  | {
      outcome: 'committed';
      reservation: Record<string, unknown>;
      quantity: number;
      cost: number;
      debited: number;
      shortfall: number;
    };

export type CommitOutcome =
  | CommitRefusal
  | {
      outcome: 'committed';
      reservation: Reservation;
      quantity: number;
      costMicros: number;
      debitedMicros: number;
      shortfallMicros: number;
    };

/** A reservation row as the database function answers it (to_jsonb). */
const reservationOf = (r: Record<string, unknown>): Reservation => ({
  tenantId: r.tenant_id as string,
  id: r.id as string,
  userId: (r.user_id as string | null) ?? null,
  apiKeyId: (r.api_key_id as string | null) ?? null,
  meter: r.meter as string,
  quantity: Number(r.quantity),
  estimatedCostMicros: Number(r.estimated_cost_micros),
  walletHoldMicros: Number(r.wallet_hold_micros),
  status: r.status as ReservationStatus,
  holds: r.holds as CounterHold[],
  idempotencyKey: r.idempotency_key as string,
  expiresAt: new Date(r.expires_at as string),
  createdAt: new Date(r.created_at as string),
  settledAt: r.settled_at ? new Date(r.settled_at as string) : null,
});

/** Counters are always touched in this order, so two units of work never wait on each other in a cycle. */
export function lockOrder<T extends CounterId>(checks: T[]): T[] {
  return checks
    .map((check) => ({ check, key: counterKey(check) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ check }) => check);
}

interface CounterRow {
  subject_id: string;
  meter: string;
  period: string;
  window_start: Date;
  used: string;
  reserved: string;
}

function statesByKey(rows: CounterRow[]): Map<string, CounterState> {
  return new Map(
    rows.map((r) => [
      counterKey({ subjectId: r.subject_id, meter: r.meter, period: r.period, windowStart: r.window_start }),
      { used: Number(r.used), reserved: Number(r.reserved) },
    ]),
  );
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

  /** The state of each counter (zero for one not used yet), by counterKey; one statement, no locks. */
  async states(checks: CounterId[]): Promise<Map<string, CounterState>> {
    const found = checks.length === 0 ? new Map<string, CounterState>() : await this.read(checks);
    return new Map(checks.map((c) => [counterKey(c), found.get(counterKey(c)) ?? { used: 0, reserved: 0 }]));
  }

  private async read(checks: CounterId[]): Promise<Map<string, CounterState>> {
    const rows = await this.query<CounterRow>(
      `SELECT c.subject_id, c.meter, c.period, c.window_start, c.used, c.reserved
         FROM quota_counters c
         JOIN unnest($2::uuid[], $3::text[], $4::text[], $5::timestamptz[]) AS v(s, m, p, w)
           ON c.subject_id = v.s AND c.meter = v.m AND c.period = v.p AND c.window_start = v.w
        WHERE c.tenant_id = $1`,
      counterColumns(checks),
    );
    return statesByKey(rows);
  }
}

@Injectable()
export class ReservationsRepository extends TenantScopedRepository<Reservation> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(Reservation, uow, context);
  }

  /**
   * Creates the reservation and takes its holds, in one database call (see the
   * metering functions migration): `quantity` on each counter of `checks` (in
   * lock order; a check of another meter holds its own quantity) and, when
   * `prepaid`, the estimate of the wallet. Answers null
   * when a reservation with its idempotency key exists (a concurrent creation
   * with the same key is waited for: whichever commits first wins); throws a
   * HoldRefused, having written nothing, when a counter or the wallet has no room.
   */
  async createHolding(values: NewReservation, checks: HoldCheck[], prepaid: boolean): Promise<Reservation | null> {
    const id = randomUUID();
    const reserve = reserveCall(values, checks, prepaid, 4);
    let rows: { created_at: Date }[];
    try {
      rows = await this.call<{ created_at: Date }>(`SELECT created_at FROM ${reserve.sql}`, [id, ...reserve.params]);
    } catch (err) {
      throw HoldRefused.from(err) ?? err;
    }
    const [row] = rows;
    if (!row?.created_at) return null;
    return {
      ...values,
      tenantId: '',
      id,
      walletHoldMicros: prepaid ? values.estimatedCostMicros : 0,
      holds: reserve.holds,
      status: 'held',
      createdAt: new Date(row.created_at),
      settledAt: null,
    };
  }

  /** Commits a held reservation in one database call (see the metering functions migration). */
  async commitHeld(id: string, input: CommitCall): Promise<CommitOutcome> {
    const commit = commitStatement(id, input);
    const [row] = await this.call<{ outcome: CommitOutcomeRow }>(commit.sql(`${COMMIT} AS r(c)`), commit.params);
    return outcomeOf(row.outcome);
  }

  /**
   * Creates a reservation and commits it in the same database call: what
   * createHolding then commitHeld do, in one transaction, for usage that has
   * already happened with nothing in flight to hold room for (an answer made
   * in-process). Its quota holds are taken and settled alike; when `prepaid`,
   * the reservation holds no credits but the statement is refused unless the
   * balance covered the cost (atrium_require_covered, see its migration), so
   * the tenant's wallet row is locked from the debit on only. A counter or
   * wallet without room refuses it (a HoldRefused, nothing written). Null when
   * a reservation with its idempotency key exists.
   */
  async createCommitted(
    values: NewReservation,
    checks: HoldCheck[],
    prepaid: boolean,
    input: CommitCall,
  ): Promise<CommitOutcome | null> {
    const commit = commitStatement(randomUUID(), input);
    // The reservation's id is the commit's ($3); the reservation's own parameters follow the commit's.
    const reserve = reserveCall(values, checks, false, commit.params.length + 3);
    // The lateral reference makes the commit run on the reservation's row, after it is written.
    const from = `${reserve.sql} CROSS JOIN LATERAL (SELECT ${COMMIT} WHERE h.created_at IS NOT NULL) AS r(c)`;
    const covered = prepaid ? [`atrium_require_covered($1, $2, r.c)`] : [];
    let rows: { outcome: CommitOutcomeRow }[];
    try {
      rows = await this.call<{ outcome: CommitOutcomeRow }>(commit.sql(from, covered), [
        ...commit.params,
        ...reserve.params,
      ]);
    } catch (err) {
      throw HoldRefused.from(err) ?? err;
    }
    return rows.length === 0 ? null : outcomeOf(rows[0].outcome);
  }

  /** Ends a hold that is locked in this unit of work, without use: released or expired. */
  async endHold(id: string, status: 'released' | 'expired', at: Date): Promise<void> {
    await this.query(`SELECT atrium_end_hold($1, $2, $3, $4)`, [id, status, at]);
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
}

type NewReservation = Pick<
  Reservation,
  'userId' | 'apiKeyId' | 'meter' | 'quantity' | 'estimatedCostMicros' | 'idempotencyKey' | 'expiresAt'
>;

const COMMIT = `atrium_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`;

/**
 * The call of atrium_reserve, aliased h(created_at): the tenant, the row-level-security flag and the
 * reservation's id are $1, $2 and $3; its other parameters are numbered from `$first`.
 */
function reserveCall(values: NewReservation, checks: HoldCheck[], prepaid: boolean, first: number) {
  const holds = checks.map(reservationHold);
  const params = [
    values.userId,
    values.apiKeyId,
    values.meter,
    values.quantity,
    values.estimatedCostMicros,
    prepaid,
    JSON.stringify(holds),
    checks.map((c) => c.limit),
    values.idempotencyKey,
    values.expiresAt,
  ];
  const numbered = params.map((_, i) => `$${first + i}`).join(', ');
  return { sql: `atrium_reserve($1, $2, $3, ${numbered}) AS h(created_at)`, params, holds };
}

/**
 * The statement that commits reservation `id` (its outcome as r(c), from the FROM clause `sql` is given)
 * with what it also does once the commit has succeeded: record usage on other meters, and the caller's own
 * record; `checks` are calls that may still refuse the whole statement. Its parameters follow the tenant
 * and the row-level-security flag ($1, $2): the commit's from $3.
 */
function commitStatement(
  id: string,
  input: CommitCall,
): { sql: (from: string, checks?: string[]) => string; params: unknown[] } {
  const params: unknown[] = [
    id,
    input.actor === 'any',
    input.actor === 'any' ? null : input.actor,
    input.now,
    input.quantity ?? null,
    input.costMicros ?? null,
    input.prepaidPlan,
    input.model ?? null,
    input.provider ?? null,
    input.metadata === undefined ? null : JSON.stringify(input.metadata),
    input.clientIp,
    input.requestId,
  ];
  const afterwards: string[] = [];
  const alsoUsed = input.alsoUsed ?? [];
  if (alsoUsed.length > 0) {
    params.push(
      JSON.stringify(
        alsoUsed.map((u) => ({ meter: u.meter, quantity: u.quantity, counters: u.counters.map(counterHold) })),
      ),
    );
    afterwards.push(
      `atrium_record_used($1, $2, r.c->'reservation', $${params.length + 2}::jsonb, $6, $10, $11, $13, $14)`,
    );
  }
  if (input.alongside) {
    afterwards.push(input.alongside.sql(params.length + 3));
    params.push(...input.alongside.params);
  }
  const after = afterwards.map((call, i) => `, CASE WHEN r.c->>'outcome' = 'committed' THEN ${call} END AS after${i}`);
  return {
    sql: (from, checks = []) =>
      `SELECT r.c AS outcome${after.join('')}${checks.map((check, i) => `, ${check} AS check${i}`).join('')} FROM ${from}`,
    params,
  };
}

function outcomeOf(outcome: CommitOutcomeRow): CommitOutcome {
  if (outcome.outcome !== 'committed') return outcome;
  return {
    outcome: 'committed',
    reservation: reservationOf(outcome.reservation),
    quantity: Number(outcome.quantity),
    costMicros: Number(outcome.cost),
    debitedMicros: Number(outcome.debited),
    shortfallMicros: Number(outcome.shortfall),
  };
}
