import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateMailAndOneTimeTokens1763800000000 implements MigrationInterface {
  name = 'CreateMailAndOneTimeTokens1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" DROP CONSTRAINT "ck_users_status"`);
    await q.query(
      `ALTER TABLE "users" ADD CONSTRAINT "ck_users_status" CHECK ("status" IN ('active', 'disabled', 'invited'))`,
    );

    // Single-use tokens sent by mail (invitations, password resets, e-mail verification), stored as SHA-256 digests.
    await q.query(`
      CREATE TABLE "one_time_tokens" (
        "tenant_id" uuid NOT NULL,
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "user_id" uuid NOT NULL,
        "purpose" varchar(32) NOT NULL,
        "token_hash" char(64) NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "used_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_one_time_tokens" PRIMARY KEY ("tenant_id", "id"),
        CONSTRAINT "uq_one_time_tokens_hash" UNIQUE ("tenant_id", "token_hash"),
        CONSTRAINT "fk_one_time_tokens_user" FOREIGN KEY ("tenant_id", "user_id") REFERENCES "users" ("tenant_id", "id") ON DELETE CASCADE,
        CONSTRAINT "ck_one_time_tokens_purpose" CHECK ("purpose" IN ('invitation', 'password_reset', 'email_verification'))
      )`);
    await q.query(`CREATE INDEX "ix_one_time_tokens_hash" ON "one_time_tokens" ("token_hash")`);

    // Outgoing mail: every message is recorded; without SMTP_URL this table (and the log) is the delivery.
    await q.query(`
      CREATE TABLE "mail_outbox" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "tenant_id" uuid,
        "to_address" varchar(320) NOT NULL,
        "subject" varchar(300) NOT NULL,
        "body" text NOT NULL,
        "transport" varchar(16) NOT NULL,
        "sent_at" timestamptz,
        "error" varchar(500),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_mail_outbox" PRIMARY KEY ("id"),
        CONSTRAINT "fk_mail_outbox_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "ix_mail_outbox_tenant" ON "mail_outbox" ("tenant_id", "created_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "mail_outbox"`);
    await q.query(`DROP TABLE "one_time_tokens"`);
    await q.query(`UPDATE "users" SET "status" = 'disabled' WHERE "status" = 'invited'`);
    await q.query(`ALTER TABLE "users" DROP CONSTRAINT "ck_users_status"`);
    await q.query(`ALTER TABLE "users" ADD CONSTRAINT "ck_users_status" CHECK ("status" IN ('active', 'disabled'))`);
  }
}
