import { Injectable } from '@nestjs/common';
import { RequestContext } from '../../core/context/request-context.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { Clock } from '../../core/ports/clock.js';
import { BillingError, BillingErrorCode } from './billing.errors.js';
import type { LedgerKind } from './entities/wallet.entity.js';
import { PlanCache } from './plan-cache.js';
import { anchorOf } from './quota-policy.service.js';
import { LedgerRepository, type WalletState, WalletRepository } from './wallet.repository.js';
import { billingPeriodOf, isoSeconds } from './windows.js';

export interface Credits extends WalletState {
  availableMicros: number;
}

/** The wallet as callers see it: balance, holds, what is available, and the plan's included credits. */
@Injectable()
export class CreditsService {
  /** Periods whose included credits this instance knows are granted (saves a lookup per request). */
  private readonly granted = new Set<string>();

  constructor(
    private readonly wallet: WalletRepository,
    private readonly ledgerEntries: LedgerRepository,
    private readonly plans: PlanCache,
    private readonly context: RequestContext,
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  async credits(): Promise<Credits> {
    await this.ensureIncluded();
    const state = await this.wallet.get();
    return {
      ...state,
      availableMicros: Math.max(0, state.balanceMicros - state.reservedMicros - state.shortfallMicros),
    };
  }

  /**
   * Grants the plan's included credits for the current billing period, once:
   * the ledger's idempotency key is the period, so any number of instances
   * asking at once grant it exactly once.
   */
  async ensureIncluded(): Promise<void> {
    const tenantId = this.context.tenantId;
    const tenantPlan = await this.plans.current(tenantId);
    if (!tenantPlan || tenantPlan.plan.includedCreditsMicros <= 0) return;
    const period = billingPeriodOf(this.clock.now(), anchorOf(tenantPlan));
    const key = `included:${isoSeconds(period.start)}`;
    const known = `${tenantId}|${key}`;
    if (this.granted.has(known)) return;
    await this.uow.run(async () => {
      if (await this.ledgerEntries.hasEntry(key)) return;
      await this.wallet.credit(
        'included',
        tenantPlan.plan.includedCreditsMicros,
        `Included credits of the ${tenantPlan.plan.code} plan for the period from ${isoSeconds(period.start)}`,
        tenantPlan.plan.code,
        key,
        () => new Error('unreachable: a positive credit never exceeds the balance'),
      );
    });
    if (this.granted.size > 100_000) this.granted.clear();
    this.granted.add(known);
  }

  /** The ledger, newest first (included credits of the current period granted first). */
  async ledger(limit: number, offset: number) {
    await this.ensureIncluded();
    return this.ledgerEntries.ledger(limit, offset);
  }

  /** A grant (> 0) or an adjustment (either sign); the same idempotency key twice makes one entry. */
  async change(
    kind: Extract<LedgerKind, 'grant' | 'adjustment'>,
    amount: number,
    reason: string,
    idempotencyKey: string,
  ) {
    return this.uow.run(() =>
      this.wallet.credit(kind, amount, reason, null, `${kind}:${idempotencyKey}`, () => {
        return new BillingError(
          BillingErrorCode.ADJUSTMENT_EXCEEDS_BALANCE,
          'The adjustment would take the balance below zero or below what open reservations hold.',
        );
      }),
    );
  }
}
