import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isolateTenantTable, releaseTenantTable } from './tenant-isolation.js';

/**
 * Generated media (images and videos, the bytes in the blob store) and video
 * jobs (durable, polled until the upstream finishes), both tenant-owned; and
 * Anthropic as a provider kind.
 */
export class CreateMediaAndVideos1765100000000 implements MigrationInterface {
  name = 'CreateMediaAndVideos1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "providers" DROP CONSTRAINT "ck_providers_kind"`);
    await q.query(
      `ALTER TABLE "providers" ADD CONSTRAINT "ck_providers_kind" CHECK ("kind" IN ('openai', 'gemini', 'anthropic', 'local'))`,
    );
    await q.query(`
      CREATE TABLE "media" (
        "tenant_id" uuid NOT NULL,
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "user_id" uuid,
        "api_key_id" uuid,
        "type" varchar(16) NOT NULL,
        "model" varchar(100) NOT NULL,
        "prompt" text NOT NULL,
        "content_type" varchar(100) NOT NULL,
        "size_bytes" bigint NOT NULL,
        "width" integer,
        "height" integer,
        "seconds" integer,
        "blob_key" varchar(1024) NOT NULL,
        "client_ip" varchar(64),
        "request_id" varchar(128),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_media" PRIMARY KEY ("tenant_id", "id"),
        CONSTRAINT "fk_media_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE,
        CONSTRAINT "fk_media_user" FOREIGN KEY ("tenant_id", "user_id") REFERENCES "users" ("tenant_id", "id") ON DELETE SET NULL ("user_id"),
        CONSTRAINT "ck_media_type" CHECK ("type" IN ('image', 'video')),
        CONSTRAINT "ck_media_size" CHECK ("size_bytes" >= 0)
      )`);
    await q.query(`CREATE INDEX "ix_media_tenant_created" ON "media" ("tenant_id", "created_at" DESC, "id")`);
    await q.query(`CREATE INDEX "ix_media_tenant_user_created" ON "media" ("tenant_id", "user_id", "created_at" DESC)`);
    await isolateTenantTable(q, 'media');

    await q.query(`
      CREATE TABLE "video_jobs" (
        "tenant_id" uuid NOT NULL,
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "user_id" uuid,
        "api_key_id" uuid,
        "model" varchar(100) NOT NULL,
        "prompt" text NOT NULL,
        "seconds" integer NOT NULL,
        "size" varchar(16) NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'queued',
        "progress" integer NOT NULL DEFAULT 0,
        "reservation_id" uuid NOT NULL,
        "provider_id" uuid,
        "provider_model" varchar(200),
        "upstream_id" varchar(500),
        "media_id" uuid,
        "error_code" varchar(64),
        "error_message" varchar(500),
        "client_ip" varchar(64),
        "request_id" varchar(128),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "completed_at" timestamptz,
        CONSTRAINT "pk_video_jobs" PRIMARY KEY ("tenant_id", "id"),
        CONSTRAINT "fk_video_jobs_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE,
        CONSTRAINT "fk_video_jobs_media" FOREIGN KEY ("tenant_id", "media_id") REFERENCES "media" ("tenant_id", "id") ON DELETE SET NULL ("media_id"),
        CONSTRAINT "ck_video_jobs_status" CHECK ("status" IN ('queued', 'in_progress', 'completed', 'failed')),
        CONSTRAINT "ck_video_jobs_progress" CHECK ("progress" BETWEEN 0 AND 100)
      )`);
    await q.query(`CREATE INDEX "ix_video_jobs_tenant_created" ON "video_jobs" ("tenant_id", "created_at" DESC, "id")`);
    await isolateTenantTable(q, 'video_jobs');
  }

  async down(q: QueryRunner): Promise<void> {
    await releaseTenantTable(q, 'video_jobs');
    await q.query(`DROP TABLE "video_jobs"`);
    await releaseTenantTable(q, 'media');
    await q.query(`DROP TABLE "media"`);
    await q.query(`ALTER TABLE "providers" DROP CONSTRAINT "ck_providers_kind"`);
    await q.query(
      `ALTER TABLE "providers" ADD CONSTRAINT "ck_providers_kind" CHECK ("kind" IN ('openai', 'gemini', 'local'))`,
    );
  }
}
