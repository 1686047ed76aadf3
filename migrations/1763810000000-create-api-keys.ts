import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateApiKeys1763810000000 implements MigrationInterface {
  name = 'CreateApiKeys1763810000000';

  async up(q: QueryRunner): Promise<void> {
    // Personal keys (user_id set) and tenant keys (user_id null). Only a SHA-256 digest and a
    // short visible prefix are stored; the full key is shown once.
    await q.query(`
      CREATE TABLE "api_keys" (
        "tenant_id" uuid NOT NULL,
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "user_id" uuid,
        "kind" varchar(16) NOT NULL,
        "name" varchar(200) NOT NULL,
        "prefix" varchar(32) NOT NULL,
        "key_hash" char(64) NOT NULL,
        "scopes" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "expires_at" timestamptz,
        "last_used_at" timestamptz,
        "revoked_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_api_keys" PRIMARY KEY ("tenant_id", "id"),
        CONSTRAINT "uq_api_keys_tenant_hash" UNIQUE ("tenant_id", "key_hash"),
        CONSTRAINT "fk_api_keys_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE,
        CONSTRAINT "fk_api_keys_user" FOREIGN KEY ("tenant_id", "user_id") REFERENCES "users" ("tenant_id", "id") ON DELETE CASCADE,
        CONSTRAINT "ck_api_keys_kind" CHECK (("kind" = 'personal' AND "user_id" IS NOT NULL) OR ("kind" = 'tenant' AND "user_id" IS NULL))
      )`);
    await q.query(`CREATE INDEX "ix_api_keys_hash" ON "api_keys" ("key_hash")`);
    await q.query(`CREATE INDEX "ix_api_keys_tenant_user" ON "api_keys" ("tenant_id", "user_id", "created_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "api_keys"`);
  }
}
