import type { MigrationInterface, QueryRunner } from 'typeorm';
import { MeteringFunctions1764900000000 } from './1764900000000-metering-functions.js';
import { ACT_AS_TENANT } from './tenant-isolation.js';

/** Errors the metering functions raise to roll their statement back; the service reads them. */
const QUOTA_EXCEEDED = 'AQ001';
const INSUFFICIENT_CREDITS = 'AQ002';

/** The meter and quantity a hold `h` of reservation `r` (or of the reservation being made) takes. */
const HOLD_METER = (meter: string) => `coalesce(h->>'meter', ${meter})`;
const HOLD_QUANTITY = (quantity: string) => `coalesce((h->>'quantity')::bigint, ${quantity})`;

/**
 * A reservation may also hold room on other meters than its own: a hold that
 * names a `meter` and a `quantity` (a chat call's input and output tokens,
 * held before the call so that racing calls never take more than a token
 * quota has left). Such a hold is released when the reservation ends, and on
 * commit its room is given back while the usage itself is recorded with the
 * commit (atrium_record_used) — so the counters a commit touches are all
 * locked before the wallet, in lock order. Holds without a meter are the
 * reservation's own meter and quantity, as before.
 */
export class HoldsOnOtherMeters1765340000000 implements MigrationInterface {
  name = 'HoldsOnOtherMeters1765340000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION atrium_end_hold(p_tenant uuid, p_id uuid, p_status varchar, p_now timestamptz)
      RETURNS void LANGUAGE plpgsql AS $$
      DECLARE
        r reservations%ROWTYPE;
        h jsonb;
      BEGIN
        UPDATE reservations SET status = p_status, settled_at = p_now
         WHERE tenant_id = p_tenant AND id = p_id RETURNING * INTO r;
        FOR h IN SELECT value FROM jsonb_array_elements(r.holds) LOOP
          UPDATE quota_counters SET reserved = GREATEST(reserved - ${HOLD_QUANTITY('r.quantity')}, 0)
           WHERE tenant_id = p_tenant AND subject_id = (h->>'subjectId')::uuid AND meter = ${HOLD_METER('r.meter')}
             AND period = h->>'period' AND window_start = (h->>'windowStart')::timestamptz;
        END LOOP;
        IF r.wallet_hold_micros > 0 THEN
          UPDATE wallets SET reserved_micros = reserved_micros - r.wallet_hold_micros, updated_at = now()
           WHERE tenant_id = p_tenant;
        END IF;
      END $$`);

    await q.query(`
      CREATE OR REPLACE FUNCTION atrium_reserve(
        p_tenant uuid, p_rls boolean, p_id uuid, p_user uuid, p_key uuid, p_meter varchar, p_quantity bigint,
        p_estimate bigint, p_prepaid boolean, p_holds jsonb, p_limits bigint[], p_idempotency_key varchar,
        p_expires_at timestamptz)
      RETURNS TABLE (created_at timestamptz) LANGUAGE plpgsql AS $$
      DECLARE
        v_created timestamptz;
        h jsonb;
        i int := 0;
        v_meter varchar;
        v_quantity bigint;
      BEGIN
        ${ACT_AS_TENANT}
        INSERT INTO reservations AS r (tenant_id, id, user_id, api_key_id, meter, quantity, estimated_cost_micros,
                                       wallet_hold_micros, holds, idempotency_key, expires_at)
        VALUES (p_tenant, p_id, p_user, p_key, p_meter, p_quantity, p_estimate,
                CASE WHEN p_prepaid THEN p_estimate ELSE 0 END, p_holds, p_idempotency_key, p_expires_at)
        ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
        RETURNING r.created_at INTO v_created;
        IF v_created IS NULL THEN
          RETURN;
        END IF;
        FOR h IN SELECT value FROM jsonb_array_elements(p_holds) LOOP
          i := i + 1;
          v_meter := ${HOLD_METER('p_meter')};
          v_quantity := ${HOLD_QUANTITY('p_quantity')};
          IF v_quantity > p_limits[i] THEN
            RAISE EXCEPTION USING ERRCODE = '${QUOTA_EXCEEDED}', MESSAGE = (i - 1)::text;
          END IF;
          INSERT INTO quota_counters AS c (tenant_id, subject_id, meter, period, window_start, used, reserved)
          VALUES (p_tenant, (h->>'subjectId')::uuid, v_meter, h->>'period', (h->>'windowStart')::timestamptz, 0, v_quantity)
          ON CONFLICT (tenant_id, subject_id, meter, period, window_start)
          DO UPDATE SET reserved = c.reserved + v_quantity WHERE c.used + c.reserved + v_quantity <= p_limits[i];
          IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = '${QUOTA_EXCEEDED}', MESSAGE = (i - 1)::text;
          END IF;
        END LOOP;
        IF p_prepaid THEN
          UPDATE wallets SET reserved_micros = reserved_micros + p_estimate, updated_at = now()
           WHERE tenant_id = p_tenant AND shortfall_micros = 0 AND balance_micros - reserved_micros >= p_estimate;
          IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = '${INSUFFICIENT_CREDITS}', MESSAGE = 'insufficient credits';
          END IF;
        END IF;
        RETURN QUERY SELECT v_created;
      END $$`);

    await q.query(`
      CREATE OR REPLACE FUNCTION atrium_commit(
        p_tenant uuid, p_rls boolean, p_id uuid, p_any_user boolean, p_actor uuid, p_now timestamptz,
        p_quantity bigint, p_cost bigint, p_prepaid_plan boolean, p_model varchar, p_provider varchar,
        p_metadata jsonb, p_client_ip varchar, p_request_id varchar)
      RETURNS jsonb LANGUAGE plpgsql AS $$
      DECLARE
        r reservations%ROWTYPE;
        h jsonb;
        v_quantity bigint;
        v_cost bigint;
        v_prepaid boolean;
        v_balance bigint;
        v_reserved bigint;
        v_debit bigint := 0;
      BEGIN
        ${ACT_AS_TENANT}
        SELECT * INTO r FROM reservations WHERE tenant_id = p_tenant AND id = p_id FOR UPDATE;
        IF NOT FOUND OR NOT (p_any_user OR (p_actor IS NOT NULL AND r.user_id IS NOT DISTINCT FROM p_actor)) THEN
          RETURN jsonb_build_object('outcome', 'not_found');
        END IF;
        IF r.status <> 'held' THEN
          RETURN jsonb_build_object('outcome', 'settled', 'status', r.status);
        END IF;
        IF r.expires_at <= p_now THEN
          PERFORM atrium_end_hold(p_tenant, p_id, 'expired', p_now);
          RETURN jsonb_build_object('outcome', 'expired');
        END IF;
        v_quantity := coalesce(p_quantity, r.quantity);
        IF v_quantity > r.quantity THEN
          RETURN jsonb_build_object('outcome', 'above_reserved', 'reserved', r.quantity);
        END IF;
        v_cost := coalesce(p_cost, r.estimated_cost_micros);
        v_prepaid := r.wallet_hold_micros > 0 OR p_prepaid_plan;

        UPDATE reservations SET status = 'committed', settled_at = p_now WHERE tenant_id = p_tenant AND id = p_id;
        INSERT INTO usage_events (tenant_id, event_id, user_id, api_key_id, reservation_id, meter, quantity,
                                  cost_micros, model, provider, status, client_ip, request_id, metadata, occurred_at)
        VALUES (p_tenant, 'reservation:' || r.id, r.user_id, r.api_key_id, r.id, r.meter, v_quantity, v_cost,
                p_model, p_provider, 'succeeded', p_client_ip, p_request_id, p_metadata, p_now);
        -- The reservation's own meter moves from reserved to used; a hold on another meter is given back
        -- (its use is recorded with the commit).
        FOR h IN SELECT value FROM jsonb_array_elements(r.holds) LOOP
          UPDATE quota_counters SET reserved = GREATEST(reserved - ${HOLD_QUANTITY('r.quantity')}, 0),
                 used = used + CASE WHEN h ? 'meter' THEN 0 ELSE v_quantity END
           WHERE tenant_id = p_tenant AND subject_id = (h->>'subjectId')::uuid AND meter = ${HOLD_METER('r.meter')}
             AND period = h->>'period' AND window_start = (h->>'windowStart')::timestamptz;
        END LOOP;

        -- Take what the balance covers without touching other holds, release this hold, record the rest.
        SELECT balance_micros, reserved_micros INTO v_balance, v_reserved FROM wallets WHERE tenant_id = p_tenant FOR UPDATE;
        IF FOUND THEN
          v_debit := LEAST(v_cost, GREATEST(0, v_balance - (v_reserved - r.wallet_hold_micros)));
          UPDATE wallets SET reserved_micros = reserved_micros - r.wallet_hold_micros,
                 balance_micros = balance_micros - v_debit,
                 shortfall_micros = shortfall_micros + CASE WHEN v_prepaid THEN v_cost - v_debit ELSE 0 END,
                 updated_at = now()
           WHERE tenant_id = p_tenant
          RETURNING balance_micros INTO v_balance;
          IF v_debit > 0 THEN
            INSERT INTO ledger_entries (tenant_id, kind, amount_micros, balance_after_micros, reason, reference)
            VALUES (p_tenant, 'debit', -v_debit, v_balance, 'Usage: ' || v_quantity || ' ' || r.meter,
                    'reservation:' || r.id);
          END IF;
        END IF;

        INSERT INTO usage_daily AS d (tenant_id, day, meter, user_id, api_key_id, model, provider, quantity, cost_micros, events)
        VALUES (p_tenant, (p_now AT TIME ZONE 'UTC')::date, r.meter,
                coalesce(r.user_id, '00000000-0000-0000-0000-000000000000'),
                coalesce(r.api_key_id, '00000000-0000-0000-0000-000000000000'),
                coalesce(p_model, ''), coalesce(p_provider, ''), v_quantity, v_cost, 1)
        ON CONFLICT (tenant_id, day, meter, user_id, api_key_id, model, provider) DO UPDATE
          SET quantity = d.quantity + EXCLUDED.quantity, cost_micros = d.cost_micros + EXCLUDED.cost_micros,
              events = d.events + 1;

        RETURN jsonb_build_object(
          'outcome', 'committed',
          'reservation', to_jsonb(r) || jsonb_build_object('status', 'committed', 'settled_at', p_now),
          'quantity', v_quantity, 'cost', v_cost, 'debited', v_debit,
          'shortfall', CASE WHEN v_prepaid THEN v_cost - v_debit ELSE 0 END);
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The functions as the metering functions migration made them.
    await q.query(`DROP FUNCTION atrium_commit`);
    await q.query(`DROP FUNCTION atrium_reserve`);
    await q.query(`DROP FUNCTION atrium_end_hold`);
    await new MeteringFunctions1764900000000().up(q);
  }
}
