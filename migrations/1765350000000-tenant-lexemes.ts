import type { MigrationInterface, QueryRunner } from 'typeorm';
import { KnowledgeSearchFunctions1765300000000 } from './1765300000000-knowledge-search-functions.js';
import { ACT_AS_TENANT, TENANT_ROLE } from './tenant-isolation.js';

const KEYWORD = 'atrium_kb_keyword(uuid, regconfig, text, uuid[], jsonb, int, int)';
/** A lexeme's text inside its quotes in a tsvector's text form (quotes in it doubled), captured; SQL-quoted. */
const LEXEME_TEXT = `((?:[^'']|'''')*)`;
/** A quoted lexeme in a tsvector's text form, as an SQL string literal. */
const QUOTED_LEXEME = `'''${LEXEME_TEXT}'''`;
/** PostgreSQL's longest lexeme; one that its tag would make longer is left out (the parser drops longer words too). */
const MAX_LEXEME_BYTES = 2047;

/**
 * Keyword search walks only its tenant's postings, in a plain GIN index.
 *
 * Each chunk's tsvector holds its lexemes behind its tenant's tag (the first
 * eight hex digits of the tenant id and a colon: `3e5ab493:word`), and keyword
 * search looks for the query's words behind the same tag. A posting list of
 * the full-text index is then one word of one tenant (nearly: tags may be
 * shared, and the tenant condition is checked on every row as before). The
 * tenant-leading index (btree_gin) made every search also read the posting
 * list of the tenant itself — every one of its chunks — which cost more than
 * the words did; it is replaced by a GIN index on the tsvector alone.
 *
 * atrium_kb_salt(tenant, tsvector) tags a tsvector (positions and weights
 * kept; a lexeme too long to carry the tag, such as an encoded blob, is left
 * out). atrium_kb_keyword is as before but for the tagged words, and checks
 * the tenant and base conditions on each row found rather than through an
 * index: the planner would otherwise AND the full-text bitmap with one of
 * ix_kb_chunks_base, which lists every chunk of the base.
 *
 * atrium_kb_bases(tenant, rls, ids) answers the tenant's bases (those of `ids`,
 * or all when null) in one round trip, acting as the tenant like a unit of
 * work: a search reads its bases without a transaction of its own.
 */
export class TenantLexemes1765350000000 implements MigrationInterface {
  name = 'TenantLexemes1765350000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION atrium_kb_tag(p_tenant uuid) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN left(p_tenant::text, 8) || ':'`);
    await q.query(`
      CREATE FUNCTION atrium_kb_salt(p_tenant uuid, p_tsv tsvector) RETURNS tsvector
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN regexp_replace(
          ts_delete(p_tsv, ARRAY(SELECT l FROM unnest(tsvector_to_array(p_tsv)) AS l
                                  WHERE octet_length(l) > ${MAX_LEXEME_BYTES} - octet_length(atrium_kb_tag(p_tenant))))::text,
          ${QUOTED_LEXEME}, '''' || atrium_kb_tag(p_tenant) || '\\1''', 'g')::tsvector`);
    await q.query(`DROP INDEX IF EXISTS "ix_kb_chunks_tenant_tsv"`);
    await q.query(`DROP INDEX IF EXISTS "ix_kb_chunks_tsv"`);
    await rewriteChunks(q, `UPDATE kb_chunks SET tsv = atrium_kb_salt(tenant_id, tsv)`);
    await q.query(`CREATE INDEX "ix_kb_chunks_tsv" ON "kb_chunks" USING gin ("tsv")`);

    await q.query(`
      CREATE OR REPLACE FUNCTION atrium_kb_keyword(
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
        -- Each word as a tsquery of its own behind the tenant's tag, quoted so its lexeme is taken as it is.
        v_words tsquery[] := ARRAY(
          SELECT format('''%s''', replace(replace(atrium_kb_tag(p_tenant) || lexeme, '\\', '\\\\'), '''', ''''''))::tsquery
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
               WHERE (c.tenant_id = v_tenant AND c.knowledge_base_id = ANY(p_bases)) IS TRUE AND c.tsv @@ v_tier
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

    await q.query(`
      CREATE FUNCTION atrium_kb_bases(p_tenant uuid, p_rls boolean, p_ids uuid[])
      RETURNS SETOF knowledge_bases LANGUAGE plpgsql AS $$
      BEGIN
        ${ACT_AS_TENANT}
        RETURN QUERY SELECT * FROM knowledge_bases b
                      WHERE b.tenant_id = p_tenant AND (p_ids IS NULL OR b.id = ANY(p_ids))
                      ORDER BY b.created_at, b.id;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION atrium_kb_bases(uuid, boolean, uuid[])`);
    await q.query(`DROP INDEX "ix_kb_chunks_tsv"`);
    await rewriteChunks(
      q,
      `UPDATE kb_chunks
          SET tsv = regexp_replace(tsv::text, '''' || atrium_kb_tag(tenant_id) || '${LEXEME_TEXT}''', '''\\1''', 'g')::tsvector`,
    );
    await q.query(`DROP FUNCTION atrium_kb_salt(uuid, tsvector)`);
    await q.query(`DROP FUNCTION atrium_kb_tag(uuid)`);
    // The earlier search functions and indexes, as their migration makes them.
    const earlier = new KnowledgeSearchFunctions1765300000000();
    await earlier.down(q);
    await earlier.up(q);
  }
}

/**
 * Runs `update`, which writes every chunk again, with the vector indexes
 * dropped and then built anew: adding each new row version to an HNSW graph
 * one at a time costs far more than one build over all of them.
 */
async function rewriteChunks(q: QueryRunner, update: string): Promise<void> {
  const vectorIndexes = (await q.query(
    `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'kb_chunks' AND indexdef LIKE '%USING hnsw%'`,
  )) as { indexname: string; indexdef: string }[];
  for (const { indexname } of vectorIndexes) await q.query(`DROP INDEX "${indexname}"`);
  await q.query(update);
  for (const { indexdef } of vectorIndexes) await q.query(indexdef);
}
