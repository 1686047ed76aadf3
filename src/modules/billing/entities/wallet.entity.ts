import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber } from '../../../core/database/bigint-number.js';

/** A tenant's prepaid credits: the balance equals the sum of its ledger and never goes below zero. */
@Entity('wallets')
export class Wallet {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @Column('bigint', { name: 'balance_micros', transformer: bigintNumber })
  balanceMicros: number;

  /** Held by open reservations; never more than the balance. */
  @Column('bigint', { name: 'reserved_micros', transformer: bigintNumber })
  reservedMicros: number;

  /** Cost that could not be covered when it was committed; blocks new holds until paid. */
  @Column('bigint', { name: 'shortfall_micros', transformer: bigintNumber })
  shortfallMicros: number;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}

export type LedgerKind = 'grant' | 'adjustment' | 'included' | 'debit';

/** One immutable change of a wallet's balance. */
@Entity('ledger_entries')
export class LedgerEntry {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('uuid')
  id: string;

  @Column('varchar')
  kind: LedgerKind;

  @Column('bigint', { name: 'amount_micros', transformer: bigintNumber })
  amountMicros: number;

  @Column('bigint', { name: 'balance_after_micros', transformer: bigintNumber })
  balanceAfterMicros: number;

  @Column('varchar')
  reason: string;

  @Column('varchar', { nullable: true })
  reference: string | null;

  @Column('varchar', { name: 'idempotency_key', nullable: true })
  idempotencyKey: string | null;

  @Column('timestamptz', { name: 'created_at', default: () => 'clock_timestamp()' })
  createdAt: Date;
}
