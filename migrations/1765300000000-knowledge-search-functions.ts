import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ACT_AS_TENANT, TENANT_ROLE } from './tenant-isolation.js';

const KEYWORD = 'atrium_kb_keyword(uuid, regconfig, text, uuid[], jsonb, int, int)';
const NEAREST = 'atrium_kb_nearest(uuid, boolean, text, int, uuid[], jsonb, int)';

/**
 * Knowledge-base search as database functions, one round trip per search
 * mode and embedding size: keyword (atrium_kb_keyword) and pgvector
 * similarity (atrium_kb_nearest, which acts as the tenant like a unit of
 * work, and lets the HNSW scan go on past other tenants' rows until it has
 * found enough).
 *
 * Keyword search is one call that its indexes can serve.
 *
 * Under row-level security the policy's tenant condition is applied before
 * any condition that is not leakproof, and neither full-text matching (`@@`)
 * nor JSON containment (`@>`) is: the GIN indexes could not be used, and every
 * search read all of the tenant's chunks. The function runs as its owner,
 * which the policy does not bind, and applies the policy's own condition
 * itself: acting as the tenant role, it reads only the tenant of the
 * transaction's `atrium.tenant_id` setting (none set: no rows), and the tenant
 * it is passed must be that one.
 *
 * Ranking every chunk that contains any of the query's words would read most
 * of a large base for common words, so it searches in tiers, strictest first:
 * chunks with all of the words, then with at least two of them, then with
 * any. Each tier adds its best chunks (more of the words first, then by
 * ts_rank_cd; at most `p_candidates` of its chunks are ranked) until `p_limit`
 * are found. A hit's score is the number of the query's words it contains
 * plus its ts_rank_cd scaled into [0, 1). The query's first 32 distinct words
 * (lexemes of `p_language`) take part.
 *
 * The full-text index leads with the tenant (btree_gin, where the server has
 * it: PostgreSQL's contrib and PGlite do), so a search walks only its tenant's
 * postings; chunks keep their tsvector in the row (storage MAIN) where it
 * fits, so ranking a candidate reads its heap page and no TOAST.
 */
export class KnowledgeSearchFunctions1765300000000 implements MigrationInterface {
  name = 'KnowledgeSearchFunctions1765300000000';

  async up(q: QueryRunner): Promise<void> {
    const [available] = (await q.query(
      `SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'btree_gin'`,
    )) as { n: number }[];
    if (available.n > 0) {
      await q.query(`CREATE EXTENSION IF NOT EXISTS btree_gin`);
      await q.query(`CREATE INDEX "ix_kb_chunks_tenant_tsv" ON "kb_chunks" USING gin ("tenant_id", "tsv")`);
      await q.query(`DROP INDEX "ix_kb_chunks_tsv"`);
    }
    await q.query(`ALTER TABLE "kb_chunks" ALTER COLUMN "tsv" SET STORAGE MAIN`);
    await q.query(`
      CREATE FUNCTION atrium_kb_keyword(
        p_tenant uuid, p_language regconfig, p_query text, p_bases uuid[], p_filter jsonb, p_limit int,
        p_candidates int)
      RETURNS TABLE (id uuid, document_id uuid, knowledge_base_id uuid, title varchar, text text, metadata jsonb,
                     score real)
      LANGUAGE plpgsql STABLE SECURITY DEFINER
      SET search_path = pg_catalog, public SET plan_cache_mode = force_custom_plan AS $$
      DECLARE
        v_tenant uuid := CASE WHEN current_setting('role') = '${TENANT_ROLE}'
                              THEN nullif(current_setting('atrium.tenant_id', true), '')::uuid
                              ELSE p_tenant END;
        -- Each word as a tsquery of its own, quoted so its lexeme is taken as it is.
        v_words tsquery[] := ARRAY(
          SELECT format('''%s''', replace(replace(lexeme, '\\', '\\\\'), '''', ''''''))::tsquery
            FROM unnest(tsvector_to_array(to_tsvector(p_language, p_query))) AS lexeme LIMIT 32);
        v_all tsquery;
        v_any tsquery;
        v_pairs tsquery;
        v_tiers tsquery[] := '{}';
        v_tier tsquery;
        v_found uuid[] := '{}';
      BEGIN
        IF v_tenant IS DISTINCT FROM p_tenant OR cardinality(v_words) = 0 THEN
          RETURN;
        END IF;
        FOR i IN 1 .. cardinality(v_words) LOOP
          v_all := CASE WHEN i = 1 THEN v_words[i] ELSE v_all && v_words[i] END;
          v_any := CASE WHEN i = 1 THEN v_words[i] ELSE v_any || v_words[i] END;
          FOR j IN 1 .. i - 1 LOOP
            v_pairs := CASE WHEN v_pairs IS NULL THEN v_words[j] && v_words[i]
                            ELSE v_pairs || (v_words[j] && v_words[i]) END;
          END LOOP;
        END LOOP;
        IF cardinality(v_words) > 1 THEN v_tiers := v_tiers || v_all; END IF;
        IF cardinality(v_words) > 2 THEN v_tiers := v_tiers || v_pairs; END IF;
        v_tiers := v_tiers || v_any;
        FOREACH v_tier IN ARRAY v_tiers LOOP
          v_found := v_found || ARRAY(
            SELECT m.id FROM (
              SELECT c.id, c.tsv FROM kb_chunks c
               WHERE c.tenant_id = v_tenant AND c.tsv @@ v_tier AND c.knowledge_base_id = ANY(p_bases)
                 AND (p_filter = '{}'::jsonb OR c.metadata @> p_filter) AND c.id <> ALL(v_found)
               LIMIT p_candidates) m
            ORDER BY (SELECT count(*) FROM unnest(v_words) w WHERE m.tsv @@ w) DESC,
                     ts_rank_cd(m.tsv, v_any) DESC, m.id
            LIMIT p_limit - cardinality(v_found));
          EXIT WHEN cardinality(v_found) >= p_limit;
        END LOOP;
        RETURN QUERY
          SELECT c.id, c.document_id, c.knowledge_base_id, d.title, c.text, d.metadata,
                 ((SELECT count(*) FROM unnest(v_words) w WHERE c.tsv @@ w) + ts_rank_cd(c.tsv, v_any, 32))::real
            FROM unnest(v_found) WITH ORDINALITY AS f(id, n)
            JOIN kb_chunks c ON c.tenant_id = v_tenant AND c.id = f.id
            JOIN kb_documents d ON d.tenant_id = v_tenant AND d.id = c.document_id
           ORDER BY f.n;
      END $$`);
    await q.query(`REVOKE EXECUTE ON FUNCTION ${KEYWORD} FROM PUBLIC`);
    await q.query(`GRANT EXECUTE ON FUNCTION ${KEYWORD} TO ${TENANT_ROLE}`);

    // The vector type is named only in the statement it runs, so the function exists without pgvector too
    // (it is called only where the column is a vector). Each size has its own partial HNSW index.
    await q.query(`
      CREATE FUNCTION atrium_kb_nearest(
        p_tenant uuid, p_rls boolean, p_vector text, p_dims int, p_bases uuid[], p_filter jsonb, p_limit int)
      RETURNS TABLE (id uuid, document_id uuid, knowledge_base_id uuid, title varchar, text text, metadata jsonb,
                     score real)
      LANGUAGE plpgsql AS $$
      BEGIN
        ${ACT_AS_TENANT}
        -- Filtered by tenant and base after the index: the scan goes on until the limit is met (pgvector 0.8+).
        PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
        RETURN QUERY EXECUTE format(
          'SELECT c.id, c.document_id, c.knowledge_base_id, d.title, c.text, d.metadata,
                  (1 - ((c.embedding::vector(%1$s)) <=> $1::vector(%1$s)))::real
             FROM kb_chunks c
             JOIN kb_documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
            WHERE c.tenant_id = $2 AND c.knowledge_base_id = ANY($3) AND c.metadata @> $4
              AND vector_dims(c.embedding) = %1$s
            ORDER BY (c.embedding::vector(%1$s)) <=> $1::vector(%1$s) LIMIT $5', p_dims)
          USING p_vector, p_tenant, p_bases, p_filter, p_limit;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION ${NEAREST}`);
    await q.query(`DROP FUNCTION ${KEYWORD}`);
    await q.query(`ALTER TABLE "kb_chunks" ALTER COLUMN "tsv" SET STORAGE EXTENDED`);
    await q.query(`CREATE INDEX IF NOT EXISTS "ix_kb_chunks_tsv" ON "kb_chunks" USING gin ("tsv")`);
    await q.query(`DROP INDEX IF EXISTS "ix_kb_chunks_tenant_tsv"`);
  }
}
