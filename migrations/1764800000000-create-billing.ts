import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isolateTenantTable, releaseTenantTable } from './tenant-isolation.js';

const BUILT_IN_METERS: [string, string, string][] = [
  ['requests', 'Requests', 'request'],
  ['input_tokens', 'Input tokens', 'token'],
  ['output_tokens', 'Output tokens', 'token'],
  ['images', 'Images generated', 'image'],
  ['image_edits', 'Image edits', 'image'],
  ['videos', 'Videos generated', 'video'],
  ['video_seconds', 'Video seconds generated', 'second'],
  ['embedding_tokens', 'Embedding tokens', 'token'],
  ['kb_documents', 'Knowledge-base documents', 'document'],
  ['kb_storage_bytes', 'Knowledge-base storage', 'byte'],
  ['cost_micros', 'Cost', 'micro'],
];

const TENANT_TABLES = [
  'subscriptions',
  'quota_defaults',
  'user_quotas',
  'wallets',
  'ledger_entries',
  'quota_counters',
  'reservations',
  'usage_events',
  'usage_daily',
];

/** The zero UUID stands for "no user" / "no key" in aggregate keys, which cannot hold NULL. */
const NONE = `'00000000-0000-0000-0000-000000000000'`;

export class CreateBilling1764800000000 implements MigrationInterface {
  name = 'CreateBilling1764800000000';

  async up(q: QueryRunner): Promise<void> {
    // Platform catalog: what is metered, and the plans tenants subscribe to.
    await q.query(`
      CREATE TABLE "meters" (
        "code" varchar(64) NOT NULL,
        "name" varchar(200) NOT NULL,
        "unit" varchar(32) NOT NULL,
        "built_in" boolean NOT NULL DEFAULT false,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_meters" PRIMARY KEY ("code"),
        CONSTRAINT "ck_meters_code" CHECK ("code" ~ '^[a-z][a-z0-9_.]*$')
      )`);
    for (const [code, name, unit] of BUILT_IN_METERS) {
      await q.query(`INSERT INTO "meters" ("code", "name", "unit", "built_in") VALUES ($1, $2, $3, true)`, [
        code,
        name,
        unit,
      ]);
    }
    await q.query(`
      CREATE TABLE "plans" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "code" varchar(64) NOT NULL,
        "name" varchar(200) NOT NULL,
        "price_micros" bigint NOT NULL DEFAULT 0,
        "currency" char(3) NOT NULL DEFAULT 'USD',
        "interval" varchar(8) NOT NULL DEFAULT 'month',
        "tier" varchar(32) NOT NULL,
        "billing_mode" varchar(8) NOT NULL DEFAULT 'prepaid',
        "included_credits_micros" bigint NOT NULL DEFAULT 0,
        "rate_limits" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "quotas" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "charges" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "status" varchar(16) NOT NULL DEFAULT 'active',
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_plans" PRIMARY KEY ("id"),
        CONSTRAINT "uq_plans_code" UNIQUE ("code"),
        CONSTRAINT "ck_plans_price" CHECK ("price_micros" >= 0 AND "included_credits_micros" >= 0),
        CONSTRAINT "ck_plans_interval" CHECK ("interval" IN ('month', 'year')),
        CONSTRAINT "ck_plans_mode" CHECK ("billing_mode" IN ('prepaid', 'postpaid')),
        CONSTRAINT "ck_plans_status" CHECK ("status" IN ('active', 'archived'))
      )`);
    await q.query(
      `INSERT INTO "plans" ("code", "name", "tier", "billing_mode", "included_credits_micros", "rate_limits", "quotas")
       VALUES ('free', 'Free', 'free', 'prepaid', 1000000,
               '{"requestsPerMinute": 2, "tenantRequestsPerMinute": 60}'::jsonb,
               '[{"meter": "images", "limit": 50, "period": "day", "scope": "user"},
                 {"meter": "videos", "limit": 5, "period": "day", "scope": "user"}]'::jsonb),
              ('pro', 'Pro', 'pro', 'prepaid', 20000000,
               '{"requestsPerMinute": 10, "tenantRequestsPerMinute": 600}'::jsonb,
               '[{"meter": "images", "limit": 500, "period": "day", "scope": "user"},
                 {"meter": "videos", "limit": 50, "period": "day", "scope": "user"}]'::jsonb)`,
    );
    await q.query(`UPDATE "plans" SET "price_micros" = 20000000 WHERE "code" = 'pro'`);

    // One subscription per tenant; billing periods start on the anchor day of the month (UTC).
    await q.query(`
      CREATE TABLE "subscriptions" (
        "tenant_id" uuid NOT NULL,
        "plan_id" uuid NOT NULL,
        "anchor_day" integer NOT NULL DEFAULT 1,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_subscriptions" PRIMARY KEY ("tenant_id"),
        CONSTRAINT "fk_subscriptions_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE,
        CONSTRAINT "fk_subscriptions_plan" FOREIGN KEY ("plan_id") REFERENCES "plans" ("id"),
        CONSTRAINT "ck_subscriptions_anchor" CHECK ("anchor_day" BETWEEN 1 AND 28)
      )`);

    // Quotas set by the tenant: defaults for every user, and a user's own.
    await q.query(`
      CREATE TABLE "quota_defaults" (
        "tenant_id" uuid NOT NULL,
        "meter" varchar(64) NOT NULL,
        "period" varchar(16) NOT NULL,
        "quota_limit" bigint NOT NULL,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_quota_defaults" PRIMARY KEY ("tenant_id", "meter", "period"),
        CONSTRAINT "fk_quota_defaults_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE,
        CONSTRAINT "fk_quota_defaults_meter" FOREIGN KEY ("meter") REFERENCES "meters" ("code"),
        CONSTRAINT "ck_quota_defaults" CHECK ("quota_limit" >= 0 AND "period" IN ('day', 'week', 'month', 'billing_period'))
      )`);
    await q.query(`
      CREATE TABLE "user_quotas" (
        "tenant_id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "meter" varchar(64) NOT NULL,
        "period" varchar(16) NOT NULL,
        "quota_limit" bigint NOT NULL,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_user_quotas" PRIMARY KEY ("tenant_id", "user_id", "meter", "period"),
        CONSTRAINT "fk_user_quotas_user" FOREIGN KEY ("tenant_id", "user_id") REFERENCES "users" ("tenant_id", "id") ON DELETE CASCADE,
        CONSTRAINT "fk_user_quotas_meter" FOREIGN KEY ("meter") REFERENCES "meters" ("code"),
        CONSTRAINT "ck_user_quotas" CHECK ("quota_limit" >= 0 AND "period" IN ('day', 'week', 'month', 'billing_period'))
      )`);

    // The prepaid credit wallet. The balance never goes below zero and always equals the sum of the
    // ledger; holds of open reservations never exceed it; a commit that costs more than can be
    // covered records a shortfall, which blocks new holds until a grant settles it.
    await q.query(`
      CREATE TABLE "wallets" (
        "tenant_id" uuid NOT NULL,
        "balance_micros" bigint NOT NULL DEFAULT 0,
        "reserved_micros" bigint NOT NULL DEFAULT 0,
        "shortfall_micros" bigint NOT NULL DEFAULT 0,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_wallets" PRIMARY KEY ("tenant_id"),
        CONSTRAINT "fk_wallets_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE,
        CONSTRAINT "ck_wallets_amounts" CHECK ("balance_micros" >= 0 AND "reserved_micros" >= 0 AND "shortfall_micros" >= 0),
        CONSTRAINT "ck_wallets_holds" CHECK ("reserved_micros" <= "balance_micros")
      )`);
    await q.query(`
      CREATE TABLE "ledger_entries" (
        "tenant_id" uuid NOT NULL,
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "kind" varchar(16) NOT NULL,
        "amount_micros" bigint NOT NULL,
        "balance_after_micros" bigint NOT NULL,
        "reason" varchar(500) NOT NULL,
        "reference" varchar(200),
        "idempotency_key" varchar(200),
        "created_at" timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT "pk_ledger_entries" PRIMARY KEY ("tenant_id", "id"),
        CONSTRAINT "uq_ledger_entries_idempotency" UNIQUE ("tenant_id", "idempotency_key"),
        CONSTRAINT "fk_ledger_entries_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE,
        CONSTRAINT "ck_ledger_entries_kind" CHECK ("kind" IN ('grant', 'adjustment', 'included', 'debit')),
        CONSTRAINT "ck_ledger_entries_balance" CHECK ("balance_after_micros" >= 0)
      )`);
    await q.query(
      `CREATE INDEX "ix_ledger_entries_tenant_created" ON "ledger_entries" ("tenant_id", "created_at", "id")`,
    );

    // Quota usage per subject (the tenant, or a user) and window: used (committed) and reserved (held).
    await q.query(`
      CREATE TABLE "quota_counters" (
        "tenant_id" uuid NOT NULL,
        "subject_id" uuid NOT NULL,
        "meter" varchar(64) NOT NULL,
        "period" varchar(16) NOT NULL,
        "window_start" timestamptz NOT NULL,
        "used" bigint NOT NULL DEFAULT 0,
        "reserved" bigint NOT NULL DEFAULT 0,
        CONSTRAINT "pk_quota_counters" PRIMARY KEY ("tenant_id", "subject_id", "meter", "period", "window_start"),
        CONSTRAINT "fk_quota_counters_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE,
        CONSTRAINT "ck_quota_counters" CHECK ("used" >= 0 AND "reserved" >= 0)
      )`);

    await q.query(`
      CREATE TABLE "reservations" (
        "tenant_id" uuid NOT NULL,
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "user_id" uuid,
        "api_key_id" uuid,
        "meter" varchar(64) NOT NULL,
        "quantity" bigint NOT NULL,
        "estimated_cost_micros" bigint NOT NULL DEFAULT 0,
        "wallet_hold_micros" bigint NOT NULL DEFAULT 0,
        "status" varchar(16) NOT NULL DEFAULT 'held',
        "holds" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "idempotency_key" varchar(200) NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "settled_at" timestamptz,
        CONSTRAINT "pk_reservations" PRIMARY KEY ("tenant_id", "id"),
        CONSTRAINT "uq_reservations_idempotency" UNIQUE ("tenant_id", "idempotency_key"),
        CONSTRAINT "fk_reservations_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE,
        CONSTRAINT "fk_reservations_meter" FOREIGN KEY ("meter") REFERENCES "meters" ("code"),
        CONSTRAINT "ck_reservations" CHECK ("quantity" > 0 AND "estimated_cost_micros" >= 0 AND "wallet_hold_micros" >= 0
          AND "status" IN ('held', 'committed', 'released', 'expired'))
      )`);
    await q.query(`CREATE INDEX "ix_reservations_expiry" ON "reservations" ("expires_at") WHERE "status" = 'held'`);

    // Raw usage events (the record), and daily aggregates maintained as events arrive (what reports read).
    await q.query(`
      CREATE TABLE "usage_events" (
        "tenant_id" uuid NOT NULL,
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "event_id" varchar(200) NOT NULL,
        "user_id" uuid,
        "api_key_id" uuid,
        "reservation_id" uuid,
        "meter" varchar(64) NOT NULL,
        "quantity" bigint NOT NULL,
        "cost_micros" bigint NOT NULL DEFAULT 0,
        "model" varchar(200),
        "provider" varchar(100),
        "latency_ms" integer,
        "status" varchar(16) NOT NULL DEFAULT 'succeeded',
        "client_ip" varchar(64),
        "request_id" varchar(128),
        "metadata" jsonb,
        "occurred_at" timestamptz NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_usage_events" PRIMARY KEY ("tenant_id", "id"),
        CONSTRAINT "uq_usage_events_event" UNIQUE ("tenant_id", "event_id"),
        CONSTRAINT "fk_usage_events_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE,
        CONSTRAINT "ck_usage_events" CHECK ("quantity" >= 0 AND "cost_micros" >= 0)
      )`);
    await q.query(`CREATE INDEX "ix_usage_events_tenant_time" ON "usage_events" ("tenant_id", "occurred_at")`);
    await q.query(`
      CREATE TABLE "usage_daily" (
        "tenant_id" uuid NOT NULL,
        "day" date NOT NULL,
        "meter" varchar(64) NOT NULL,
        "user_id" uuid NOT NULL DEFAULT ${NONE},
        "api_key_id" uuid NOT NULL DEFAULT ${NONE},
        "model" varchar(200) NOT NULL DEFAULT '',
        "provider" varchar(100) NOT NULL DEFAULT '',
        "quantity" bigint NOT NULL DEFAULT 0,
        "cost_micros" bigint NOT NULL DEFAULT 0,
        "events" bigint NOT NULL DEFAULT 0,
        CONSTRAINT "pk_usage_daily" PRIMARY KEY ("tenant_id", "day", "meter", "user_id", "api_key_id", "model", "provider"),
        CONSTRAINT "fk_usage_daily_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE
      )`);

    for (const table of TENANT_TABLES) await isolateTenantTable(q, table);

    // Every existing tenant starts on the free plan with an empty wallet.
    await q.query(`
      INSERT INTO "subscriptions" ("tenant_id", "plan_id")
      SELECT t."id", p."id" FROM "tenants" t CROSS JOIN "plans" p WHERE p."code" = 'free'`);
    await q.query(`INSERT INTO "wallets" ("tenant_id") SELECT "id" FROM "tenants"`);
    // Tenant apps meter their own features and read the plan catalog.
    await q.query(
      `UPDATE "api_keys" SET "scopes" = '["plans:read", "profile:read", "tenant:read", "usage:read", "usage:write"]'::jsonb
        WHERE "kind" = 'tenant'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [...TENANT_TABLES].reverse()) {
      await releaseTenantTable(q, table);
      await q.query(`DROP TABLE "${table}"`);
    }
    await q.query(`DROP TABLE "plans"`);
    await q.query(`DROP TABLE "meters"`);
    await q.query(
      `UPDATE "api_keys" SET "scopes" = '["profile:read", "tenant:read", "usage:read"]'::jsonb WHERE "kind" = 'tenant'`,
    );
  }
}
