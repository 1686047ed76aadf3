import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isolateTenantTable, releaseTenantTable } from './tenant-isolation.js';

/**
 * Knowledge bases: bases, their documents and the chunks search reads
 * (tenant-owned). Chunks carry a tsvector for keyword search and, for vector
 * search, a pgvector `vector` where the server has the extension (PGlite does)
 * or a float4[] searched exactly where it has not. API keys may be limited to
 * chosen bases.
 */
export class CreateKnowledge1765200000000 implements MigrationInterface {
  name = 'CreateKnowledge1765200000000';

  async up(q: QueryRunner): Promise<void> {
    const [available] = (await q.query(
      `SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'vector'`,
    )) as {
      n: number;
    }[];
    const pgvector = available.n > 0;
    if (pgvector) await q.query(`CREATE EXTENSION IF NOT EXISTS vector`);

    await q.query(`ALTER TABLE "api_keys" ADD COLUMN "knowledge_base_ids" uuid[]`);
    await q.query(`
      CREATE TABLE "knowledge_bases" (
        "tenant_id" uuid NOT NULL,
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "name" varchar(200) NOT NULL,
        "description" text NOT NULL DEFAULT '',
        "chunk_size" integer NOT NULL DEFAULT 512,
        "chunk_overlap" integer NOT NULL DEFAULT 64,
        "language" varchar(64) NOT NULL DEFAULT 'simple',
        "embedding_model" varchar(100),
        "searches" bigint NOT NULL DEFAULT 0,
        "created_by" uuid,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_knowledge_bases" PRIMARY KEY ("tenant_id", "id"),
        CONSTRAINT "fk_knowledge_bases_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE CASCADE,
        CONSTRAINT "ck_knowledge_bases_chunking" CHECK ("chunk_size" BETWEEN 32 AND 8192
          AND "chunk_overlap" >= 0 AND "chunk_overlap" * 2 < "chunk_size")
      )`);
    await q.query(
      `CREATE INDEX "ix_knowledge_bases_tenant_created" ON "knowledge_bases" ("tenant_id", "created_at", "id")`,
    );
    await isolateTenantTable(q, 'knowledge_bases');

    await q.query(`
      CREATE TABLE "kb_documents" (
        "tenant_id" uuid NOT NULL,
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "knowledge_base_id" uuid NOT NULL,
        "title" varchar(500) NOT NULL,
        "filename" varchar(500),
        "format" varchar(16) NOT NULL,
        "content_type" varchar(200) NOT NULL,
        "size_bytes" bigint NOT NULL,
        "blob_key" varchar(1024) NOT NULL,
        "metadata" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "status" varchar(16) NOT NULL DEFAULT 'queued',
        "error" varchar(1000),
        "chunk_count" integer NOT NULL DEFAULT 0,
        "token_count" integer NOT NULL DEFAULT 0,
        "created_by" uuid,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        "processed_at" timestamptz,
        CONSTRAINT "pk_kb_documents" PRIMARY KEY ("tenant_id", "id"),
        CONSTRAINT "fk_kb_documents_base" FOREIGN KEY ("tenant_id", "knowledge_base_id")
          REFERENCES "knowledge_bases" ("tenant_id", "id") ON DELETE CASCADE,
        CONSTRAINT "ck_kb_documents_status" CHECK ("status" IN ('queued', 'processing', 'ready', 'failed'))
      )`);
    await q.query(
      `CREATE INDEX "ix_kb_documents_base_created" ON "kb_documents" ("tenant_id", "knowledge_base_id", "created_at" DESC, "id")`,
    );
    await isolateTenantTable(q, 'kb_documents');

    await q.query(`
      CREATE TABLE "kb_chunks" (
        "tenant_id" uuid NOT NULL,
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "knowledge_base_id" uuid NOT NULL,
        "document_id" uuid NOT NULL,
        "ordinal" integer NOT NULL,
        "heading" text,
        "text" text NOT NULL,
        "tokens" integer NOT NULL,
        "metadata" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "tsv" tsvector NOT NULL,
        "embedding" ${pgvector ? 'vector' : 'real[]'},
        CONSTRAINT "pk_kb_chunks" PRIMARY KEY ("tenant_id", "id"),
        CONSTRAINT "fk_kb_chunks_document" FOREIGN KEY ("tenant_id", "document_id")
          REFERENCES "kb_documents" ("tenant_id", "id") ON DELETE CASCADE,
        CONSTRAINT "fk_kb_chunks_base" FOREIGN KEY ("tenant_id", "knowledge_base_id")
          REFERENCES "knowledge_bases" ("tenant_id", "id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "ix_kb_chunks_base" ON "kb_chunks" ("tenant_id", "knowledge_base_id")`);
    await q.query(`CREATE INDEX "ix_kb_chunks_document" ON "kb_chunks" ("tenant_id", "document_id", "ordinal")`);
    await q.query(`CREATE INDEX "ix_kb_chunks_tsv" ON "kb_chunks" USING gin ("tsv")`);
    await q.query(`CREATE INDEX "ix_kb_chunks_metadata" ON "kb_chunks" USING gin ("metadata" jsonb_path_ops)`);
    await isolateTenantTable(q, 'kb_chunks');
    if (!pgvector) {
      // Cosine similarity of two float4 arrays, for exact vector search without pgvector.
      await q.query(`
        CREATE FUNCTION atrium_cosine(a real[], b real[]) RETURNS double precision
          LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT sum(x * y) / nullif(sqrt(sum(x * x)) * sqrt(sum(y * y)), 0)
              FROM unnest(a, b) AS t(x, y)
          $$`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['kb_chunks', 'kb_documents', 'knowledge_bases']) {
      await releaseTenantTable(q, table);
      await q.query(`DROP TABLE "${table}"`);
    }
    await q.query(`ALTER TABLE "api_keys" DROP COLUMN "knowledge_base_ids"`);
    await q.query(`DROP FUNCTION IF EXISTS atrium_cosine(real[], real[])`);
  }
}
