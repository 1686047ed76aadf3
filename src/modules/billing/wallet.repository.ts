import { Injectable } from '@nestjs/common';
import { RequestContext } from '../../core/context/request-context.js';
import { TenantScopedRepository } from '../../core/database/tenant-scoped.repository.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { LedgerEntry, type LedgerKind, Wallet } from './entities/wallet.entity.js';

export interface WalletState {
  balanceMicros: number;
  reservedMicros: number;
  shortfallMicros: number;
}

/** What a new hold or a prepaid use may take: nothing while a shortfall is unpaid, else the balance not held. */
export const holdableMicros = (w: WalletState): number =>
  w.shortfallMicros > 0 ? 0 : Math.max(0, w.balanceMicros - w.reservedMicros);

interface WalletRow {
  balance_micros: string;
  reserved_micros: string;
  shortfall_micros: string;
}

const state = (row: WalletRow): WalletState => ({
  balanceMicros: Number(row.balance_micros),
  reservedMicros: Number(row.reserved_micros),
  shortfallMicros: Number(row.shortfall_micros),
});

/**
 * The tenant's wallet and its ledger. Every balance change writes one ledger
 * entry with the balance after it, in the caller's unit of work, with the
 * wallet row locked: the balance equals the sum of the ledger under any
 * concurrency, and the checks keep it (and the holds it covers) above zero.
 */
@Injectable()
export class WalletRepository extends TenantScopedRepository<Wallet> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(Wallet, uow, context);
  }

  async create(): Promise<void> {
    await this.query(`INSERT INTO wallets (tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING`);
  }

  async get(): Promise<WalletState> {
    const [row] = await this.query<WalletRow>(
      `SELECT balance_micros, reserved_micros, shortfall_micros FROM wallets WHERE tenant_id = $1`,
    );
    return row ? state(row) : { balanceMicros: 0, reservedMicros: 0, shortfallMicros: 0 };
  }

  /** Locks the wallet until the unit of work ends and returns it (a tenant without one gets one). */
  async lockState(): Promise<WalletState> {
    const select = () =>
      this.query<WalletRow>(
        `SELECT balance_micros, reserved_micros, shortfall_micros FROM wallets WHERE tenant_id = $1 FOR UPDATE`,
      );
    let [row] = await select();
    if (!row) {
      await this.create();
      [row] = await select();
    }
    return state(row);
  }

  /**
   * Credits (or, negative, takes) `amount`, once per idempotency key. A grant
   * first pays any shortfall. Returns null when the key was used already.
   * Throws `exceeds` when a negative amount would take the balance below its holds.
   */
  async credit(
    kind: LedgerKind,
    amount: number,
    reason: string,
    reference: string | null,
    idempotencyKey: string,
    exceeds: () => Error,
  ): Promise<LedgerEntry[] | null> {
    const wallet = await this.lockState();
    const [existing] = await this.query(`SELECT 1 FROM ledger_entries WHERE tenant_id = $1 AND idempotency_key = $2`, [
      idempotencyKey,
    ]);
    if (existing) return null;
    let balance = wallet.balanceMicros + amount;
    if (balance < wallet.reservedMicros) throw exceeds();
    const entries = [await this.appendEntry(kind, amount, balance, reason, reference, idempotencyKey)];
    let shortfall = wallet.shortfallMicros;
    const settle = Math.min(shortfall, balance - wallet.reservedMicros);
    if (amount > 0 && settle > 0) {
      balance -= settle;
      shortfall -= settle;
      entries.push(await this.appendEntry('debit', -settle, balance, 'Shortfall settled', reference, null));
    }
    await this.query(
      `UPDATE wallets SET balance_micros = $2, shortfall_micros = $3, updated_at = now() WHERE tenant_id = $1`,
      [balance, shortfall],
    );
    return entries;
  }

  private async appendEntry(
    kind: LedgerKind,
    amount: number,
    balanceAfter: number,
    reason: string,
    reference: string | null,
    idempotencyKey: string | null,
  ): Promise<LedgerEntry> {
    const [row] = await this.query<Record<string, unknown>>(
      `INSERT INTO ledger_entries (tenant_id, kind, amount_micros, balance_after_micros, reason, reference, idempotency_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at`,
      [kind, amount, balanceAfter, reason, reference, idempotencyKey],
    );
    return {
      tenantId: '',
      id: row.id as string,
      kind,
      amountMicros: amount,
      balanceAfterMicros: balanceAfter,
      reason,
      reference,
      idempotencyKey,
      createdAt: new Date(row.created_at as string),
    };
  }
}

/** The ledger's entries, read (entries are written only with the wallet, by WalletRepository). */
@Injectable()
export class LedgerRepository extends TenantScopedRepository<LedgerEntry> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(LedgerEntry, uow, context);
  }

  /** Credits added (grants, included, positive adjustments) and used (debits) in [from, to). */
  async movements(from: Date, to: Date): Promise<{ grantedMicros: number; usedMicros: number }> {
    const [row] = await this.query<{ granted: string | null; used: string | null }>(
      `SELECT sum(amount_micros) FILTER (WHERE amount_micros > 0) AS granted,
              -sum(amount_micros) FILTER (WHERE kind = 'debit') AS used
         FROM ledger_entries WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3`,
      [from, to],
    );
    return { grantedMicros: Number(row?.granted ?? 0), usedMicros: Number(row?.used ?? 0) };
  }

  /** Whether an entry with this idempotency key exists (included credits: once per period). */
  async hasEntry(idempotencyKey: string): Promise<boolean> {
    const rows = await this.query(`SELECT 1 FROM ledger_entries WHERE tenant_id = $1 AND idempotency_key = $2`, [
      idempotencyKey,
    ]);
    return rows.length > 0;
  }

  /** The ledger, newest first. */
  async ledger(limit: number, offset: number): Promise<[LedgerEntry[], number]> {
    const rows = await this.query<Record<string, unknown>>(
      `SELECT id, kind, amount_micros, balance_after_micros, reason, reference, idempotency_key, created_at,
              count(*) OVER () AS total
         FROM ledger_entries WHERE tenant_id = $1
        ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
      [limit, offset],
    );
    const entries = rows.map((r) => ({
      tenantId: '',
      id: r.id as string,
      kind: r.kind as LedgerKind,
      amountMicros: Number(r.amount_micros),
      balanceAfterMicros: Number(r.balance_after_micros),
      reason: r.reason as string,
      reference: (r.reference as string | null) ?? null,
      idempotencyKey: (r.idempotency_key as string | null) ?? null,
      createdAt: new Date(r.created_at as string),
    }));
    const total = rows.length > 0 ? Number(rows[0].total) : offset > 0 ? await this.ledgerCount() : 0;
    return [entries, total];
  }

  private async ledgerCount(): Promise<number> {
    const [row] = await this.query<{ n: string }>(`SELECT count(*) AS n FROM ledger_entries WHERE tenant_id = $1`);
    return Number(row.n);
  }
}
