import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ACT_AS_TENANT } from './tenant-isolation.js';

const INSUFFICIENT_CREDITS = 'AQ002';

/**
 * Usage charged in one statement (a reservation made and committed together,
 * for an answer made in-process) checks the credits after the commit rather
 * than before: its reservation holds none, the commit debits what the balance
 * covers, and atrium_require_covered then refuses the whole statement
 * (AQ002, so nothing is written) when the wallet is missing or was left with
 * a shortfall — the check a reservation makes, with the actual cost. The
 * wallet, a row every metered call of the tenant locks, is so locked from the
 * commit's debit to the end of the statement instead of from the reservation on.
 */
export class ChargeCovered1765360000000 implements MigrationInterface {
  name = 'ChargeCovered1765360000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION atrium_require_covered(p_tenant uuid, p_rls boolean, p_outcome jsonb)
      RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN
        ${ACT_AS_TENANT}
        IF p_outcome->>'outcome' = 'committed'
           AND NOT EXISTS (SELECT 1 FROM wallets WHERE tenant_id = p_tenant AND shortfall_micros = 0) THEN
          RAISE EXCEPTION USING ERRCODE = '${INSUFFICIENT_CREDITS}', MESSAGE = 'insufficient credits';
        END IF;
        RETURN true;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION atrium_require_covered(uuid, boolean, jsonb)`);
  }
}
