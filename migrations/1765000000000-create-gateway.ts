import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isolateTenantTable, releaseTenantTable } from './tenant-isolation.js';

/**
 * The generation gateway: upstream providers and their key pools, the model
 * routes that map an alias to providers and prices (platform tables), and the
 * record of every generation (tenant-owned).
 */
export class CreateGateway1765000000000 implements MigrationInterface {
  name = 'CreateGateway1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "providers" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "name" varchar(100) NOT NULL,
        "kind" varchar(16) NOT NULL,
        "base_url" varchar(2000),
        "enabled" boolean NOT NULL DEFAULT true,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_providers" PRIMARY KEY ("id"),
        CONSTRAINT "uq_providers_name" UNIQUE ("name"),
        CONSTRAINT "ck_providers_kind" CHECK ("kind" IN ('openai', 'gemini', 'local'))
      )`);
    // A provider's API keys, sealed (AES-256-GCM); the fingerprint (SHA-256 of the key) finds duplicates.
    await q.query(`
      CREATE TABLE "provider_keys" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "provider_id" uuid NOT NULL,
        "sealed_key" text NOT NULL,
        "fingerprint" varchar(64) NOT NULL,
        "last4" varchar(4) NOT NULL,
        "state" varchar(16) NOT NULL DEFAULT 'active',
        "cooling_until" timestamptz,
        "consecutive_failures" integer NOT NULL DEFAULT 0,
        "requests" bigint NOT NULL DEFAULT 0,
        "failures" bigint NOT NULL DEFAULT 0,
        "last_error" varchar(500),
        "last_used_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_provider_keys" PRIMARY KEY ("id"),
        CONSTRAINT "uq_provider_keys_fingerprint" UNIQUE ("provider_id", "fingerprint"),
        CONSTRAINT "fk_provider_keys_provider" FOREIGN KEY ("provider_id") REFERENCES "providers" ("id") ON DELETE CASCADE,
        CONSTRAINT "ck_provider_keys_state" CHECK ("state" IN ('active', 'disabled'))
      )`);
    await q.query(`
      CREATE TABLE "model_routes" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "alias" varchar(100) NOT NULL,
        "task" varchar(16) NOT NULL,
        "tiers" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "default_for" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "targets" jsonb NOT NULL,
        "input_per_mtok_micros" bigint NOT NULL DEFAULT 0,
        "output_per_mtok_micros" bigint NOT NULL DEFAULT 0,
        "per_image_micros" bigint NOT NULL DEFAULT 0,
        "per_video_second_micros" bigint NOT NULL DEFAULT 0,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_model_routes" PRIMARY KEY ("id"),
        CONSTRAINT "uq_model_routes_alias" UNIQUE ("alias"),
        CONSTRAINT "ck_model_routes_task" CHECK ("task" IN ('chat', 'embedding', 'image', 'video')),
        CONSTRAINT "ck_model_routes_prices" CHECK ("input_per_mtok_micros" >= 0 AND "output_per_mtok_micros" >= 0
          AND "per_image_micros" >= 0 AND "per_video_second_micros" >= 0)
      )`);
    await q.query(`
      CREATE TABLE "generations" (
        "tenant_id" uuid NOT NULL,
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "user_id" uuid,
        "api_key_id" uuid,
        "task" varchar(16) NOT NULL,
        "model" varchar(100) NOT NULL,
        "provider_id" uuid,
        "provider_model" varchar(200),
        "status" varchar(16) NOT NULL,
        "stream" boolean NOT NULL DEFAULT false,
        "input_tokens" integer NOT NULL DEFAULT 0,
        "output_tokens" integer NOT NULL DEFAULT 0,
        "cost_micros" bigint NOT NULL DEFAULT 0,
        "latency_ms" integer,
        "error_code" varchar(64),
        "client_ip" varchar(64),
        "request_id" varchar(128),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_generations" PRIMARY KEY ("tenant_id", "id"),
        CONSTRAINT "fk_generations_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE,
        CONSTRAINT "ck_generations_status" CHECK ("status" IN ('succeeded', 'failed'))
      )`);
    await q.query(`CREATE INDEX "ix_generations_tenant_created" ON "generations" ("tenant_id", "created_at")`);
    await isolateTenantTable(q, 'generations');
  }

  async down(q: QueryRunner): Promise<void> {
    await releaseTenantTable(q, 'generations');
    await q.query(`DROP TABLE "generations"`);
    await q.query(`DROP TABLE "model_routes"`);
    await q.query(`DROP TABLE "provider_keys"`);
    await q.query(`DROP TABLE "providers"`);
  }
}
