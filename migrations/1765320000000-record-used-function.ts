import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ACT_AS_TENANT } from './tenant-isolation.js';

/**
 * Usage a committed reservation's call also had on other meters (a chat call's
 * input and output tokens), recorded by the statement that commits it: one
 * event per meter (event id `reservation:<id>:<meter>`, so written once),
 * added to the `used` of each quota counter named with it — never refused:
 * the usage happened — and to the daily aggregate, at no cost of its own.
 * `p_reservation` is the committed reservation as atrium_commit answers it;
 * `p_uses` is [{meter, quantity, counters: [{subjectId, period, windowStart}]}]. Answers how many
 * events it wrote.
 */
export class RecordUsedFunction1765320000000 implements MigrationInterface {
  name = 'RecordUsedFunction1765320000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION atrium_record_used(
        p_tenant uuid, p_rls boolean, p_reservation jsonb, p_uses jsonb, p_now timestamptz,
        p_model varchar, p_provider varchar, p_client_ip varchar, p_request_id varchar)
      RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        u jsonb;
        c jsonb;
        v_id uuid := (p_reservation->>'id')::uuid;
        v_user uuid := (p_reservation->>'user_id')::uuid;
        v_key uuid := (p_reservation->>'api_key_id')::uuid;
        v_meter varchar;
        v_quantity bigint;
        v_written integer := 0;
      BEGIN
        ${ACT_AS_TENANT}
        FOR u IN SELECT value FROM jsonb_array_elements(p_uses) LOOP
          v_meter := u->>'meter';
          v_quantity := (u->>'quantity')::bigint;
          CONTINUE WHEN v_quantity <= 0;
          INSERT INTO usage_events (tenant_id, event_id, user_id, api_key_id, reservation_id, meter, quantity,
                                    cost_micros, model, provider, status, client_ip, request_id, occurred_at)
          VALUES (p_tenant, 'reservation:' || v_id || ':' || v_meter, v_user, v_key, v_id, v_meter, v_quantity, 0,
                  p_model, p_provider, 'succeeded', p_client_ip, p_request_id, p_now)
          ON CONFLICT (tenant_id, event_id) DO NOTHING;
          CONTINUE WHEN NOT FOUND;
          v_written := v_written + 1;
          FOR c IN SELECT value FROM jsonb_array_elements(u->'counters') LOOP
            INSERT INTO quota_counters AS k (tenant_id, subject_id, meter, period, window_start, used)
            VALUES (p_tenant, (c->>'subjectId')::uuid, v_meter, c->>'period', (c->>'windowStart')::timestamptz, v_quantity)
            ON CONFLICT (tenant_id, subject_id, meter, period, window_start) DO UPDATE SET used = k.used + EXCLUDED.used;
          END LOOP;
          INSERT INTO usage_daily AS d (tenant_id, day, meter, user_id, api_key_id, model, provider, quantity, cost_micros, events)
          VALUES (p_tenant, (p_now AT TIME ZONE 'UTC')::date, v_meter,
                  coalesce(v_user, '00000000-0000-0000-0000-000000000000'),
                  coalesce(v_key, '00000000-0000-0000-0000-000000000000'),
                  coalesce(p_model, ''), coalesce(p_provider, ''), v_quantity, 0, 1)
          ON CONFLICT (tenant_id, day, meter, user_id, api_key_id, model, provider) DO UPDATE
            SET quantity = d.quantity + EXCLUDED.quantity, events = d.events + 1;
        END LOOP;
        RETURN v_written;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `DROP FUNCTION atrium_record_used(uuid, boolean, jsonb, jsonb, timestamptz, varchar, varchar, varchar, varchar)`,
    );
  }
}
