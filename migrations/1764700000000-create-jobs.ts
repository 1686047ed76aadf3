import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateJobs1764700000000 implements MigrationInterface {
  name = 'CreateJobs1764700000000';

  async up(q: QueryRunner): Promise<void> {
    // Background jobs when no Redis is configured (src/core/ports/job-queue.ts). A platform table: the
    // worker claims jobs of every tenant, and each job then runs in its own tenant's context. No foreign
    // key to tenants, so the clean-up jobs of a tenant being deleted are not deleted with it.
    await q.query(`
      CREATE TABLE "jobs" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "name" varchar(100) NOT NULL,
        "tenant_id" uuid,
        "payload" jsonb NOT NULL,
        "job_key" varchar(255),
        "status" varchar(16) NOT NULL DEFAULT 'queued',
        "attempts" integer NOT NULL DEFAULT 0,
        "max_attempts" integer NOT NULL,
        "backoff_ms" integer NOT NULL,
        "run_at" timestamptz NOT NULL DEFAULT now(),
        "locked_by" varchar(200),
        "locked_until" timestamptz,
        "last_error" varchar(2000),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "finished_at" timestamptz,
        CONSTRAINT "pk_jobs" PRIMARY KEY ("id"),
        CONSTRAINT "ck_jobs_status" CHECK ("status" IN ('queued', 'running', 'completed', 'failed')),
        CONSTRAINT "ck_jobs_attempts" CHECK ("attempts" >= 0 AND "max_attempts" >= 1 AND "backoff_ms" >= 0)
      )`);
    // One job per (name, tenant, key) while its row is kept: enqueuing the same key again is a no-op.
    await q.query(
      `CREATE UNIQUE INDEX "uq_jobs_key" ON "jobs" ("name", (coalesce("tenant_id", '00000000-0000-0000-0000-000000000000'::uuid)), "job_key")
        WHERE "job_key" IS NOT NULL`,
    );
    // What the pollers look for: queued jobs that are due, and running ones whose lease ran out.
    await q.query(`CREATE INDEX "ix_jobs_due" ON "jobs" ("name", "run_at") WHERE "status" IN ('queued', 'running')`);
    await q.query(`CREATE INDEX "ix_jobs_finished" ON "jobs" ("finished_at") WHERE "finished_at" IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "jobs"`);
  }
}
