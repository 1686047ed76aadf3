import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { type Principal, RequestContext } from '../../core/context/request-context.js';
import { actsForTenant, mayActFor } from '../../core/context/principal.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { AuthError, AuthErrorCode } from '../../core/identity/auth.errors.js';
import { UsersRepository } from '../../core/identity/users.repository.js';
import { MetricsService } from '../../core/metrics/metrics.service.js';
import { Clock } from '../../core/ports/clock.js';
import { BillingError, BillingErrorCode, unknownMeters } from './billing.errors.js';
import { BillingPlatformRepository } from './billing-platform.repository.js';
import { CreditsService } from './credits.service.js';
import type { Reservation } from './entities/usage.entity.js';
import {
  type CommitAlongside,
  type CommitCall,
  type CommitOutcome,
  counterKey,
  type HoldCheck,
  HoldRefused,
  lockOrder,
  type QuotaCheck,
  QuotaCountersRepository,
  ReservationsRepository,
} from './metering.repository.js';
import { PlanCache } from './plan-cache.js';
import { QuotaPolicy } from './quota-policy.service.js';
import { type NewEvent, UsageRepository } from './usage.repository.js';
import { holdableMicros, WalletRepository } from './wallet.repository.js';
import { isoSeconds } from './windows.js';

const SWEEP_INTERVAL_MS = 5000;
const SWEEP_BATCH = 100;
/** Events may be reported late, but not from before the retention of the quota windows they count in. */
const MAX_EVENT_AGE_MS = 35 * 86_400_000;
const MAX_EVENT_SKEW_MS = 5 * 60_000;

export interface ReserveInput {
  meter: string;
  quantity: number;
  userId?: string;
  estimatedCostMicros?: number;
  ttlSeconds: number;
  idempotencyKey: string;
  /**
   * Room the call also holds on other meters, on the same user's quotas (a chat
   * call's prompt and the most output it may produce): a quota without room
   * refuses the reservation. The use is recorded with the commit (`alsoUsed`).
   */
  alsoHolds?: { meter: string; quantity: number }[];
}

export interface CommitInput {
  quantity?: number;
  costMicros?: number;
  model?: string;
  provider?: string;
  metadata?: Record<string, unknown>;
}

export interface Committed {
  reservation: Reservation;
  quantity: number;
  costMicros: number;
  debitedMicros: number;
  shortfallMicros: number;
}

export interface EventInput {
  id: string;
  meter: string;
  quantity: number;
  userId?: string;
  timestamp?: string;
  model?: string;
  provider?: string;
  costMicros?: number;
  metadata?: Record<string, unknown>;
}

export type EventResult =
  { id: string; result: 'accepted' | 'duplicate' } | { id: string; result: 'error'; code: string; reason: string };

export interface QuotaStatus {
  meter: string;
  scope: 'tenant' | 'user';
  period: string;
  limit: number;
  used: number;
  reserved: number;
  remaining: number;
  resetsAt: string;
}

/** Where a request was made from: recorded with each usage event. */
export interface RequestOrigin {
  clientIp: string | null;
  requestId: string | null;
}

/** The origin of an HTTP request: its client IP (TRUST_PROXY-aware, as `@Ip()` gives it) and its id. */
export const requestOrigin = (request: { id: unknown }, ip: string): RequestOrigin => ({
  clientIp: ip,
  requestId: String(request.id),
});

/**
 * Metering: reservations hold quota and credits, commits record the actual
 * usage and cost, usage events record usage directly. Every check and change
 * is a conditional statement on the counter or wallet row inside one unit of
 * work, rows always locked in one order: exact under any concurrency, on any
 * number of instances. Expired holds are released by a sweep on every
 * instance (each claims the holds it settles), also after a restart.
 */
@Injectable()
export class MeteringService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metering');
  private sweeper?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly context: RequestContext,
    private readonly counters: QuotaCountersRepository,
    private readonly reservations: ReservationsRepository,
    private readonly wallet: WalletRepository,
    private readonly usage: UsageRepository,
    private readonly policy: QuotaPolicy,
    private readonly plans: PlanCache,
    private readonly credits: CreditsService,
    private readonly users: UsersRepository,
    private readonly platform: BillingPlatformRepository,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    this.sweeper = setInterval(() => void this.sweepExpired(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    void this.sweepExpired();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.sweeper);
    await this.sweeping;
  }

  async reserve(input: ReserveInput): Promise<Reservation> {
    const hold = await this.holdOf(input);
    let reservation: Reservation | null;
    try {
      reservation = await this.reservations.createHolding(hold.values, hold.checks, hold.prepaid);
    } catch (err) {
      throw await this.refusal(err, hold);
    }
    if (reservation) return reservation;
    // A reservation with this key exists (or a parallel one just committed): answer with it.
    const existing = await this.reservations.findByIdempotencyKey(input.idempotencyKey);
    return this.sameReservation(existing!, input, hold.values.userId);
  }

  /**
   * Records the actual usage (at most the reserved quantity) and debits the
   * actual cost. Cost above the estimate is taken from the available balance;
   * what cannot be covered becomes a shortfall (prepaid) — the balance itself
   * never goes below zero.
   */
  async commit(
    id: string,
    input: CommitInput,
    origin: RequestOrigin,
    /**
     * Usage the call also had on other meters (a chat call's tokens), recorded by the same statement:
     * one event per meter, counted on the quotas of `forUser` (the reservation's user), never refused;
     * the room the reservation held on them (`alsoHolds`) is given back.
     */
    alsoUsed?: { forUser: string | null; uses: { meter: string; quantity: number }[] },
    /** The caller's own record, written by the same statement once the commit has succeeded. */
    alongside?: CommitAlongside,
  ): Promise<Committed> {
    const call = await this.commitCallOf(input, origin, alongside);
    const uses = alsoUsed?.uses.filter((u) => u.quantity > 0) ?? [];
    if (uses.length > 0) {
      const checks = await this.policy.allChecks(alsoUsed!.forUser, call.now);
      call.alsoUsed = uses.map((u) => ({ ...u, counters: checks.filter((c) => c.meter === u.meter) }));
    }
    return this.settled(await this.reservations.commitHeld(id, call), call);
  }

  /**
   * Reserves and commits at once, for usage that has already happened with
   * nothing in flight to hold room for (an answer made in-process): the checks
   * of reserve — a quota without room, or credits that do not cover the cost,
   * refuse it, having written nothing — and the records of reserve then
   * commit, in one statement. `input.idempotencyKey` must be new.
   */
  async charge(
    input: Omit<ReserveInput, 'alsoHolds'>,
    commit: CommitInput,
    origin: RequestOrigin,
    alongside?: CommitAlongside,
  ): Promise<Committed> {
    // Holds on other meters would be given back unused by the commit: a charge has none.
    const hold = await this.holdOf({ ...input, alsoHolds: undefined });
    const call = await this.commitCallOf(commit, origin, alongside);
    let outcome: CommitOutcome | null;
    try {
      outcome = await this.reservations.createCommitted(hold.values, hold.checks, hold.prepaid, call);
    } catch (err) {
      throw await this.refusal(err, hold);
    }
    if (!outcome) throw new Error('A charge needs an idempotency key of its own');
    return this.settled(outcome, call);
  }

  /** What a reservation holds, and on which counters (in lock order), for `input`. */
  private async holdOf(input: ReserveInput) {
    const userId = await this.subjectOf(input.userId);
    const others = (input.alsoHolds ?? []).filter((h) => h.quantity > 0 && h.meter !== input.meter);
    await this.assertMeters([input.meter, ...others.map((h) => h.meter)]);
    await this.credits.ensureIncluded();
    const now = this.clock.now();
    const checks: HoldCheck[] = lockOrder(
      (await this.policy.allChecks(userId, now)).flatMap((check) => {
        if (check.meter === input.meter) return [check];
        const other = others.find((h) => h.meter === check.meter);
        return other ? [{ ...check, quantity: other.quantity }] : [];
      }),
    );
    const values = {
      userId,
      apiKeyId: this.context.principal.apiKeyId ?? null,
      meter: input.meter,
      quantity: input.quantity,
      estimatedCostMicros: input.estimatedCostMicros ?? 0,
      idempotencyKey: input.idempotencyKey,
      expiresAt: new Date(now.getTime() + input.ttlSeconds * 1000),
    };
    return { values, checks, prepaid: await this.prepaid() };
  }

  /** The error for a hold the database refused (a quota or the wallet without room); other errors as they are. */
  private async refusal(err: unknown, { checks, values }: Awaited<ReturnType<MeteringService['holdOf']>>) {
    if (!(err instanceof HoldRefused)) return err;
    const refusedCheck = checks[err.check];
    return err.refused === 'quota'
      ? await this.quotaExceeded(refusedCheck, refusedCheck.quantity ?? values.quantity)
      : await this.insufficientCredits(values.estimatedCostMicros);
  }

  private async commitCallOf(
    input: CommitInput,
    origin: RequestOrigin,
    alongside?: CommitAlongside,
  ): Promise<CommitCall> {
    const principal = this.context.principal;
    return {
      ...input,
      actor: actsForTenant(principal) ? 'any' : principal.kind === 'user' ? principal.userId! : null,
      now: this.clock.now(),
      prepaidPlan: await this.prepaid(),
      clientIp: origin.clientIp,
      requestId: origin.requestId,
      alongside,
    };
  }

  /** A commit's outcome: the committed usage (counted in the metrics), or the error it was refused with. */
  private settled(outcome: CommitOutcome, call: CommitCall): Committed {
    switch (outcome.outcome) {
      case 'not_found':
        throw reservationNotFound();
      case 'settled':
        throw reservationSettled(outcome.status);
      case 'expired':
        throw new BillingError(BillingErrorCode.RESERVATION_EXPIRED, 'The reservation expired; its hold was released.');
      case 'above_reserved':
        throw new BillingError(
          BillingErrorCode.QUANTITY_ABOVE_RESERVED,
          `The reservation holds ${outcome.reserved}; commit at most that much.`,
        );
    }
    this.metrics.usageEvents.inc({ meter: outcome.reservation.meter, result: 'accepted' });
    for (const use of call.alsoUsed ?? []) this.metrics.usageEvents.inc({ meter: use.meter, result: 'accepted' });
    if (outcome.debitedMicros > 0) this.metrics.creditsDebited.inc(outcome.debitedMicros);
    const { outcome: _committed, ...committed } = outcome;
    return committed;
  }

  async release(id: string): Promise<Reservation> {
    return this.uow.run(async () => {
      const reservation = await this.heldReservation(id);
      const now = this.clock.now();
      await this.reservations.endHold(reservation.id, 'released', now);
      return { ...reservation, status: 'released', settledAt: now };
    });
  }

  /**
   * Releases a hold that is still held, inside the caller's transaction when there is one;
   * one already settled (expired, released) is left as it is. True when this call released it.
   */
  async releaseIfHeld(id: string): Promise<boolean> {
    return this.uow.run(async () => {
      const reservation = await this.reservations.lockById(id);
      if (reservation?.status !== 'held') return false;
      await this.reservations.endHold(reservation.id, 'released', this.clock.now());
      return true;
    });
  }

  async get(id: string): Promise<Reservation> {
    const reservation = await this.reservations.findById(id);
    if (!reservation || !mayActFor(this.context.principal, reservation.userId)) throw reservationNotFound();
    return reservation;
  }

  /**
   * Records usage events (at most 1000). Each counts against quotas and the
   * wallet exactly as a commit does, or is refused on its own with a reason.
   * An event id already recorded (even by a request racing this one) is a duplicate.
   */
  async ingest(inputs: EventInput[], origin: RequestOrigin): Promise<EventResult[]> {
    await this.assertMeters(inputs.map((e) => e.meter));
    const principal = this.context.principal;
    const now = this.clock.now();
    const results: EventResult[] = new Array(inputs.length);
    const candidates: { index: number; event: NewEvent }[] = [];
    const seen = new Set<string>();
    const knownUsers = await this.activeUsers([
      ...new Set(inputs.map((e) => e.userId).filter((u): u is string => u !== undefined)),
    ]);
    inputs.forEach((input, index) => {
      const refuse = (code: string, reason: string) =>
        (results[index] = { id: input.id, result: 'error', code, reason });
      if (seen.has(input.id)) {
        results[index] = { id: input.id, result: 'duplicate' };
        return;
      }
      seen.add(input.id);
      const occurredAt = input.timestamp ? new Date(input.timestamp) : now;
      if (occurredAt.getTime() > now.getTime() + MAX_EVENT_SKEW_MS) {
        refuse('TIMESTAMP_IN_FUTURE', 'The timestamp is in the future.');
        return;
      }
      if (occurredAt.getTime() < now.getTime() - MAX_EVENT_AGE_MS) {
        refuse('TIMESTAMP_TOO_OLD', 'Events older than 35 days are not accepted.');
        return;
      }
      let userId: string | null;
      try {
        userId = this.eventSubject(principal, input.userId, knownUsers);
      } catch (err) {
        refuse((err as BillingError).code, (err as Error).message);
        return;
      }
      candidates.push({
        index,
        event: {
          eventId: input.id,
          userId,
          meter: input.meter,
          quantity: input.quantity,
          costMicros: input.costMicros ?? 0,
          model: input.model ?? null,
          provider: input.provider ?? null,
          metadata: input.metadata ?? null,
          occurredAt,
        },
      });
    });
    if (candidates.length > 0) {
      const events = candidates.map((c) => c.event);
      if (events.some((e) => e.costMicros > 0)) await this.credits.ensureIncluded();
      const { counters, links } = await this.quotaLinks(events);
      const outcome = await this.usage.ingest({
        events,
        counters,
        links,
        prepaid: await this.prepaid(),
        apiKeyId: principal.apiKeyId ?? null,
        origin,
      });
      for (const { index, event } of candidates) results[index] = { id: event.eventId, result: 'accepted' };
      for (const n of outcome.duplicates) {
        results[candidates[n].index] = { id: events[n].eventId, result: 'duplicate' };
      }
      for (const refusal of outcome.refused) {
        const { index, event } = candidates[refusal.event];
        let reason: { code: string; reason: string };
        if (refusal.kind === 'credits') {
          reason = insufficient(refusal.availableMicros, event.costMicros);
        } else {
          const check = counters[refusal.counter];
          this.metrics.quotaRejections.inc({ meter: check.meter, period: check.period });
          reason = { code: BillingErrorCode.QUOTA_EXCEEDED, reason: quotaExceededReason(check, refusal.taken) };
        }
        results[index] = { id: event.eventId, result: 'error', ...reason };
      }
      if (outcome.debitedMicros > 0) this.metrics.creditsDebited.inc(outcome.debitedMicros);
    }
    inputs.forEach((input, index) =>
      this.metrics.usageEvents.inc({
        meter: input.meter,
        result: results[index].result === 'error' ? 'rejected' : results[index].result,
      }),
    );
    return results;
  }

  /** The quotas that apply to the caller (or, for tenant-wide readers, a named user) and what is left of each. */
  async quotaStatus(requestedUserId: string | undefined): Promise<QuotaStatus[]> {
    const principal = this.context.principal;
    let userId = principal.kind === 'user' ? principal.userId! : null;
    if (requestedUserId !== undefined && requestedUserId !== userId) {
      if (!actsForTenant(principal)) {
        throw new AuthError(AuthErrorCode.PERMISSION_DENIED, "Only tenant admins may read another user's quotas.");
      }
      if (!(await this.users.findById(requestedUserId))) {
        throw new BillingError(BillingErrorCode.USER_NOT_FOUND, 'User not found.');
      }
      userId = requestedUserId;
    }
    const checks = await this.policy.allChecks(userId, this.clock.now());
    const states = await this.counters.states(checks);
    const statuses: QuotaStatus[] = [];
    for (const check of checks) {
      const { used, reserved } = states.get(counterKey(check))!;
      statuses.push({
        meter: check.meter,
        scope: check.scope,
        period: check.period,
        limit: check.limit,
        used,
        reserved,
        remaining: Math.max(0, check.limit - used - reserved),
        resetsAt: isoSeconds(check.windowEnd),
      });
    }
    return statuses.sort((a, b) =>
      `${a.meter}|${a.scope}|${a.period}` < `${b.meter}|${b.scope}|${b.period}` ? -1 : 1,
    );
  }

  /** Releases holds that outlived their reservation; each instance claims the ones it settles. */
  async sweepExpired(): Promise<void> {
    if (this.sweeping) return this.sweeping;
    this.sweeping = (async () => {
      try {
        const expired = await this.context.runInTenantContext(undefined, () =>
          this.platform.expiredHolds(this.clock.now(), SWEEP_BATCH),
        );
        for (const { tenantId, id } of expired) {
          await this.context.runInTenantContext(
            tenantId,
            () =>
              this.uow.run(async () => {
                const reservation = await this.reservations.lockById(id);
                const now = this.clock.now();
                if (reservation?.status === 'held' && reservation.expiresAt <= now) {
                  await this.reservations.endHold(reservation.id, 'expired', now);
                }
              }),
            'reservation-expiry',
          );
        }
      } catch (err) {
        this.logger.warn(`Releasing expired reservations failed: ${(err as Error).message}`);
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  /**
   * The quota counters a batch of events counts on, in lock order, and each
   * event's counters as indexes into them (the database admits the events one
   * by one against what is left; see UsageRepository.ingest).
   */
  private async quotaLinks(events: NewEvent[]): Promise<{ counters: QuotaCheck[]; links: number[][] }> {
    const checks = new Map<string, QuotaCheck>();
    const keysOf: string[][] = [];
    // Every window starts at 00:00 UTC, so one user's quotas are the same all day: worked out once per user and day.
    const quotasOf = new Map<string, Promise<QuotaCheck[]>>();
    for (const event of events) {
      const day = `${event.userId ?? ''}|${event.occurredAt.toISOString().slice(0, 10)}`;
      let quotas = quotasOf.get(day);
      if (!quotas) quotasOf.set(day, (quotas = this.policy.allChecks(event.userId, event.occurredAt)));
      const keys: string[] = [];
      for (const check of await quotas) {
        if (check.meter !== event.meter) continue;
        const key = counterKey(check);
        if (!checks.has(key)) checks.set(key, check);
        keys.push(key);
      }
      keysOf.push(keys);
    }
    const counters = lockOrder([...checks.values()]);
    const position = new Map(counters.map((check, i) => [counterKey(check), i]));
    return { counters, links: keysOf.map((keys) => keys.map((key) => position.get(key)!)) };
  }

  private async heldReservation(id: string): Promise<Reservation> {
    const reservation = await this.reservations.lockById(id);
    if (!reservation || !mayActFor(this.context.principal, reservation.userId)) throw reservationNotFound();
    if (reservation.status !== 'held') throw reservationSettled(reservation.status);
    return reservation;
  }

  private sameReservation(existing: Reservation, input: ReserveInput, userId: string | null): Reservation {
    const same =
      existing.meter === input.meter &&
      existing.quantity === input.quantity &&
      existing.userId === userId &&
      existing.estimatedCostMicros === (input.estimatedCostMicros ?? 0);
    if (!same) {
      throw new BillingError(
        BillingErrorCode.IDEMPOTENCY_KEY_REUSED,
        'This idempotency key was used for a different reservation.',
      );
    }
    return existing;
  }

  /** Whose usage a reservation is: the caller's own, or (tenant admins and the tenant app) a named user's. */
  private async subjectOf(requested: string | undefined): Promise<string | null> {
    const principal = this.context.principal;
    const self = principal.kind === 'user' ? principal.userId! : null;
    if (requested === undefined || requested === self) return self;
    if (!actsForTenant(principal)) {
      throw new AuthError(
        AuthErrorCode.PERMISSION_DENIED,
        'Only tenant admins and the tenant app record usage for others.',
      );
    }
    const users = await this.activeUsers([requested]);
    if (!users.has(requested))
      throw new BillingError(BillingErrorCode.USER_NOT_FOUND, 'No such active user in this tenant.');
    return requested;
  }

  private eventSubject(principal: Principal, requested: string | undefined, known: Set<string>): string | null {
    const self = principal.kind === 'user' ? principal.userId! : null;
    if (requested === undefined || requested === self) return self;
    if (!actsForTenant(principal)) {
      throw new BillingError(BillingErrorCode.USER_NOT_FOUND, 'Events may name only the caller as their user.');
    }
    if (!known.has(requested))
      throw new BillingError(BillingErrorCode.USER_NOT_FOUND, 'No such active user in this tenant.');
    return requested;
  }

  private async activeUsers(ids: string[]): Promise<Set<string>> {
    return ids.length === 0 ? new Set() : new Set(await this.users.activeIds(ids));
  }

  private async assertMeters(codes: string[]): Promise<void> {
    const known = await this.plans.meterCodesKnown();
    const unknown = [...new Set(codes)].filter((c) => !known.has(c));
    if (unknown.length > 0) throw unknownMeters(unknown);
  }

  private async prepaid(): Promise<boolean> {
    const tenantPlan = await this.plans.current(this.context.tenantId);
    return tenantPlan?.plan.billingMode !== 'postpaid';
  }

  private async quotaExceeded(check: QuotaCheck, wanted: number): Promise<BillingError> {
    const { used, reserved } = (await this.counters.states([check])).get(counterKey(check))!;
    const taken = used + reserved;
    const resetsAt = isoSeconds(check.windowEnd);
    this.metrics.quotaRejections.inc({ meter: check.meter, period: check.period });
    return new BillingError(BillingErrorCode.QUOTA_EXCEEDED, quotaExceededReason(check, taken), {
      meter: check.meter,
      period: check.period,
      scope: check.scope,
      used: taken,
      reserved,
      requested: wanted,
      limit: check.limit,
      resetsAt,
      retryAfterSeconds: Math.max(1, Math.ceil((check.windowEnd.getTime() - this.clock.now().getTime()) / 1000)),
    });
  }

  private async insufficientCredits(required: number): Promise<BillingError> {
    const wallet = await this.wallet.get();
    const available = holdableMicros(wallet);
    return new BillingError(
      BillingErrorCode.INSUFFICIENT_CREDITS,
      wallet.shortfallMicros > 0
        ? `A shortfall of ${wallet.shortfallMicros} micros is unpaid; add credits first.`
        : insufficientReason(available, required),
      { availableMicros: available, requiredMicros: required, shortfallMicros: wallet.shortfallMicros },
    );
  }
}

const insufficientReason = (available: number, required: number) =>
  `Insufficient credits: ${available} micros available, ${required} required.`;

const insufficient = (available: number, required: number) => ({
  code: BillingErrorCode.INSUFFICIENT_CREDITS,
  reason: insufficientReason(available, required),
});

/** The detail of QUOTA_EXCEEDED, in the documented form. */
const quotaExceededReason = (check: QuotaCheck, taken: number) =>
  `Quota exceeded for ${check.meter}. Used: ${taken}/${check.limit}. Resets at ${isoSeconds(check.windowEnd)}`;

const reservationNotFound = () => new BillingError(BillingErrorCode.RESERVATION_NOT_FOUND, 'Reservation not found.');

const reservationSettled = (status: string) =>
  new BillingError(BillingErrorCode.RESERVATION_SETTLED, `The reservation is already ${status}.`, { status });
