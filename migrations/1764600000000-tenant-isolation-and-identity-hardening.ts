import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isolateTenantTable, releaseTenantTable, TENANT_ROLE } from './tenant-isolation.js';

const TENANT_TABLES = ['users', 'api_keys', 'one_time_tokens'];

export class TenantIsolationAndIdentityHardening1764600000000 implements MigrationInterface {
  name = 'TenantIsolationAndIdentityHardening1764600000000';

  async up(q: QueryRunner): Promise<void> {
    // Roles are per cluster: several databases (tests, several installs) may race to create it.
    await q.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${TENANT_ROLE}') THEN
          CREATE ROLE ${TENANT_ROLE} NOLOGIN;
        END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END $$`);
    // The connecting role must be able to SET ROLE to it (a superuser always can).
    await q.query(`
      DO $$ BEGIN
        IF NOT pg_has_role(current_user, '${TENANT_ROLE}', 'MEMBER') THEN
          EXECUTE format('GRANT ${TENANT_ROLE} TO %I', current_user);
        END IF;
      END $$`);
    await q.query(`GRANT USAGE ON SCHEMA public TO ${TENANT_ROLE}`);
    for (const table of TENANT_TABLES) await isolateTenantTable(q, table);

    // At most one current (non-expiring, unrevoked) tenant key per tenant; older races are settled newest-wins.
    await q.query(`
      UPDATE "api_keys" k SET "revoked_at" = now()
       WHERE k."kind" = 'tenant' AND k."revoked_at" IS NULL AND k."expires_at" IS NULL
         AND EXISTS (SELECT 1 FROM "api_keys" n
                      WHERE n."tenant_id" = k."tenant_id" AND n."kind" = 'tenant'
                        AND n."revoked_at" IS NULL AND n."expires_at" IS NULL
                        AND (n."created_at", n."id") > (k."created_at", k."id"))`);
    await q.query(
      `CREATE UNIQUE INDEX "uq_api_keys_current_tenant_key" ON "api_keys" ("tenant_id")
        WHERE "kind" = 'tenant' AND "revoked_at" IS NULL AND "expires_at" IS NULL`,
    );

    // Every route now names a permission; keep what existing keys could do (GET /auth/me, own profile, sessions).
    await q.query(
      `UPDATE "api_keys" SET "scopes" = '["profile:read", "tenant:read", "usage:read"]'::jsonb WHERE "kind" = 'tenant'`,
    );
    await q.query(`
      UPDATE "api_keys" SET "scopes" = (
        SELECT jsonb_agg(DISTINCT s ORDER BY s) FROM jsonb_array_elements_text("scopes" || '["profile:read", "profile:write"]'::jsonb) s)
       WHERE "kind" = 'personal'`);

    // Mail is delivered after the sending change commits; undelivered messages are retried.
    await q.query(`ALTER TABLE "mail_outbox" ADD COLUMN "attempts" integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "mail_outbox" ADD COLUMN "claimed_at" timestamptz`);
    await q.query(
      `CREATE INDEX "ix_mail_outbox_undelivered" ON "mail_outbox" ("created_at") WHERE "sent_at" IS NULL AND "transport" = 'smtp'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "ix_mail_outbox_undelivered"`);
    await q.query(`ALTER TABLE "mail_outbox" DROP COLUMN "claimed_at"`);
    await q.query(`ALTER TABLE "mail_outbox" DROP COLUMN "attempts"`);
    await q.query(`DROP INDEX "uq_api_keys_current_tenant_key"`);
    for (const table of TENANT_TABLES) await releaseTenantTable(q, table);
    await q.query(`REVOKE USAGE ON SCHEMA public FROM ${TENANT_ROLE}`);
  }
}
