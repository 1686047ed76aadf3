import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateUsersAndSessions1763790000000 implements MigrationInterface {
  name = 'CreateUsersAndSessions1763790000000';

  async up(q: QueryRunner): Promise<void> {
    // Platform operators belong to no tenant, so they live outside the tenant-owned tables.
    await q.query(`
      CREATE TABLE "platform_admins" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "email" varchar(320) NOT NULL,
        "name" varchar(200) NOT NULL,
        "password_hash" varchar(100) NOT NULL,
        "token_version" integer NOT NULL DEFAULT 0,
        "failed_logins" integer NOT NULL DEFAULT 0,
        "locked_until" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_platform_admins" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE UNIQUE INDEX "uq_platform_admins_email" ON "platform_admins" (lower("email"))`);

    await q.query(`
      CREATE TABLE "users" (
        "tenant_id" uuid NOT NULL,
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "email" varchar(320) NOT NULL,
        "name" varchar(200) NOT NULL,
        "password_hash" varchar(100),
        "role" varchar(32) NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'active',
        "email_verified_at" timestamptz,
        "token_version" integer NOT NULL DEFAULT 0,
        "failed_logins" integer NOT NULL DEFAULT 0,
        "locked_until" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        "deleted_at" timestamptz,
        CONSTRAINT "pk_users" PRIMARY KEY ("tenant_id", "id"),
        CONSTRAINT "fk_users_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE,
        CONSTRAINT "ck_users_role" CHECK ("role" IN ('tenant_admin', 'member', 'viewer')),
        CONSTRAINT "ck_users_status" CHECK ("status" IN ('active', 'disabled'))
      )`);
    await q.query(
      `CREATE UNIQUE INDEX "uq_users_tenant_email" ON "users" ("tenant_id", lower("email")) WHERE "deleted_at" IS NULL`,
    );
    await q.query(`CREATE INDEX "ix_users_tenant_created" ON "users" ("tenant_id", "created_at", "id")`);
    await q.query(`CREATE INDEX "ix_users_email" ON "users" (lower("email")) WHERE "deleted_at" IS NULL`);

    // Refresh tokens: one row per issued token; a family is one login's chain of rotations.
    await q.query(`
      CREATE TABLE "auth_sessions" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "family_id" uuid NOT NULL,
        "subject_kind" varchar(16) NOT NULL,
        "subject_id" uuid NOT NULL,
        "tenant_id" uuid,
        "token_hash" char(64) NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "used_at" timestamptz,
        "revoked_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_auth_sessions" PRIMARY KEY ("id"),
        CONSTRAINT "uq_auth_sessions_token" UNIQUE ("token_hash"),
        CONSTRAINT "ck_auth_sessions_subject" CHECK ("subject_kind" IN ('user', 'platform_admin')),
        CONSTRAINT "fk_auth_sessions_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "ix_auth_sessions_family" ON "auth_sessions" ("family_id")`);
    await q.query(`CREATE INDEX "ix_auth_sessions_subject" ON "auth_sessions" ("subject_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "auth_sessions"`);
    await q.query(`DROP TABLE "users"`);
    await q.query(`DROP TABLE "platform_admins"`);
  }
}
