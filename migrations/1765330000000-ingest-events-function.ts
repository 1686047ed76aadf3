import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ACT_AS_TENANT } from './tenant-isolation.js';

const NONE = '00000000-0000-0000-0000-000000000000';

/** The per-event fields of `p_events`, as jsonb_to_recordset reads them. */
const EVENT_FIELDS = `n int, event_id varchar, user_id uuid, meter varchar, quantity bigint, cost_micros bigint,
  model varchar, provider varchar, metadata jsonb, occurred_at timestamptz, links_end int`;

/**
 * A batch of usage events recorded in one database call, as the service used to
 * do in one unit of work: one round trip, one implicit transaction, rows locked
 * in the order every metering path takes them (the events, their quota counters
 * in lock order, the wallet, the daily aggregates).
 *
 * - `p_events`: [{n (1, 2, … in the order events are admitted), event_id, user_id, meter, quantity,
 *   cost_micros, model, provider, metadata, occurred_at, links_end}]; event n's quota counters are
 *   `p_links[links_end of event n-1 + 1 .. its links_end]`.
 * - `p_counters`: [{n (1, 2, … in lock order), subject_id, meter, period, window_start, lim}].
 *
 * New events are inserted in event id order (concurrent batches sharing ids cannot deadlock; one a
 * concurrent batch is inserting is waited for, then is a duplicate). Each new event is then admitted
 * on its own, in order, against what is left: the wallet's available credits (prepaid) and the room
 * of each of its counters; a refused event's row is removed. The admitted quantities are added to the
 * counters, their cost is debited from the balance as far as it goes (other holds untouched) with one
 * ledger entry, and the events are added to the daily aggregates.
 *
 * Answers {duplicates: [n], refused: [[n, 'credits', available] | [n, 'quota', counter n, taken]],
 * debited}.
 */
export class IngestEventsFunction1765330000000 implements MigrationInterface {
  name = 'IngestEventsFunction1765330000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION atrium_ingest(
        p_tenant uuid, p_rls boolean, p_events jsonb, p_counters jsonb, p_links int[], p_prepaid boolean,
        p_key uuid, p_client_ip varchar, p_request_id varchar)
      RETURNS jsonb LANGUAGE plpgsql AS $$
      DECLARE
        v_rows uuid[];
        v_quantity bigint[];
        v_cost bigint[];
        v_ends int[];
        v_fresh int;
        v_costly boolean;
        v_limit bigint[];
        v_room bigint[];
        v_taken bigint[];
        v_ok boolean[];
        v_duplicates int[] := '{}';
        v_rejected uuid[] := '{}';
        v_refused jsonb := '[]';
        v_refusal jsonb;
        v_balance bigint;
        v_reserved bigint;
        v_shortfall bigint;
        v_available bigint := 0;
        v_total bigint := 0;
        v_accepted int := 0;
        v_debit bigint := 0;
        v_from int;
        v_counter int;
      BEGIN
        ${ACT_AS_TENANT}
        WITH e AS (
          SELECT * FROM jsonb_to_recordset(p_events) AS x(${EVENT_FIELDS})
        ), ins AS (
          INSERT INTO usage_events (tenant_id, event_id, user_id, api_key_id, meter, quantity, cost_micros, model,
                                    provider, status, client_ip, request_id, metadata, occurred_at)
          SELECT p_tenant, e.event_id, e.user_id, p_key, e.meter, e.quantity, e.cost_micros, e.model, e.provider,
                 'succeeded', p_client_ip, p_request_id, e.metadata, e.occurred_at
            FROM e ORDER BY e.event_id COLLATE "C"
          ON CONFLICT (tenant_id, event_id) DO NOTHING
          RETURNING id, event_id
        )
        SELECT array_agg(ins.id ORDER BY e.n), array_agg(e.quantity ORDER BY e.n), array_agg(e.cost_micros ORDER BY e.n),
               array_agg(e.links_end ORDER BY e.n), count(ins.id), coalesce(bool_or(ins.id IS NOT NULL AND e.cost_micros > 0), false)
          INTO v_rows, v_quantity, v_cost, v_ends, v_fresh, v_costly
          FROM e LEFT JOIN ins ON ins.event_id = e.event_id;
        v_ok := array_fill(false, ARRAY[coalesce(array_length(v_rows, 1), 0)]);
        IF v_fresh > 0 AND jsonb_array_length(p_counters) > 0 THEN
          -- Each counter created at zero or locked as it is (the no-op update), in lock order, with its room.
          WITH c AS (
            SELECT * FROM jsonb_to_recordset(p_counters)
              AS x(n int, subject_id uuid, meter varchar, period varchar, window_start timestamptz, lim bigint)
          ), up AS (
            INSERT INTO quota_counters AS k (tenant_id, subject_id, meter, period, window_start)
            SELECT p_tenant, c.subject_id, c.meter, c.period, c.window_start FROM c ORDER BY c.n
            ON CONFLICT (tenant_id, subject_id, meter, period, window_start) DO UPDATE SET used = k.used
            RETURNING k.subject_id, k.meter, k.period, k.window_start, k.used, k.reserved
          )
          SELECT array_agg(c.lim ORDER BY c.n), array_agg(c.lim - up.used - up.reserved ORDER BY c.n)
            INTO v_limit, v_room
            FROM c JOIN up USING (subject_id, meter, period, window_start);
          v_taken := array_fill(0::bigint, ARRAY[array_length(v_limit, 1)]);
        END IF;
        IF v_costly THEN
          SELECT balance_micros, reserved_micros, shortfall_micros INTO v_balance, v_reserved, v_shortfall
            FROM wallets WHERE tenant_id = p_tenant FOR UPDATE;
          IF NOT FOUND THEN
            INSERT INTO wallets (tenant_id) VALUES (p_tenant) ON CONFLICT (tenant_id) DO NOTHING;
            SELECT balance_micros, reserved_micros, shortfall_micros INTO v_balance, v_reserved, v_shortfall
              FROM wallets WHERE tenant_id = p_tenant FOR UPDATE;
          END IF;
          v_available := CASE WHEN v_shortfall > 0 THEN 0 ELSE GREATEST(0, v_balance - v_reserved) END;
        END IF;
        FOR i IN 1 .. coalesce(array_length(v_rows, 1), 0) LOOP
          IF v_rows[i] IS NULL THEN
            v_duplicates := v_duplicates || i;
            CONTINUE;
          END IF;
          v_from := CASE WHEN i = 1 THEN 0 ELSE v_ends[i - 1] END;
          v_refusal := NULL;
          IF p_prepaid AND v_cost[i] > v_available THEN
            v_refusal := jsonb_build_array(i, 'credits', v_available);
          ELSE
            FOR j IN v_from + 1 .. v_ends[i] LOOP
              v_counter := p_links[j];
              IF v_quantity[i] > v_room[v_counter] THEN
                v_refusal := jsonb_build_array(i, 'quota', v_counter, v_limit[v_counter] - v_room[v_counter]);
                EXIT;
              END IF;
            END LOOP;
          END IF;
          IF v_refusal IS NOT NULL THEN
            v_refused := v_refused || jsonb_build_array(v_refusal);
            v_rejected := v_rejected || v_rows[i];
            CONTINUE;
          END IF;
          FOR j IN v_from + 1 .. v_ends[i] LOOP
            v_counter := p_links[j];
            v_room[v_counter] := v_room[v_counter] - v_quantity[i];
            v_taken[v_counter] := v_taken[v_counter] + v_quantity[i];
          END LOOP;
          IF p_prepaid THEN
            v_available := v_available - v_cost[i];
          END IF;
          v_total := v_total + v_cost[i];
          v_accepted := v_accepted + 1;
          v_ok[i] := true;
        END LOOP;
        IF cardinality(v_rejected) > 0 THEN
          DELETE FROM usage_events WHERE tenant_id = p_tenant AND id = ANY(v_rejected);
        END IF;
        IF v_accepted = 0 THEN
          RETURN jsonb_build_object('duplicates', to_jsonb(v_duplicates), 'refused', v_refused, 'debited', 0);
        END IF;
        IF v_taken IS NOT NULL THEN
          UPDATE quota_counters k SET used = k.used + v_taken[c.n]
            FROM jsonb_to_recordset(p_counters) AS c(n int, subject_id uuid, meter varchar, period varchar, window_start timestamptz)
           WHERE v_taken[c.n] > 0 AND k.tenant_id = p_tenant AND k.subject_id = c.subject_id AND k.meter = c.meter
             AND k.period = c.period AND k.window_start = c.window_start;
        END IF;
        IF v_total > 0 THEN
          v_debit := LEAST(v_total, GREATEST(0, v_balance - v_reserved));
          IF v_debit > 0 THEN
            UPDATE wallets SET balance_micros = balance_micros - v_debit, updated_at = now()
             WHERE tenant_id = p_tenant RETURNING balance_micros INTO v_balance;
            INSERT INTO ledger_entries (tenant_id, kind, amount_micros, balance_after_micros, reason, reference)
            VALUES (p_tenant, 'debit', -v_debit, v_balance, 'Usage events (' || v_accepted || ')',
                    'request:' || coalesce(p_request_id, ''));
          END IF;
        END IF;
        INSERT INTO usage_daily AS d (tenant_id, day, meter, user_id, api_key_id, model, provider, quantity, cost_micros, events)
        SELECT p_tenant, (e.occurred_at AT TIME ZONE 'UTC')::date, e.meter, coalesce(e.user_id, '${NONE}'),
               coalesce(p_key, '${NONE}'), coalesce(e.model, ''), coalesce(e.provider, ''),
               sum(e.quantity), sum(e.cost_micros), count(*)
          FROM jsonb_to_recordset(p_events) AS e(${EVENT_FIELDS})
         WHERE v_ok[e.n]
         GROUP BY 2, 3, 4, 5, 6, 7
         ORDER BY 2, 3, 4, 5, 6, 7
        ON CONFLICT (tenant_id, day, meter, user_id, api_key_id, model, provider) DO UPDATE
          SET quantity = d.quantity + EXCLUDED.quantity, cost_micros = d.cost_micros + EXCLUDED.cost_micros,
              events = d.events + EXCLUDED.events;
        RETURN jsonb_build_object('duplicates', to_jsonb(v_duplicates), 'refused', v_refused, 'debited', v_debit);
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION atrium_ingest(uuid, boolean, jsonb, jsonb, int[], boolean, uuid, varchar, varchar)`);
  }
}
