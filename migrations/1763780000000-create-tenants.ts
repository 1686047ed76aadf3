import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateTenants1763780000000 implements MigrationInterface {
  name = 'CreateTenants1763780000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "tenants" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "name" varchar(200) NOT NULL,
        "slug" varchar(63) NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'active',
        "status_reason" varchar(500),
        "settings" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        "deleted_at" timestamptz,
        CONSTRAINT "pk_tenants" PRIMARY KEY ("id"),
        CONSTRAINT "uq_tenants_slug" UNIQUE ("slug"),
        CONSTRAINT "ck_tenants_status" CHECK ("status" IN ('active', 'suspended', 'deleted'))
      )`);
    await q.query(`CREATE INDEX "ix_tenants_status" ON "tenants" ("status")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "tenants"`);
  }
}
