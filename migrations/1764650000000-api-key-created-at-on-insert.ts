import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A key's created_at is the moment its row is written, not the start of its transaction
 * (now()): tenant-key regenerations wait for one another on the tenant row, so only the
 * insert time orders them as they took effect, and the newest key is the live one.
 */
export class ApiKeyCreatedAtOnInsert1764650000000 implements MigrationInterface {
  name = 'ApiKeyCreatedAtOnInsert1764650000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "api_keys" ALTER COLUMN "created_at" SET DEFAULT clock_timestamp()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "api_keys" ALTER COLUMN "created_at" SET DEFAULT now()`);
  }
}
