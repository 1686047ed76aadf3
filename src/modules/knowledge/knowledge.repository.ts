import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { RequestContext } from '../../core/context/request-context.js';
import { PlatformRepository } from '../../core/database/platform.repository.js';
import { queryRows } from '../../core/database/query-rows.js';
import { TenantScopedRepository } from '../../core/database/tenant-scoped.repository.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import type { Chunk } from './processing/chunking.js';
import { type DocumentStatus, KbChunk, KbDocument, KnowledgeBase } from './entities/knowledge.entity.js';

/** How embeddings are stored: pgvector's `vector`, or a float4[] compared exactly in SQL. */
export type VectorStorage = 'pgvector' | 'float4[]';

export interface ChunkHit {
  chunkId: string;
  documentId: string;
  knowledgeBaseId: string;
  documentTitle: string;
  text: string;
  score: number;
  metadata: Record<string, unknown>;
}

interface HitRow {
  id: string;
  document_id: string;
  knowledge_base_id: string;
  title: string;
  text: string;
  score: number | string;
  metadata: Record<string, unknown>;
}

const hit = (row: HitRow): ChunkHit => ({
  chunkId: row.id,
  documentId: row.document_id,
  knowledgeBaseId: row.knowledge_base_id,
  documentTitle: row.title,
  text: row.text,
  score: Number(row.score),
  metadata: row.metadata,
});

/**
 * How many chunks of one tier keyword search ranks (the first found, when a
 * tier has more) to return `limit`: five per hit, at least 50, at most 300.
 * Ranking reads each candidate's row, so a deeper pool costs reads and
 * buffer space in proportion, and the top few gain little from it.
 */
const keywordCandidates = (limit: number) => Math.min(300, Math.max(50, limit * 5));

export interface SearchScope {
  baseIds: string[];
  /** Metadata every hit's document must contain (JSON containment of the equality filter). */
  filter: Record<string, unknown>;
  limit: number;
}

/** Which vector storage the schema has, and the full-text configurations the server knows (platform reads). */
@Injectable()
export class KnowledgeCatalogRepository extends PlatformRepository<KnowledgeBase> {
  constructor(uow: UnitOfWork) {
    super(KnowledgeBase, uow);
  }

  async vectorStorage(): Promise<VectorStorage> {
    const [row] = await this.run((_bases, manager) =>
      queryRows<{ type: string }>(
        manager,
        `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
          WHERE attrelid = 'kb_chunks'::regclass AND attname = 'embedding'`,
      ),
    );
    return row?.type === 'vector' ? 'pgvector' : 'float4[]';
  }

  /**
   * An HNSW index (cosine) for embeddings of `dims` dimensions: pgvector
   * indexes only vectors of one size, so each size in use gets its own partial
   * index. Created once; a parallel creation by another instance is no error.
   */
  async ensureVectorIndex(dims: number): Promise<void> {
    if (!Number.isSafeInteger(dims) || dims < 1 || dims > 16_000) throw new RangeError(`Invalid dimensions ${dims}`);
    try {
      await this.run((_bases, manager) =>
        queryRows(
          manager,
          `CREATE INDEX IF NOT EXISTS "ix_kb_chunks_hnsw_${dims}" ON kb_chunks
             USING hnsw ((embedding::vector(${dims})) vector_cosine_ops) WHERE vector_dims(embedding) = ${dims}`,
        ),
      );
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== '42P07' && code !== '23505') throw err;
    }
  }

  async languageExists(name: string): Promise<boolean> {
    const rows = await this.run((_bases, manager) =>
      queryRows(manager, `SELECT 1 FROM pg_ts_config WHERE cfgname = $1`, [name]),
    );
    return rows.length > 0;
  }
}

/** The tenant's knowledge bases. */
@Injectable()
export class KnowledgeBasesRepository extends TenantScopedRepository<KnowledgeBase> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(KnowledgeBase, uow, context);
  }

  create(values: Omit<KnowledgeBase, 'tenantId' | 'id' | 'searches' | 'createdAt' | 'updatedAt'>) {
    return this.insertOne({ ...values, id: randomUUID(), searches: 0 });
  }

  findById(id: string): Promise<KnowledgeBase | null> {
    return this.findOne({ id });
  }

  /** Bases, oldest first; `only`, when given, limits them to those ids (a key scoped to some bases). */
  async list(only: string[] | null, limit: number, offset: number): Promise<[KnowledgeBase[], number]> {
    const rows = await this.query<KnowledgeBaseRow & { total: string }>(
      `SELECT *, count(*) OVER () AS total FROM knowledge_bases
        WHERE tenant_id = $1 AND ($2::uuid[] IS NULL OR id = ANY($2::uuid[]))
        ORDER BY created_at, id LIMIT $3 OFFSET $4`,
      [only, limit, offset],
    );
    const total = rows.length > 0 ? Number(rows[0].total) : await this.countVisible(only);
    return [rows.map(base), total];
  }

  /** The bases among `ids` that exist (all of the tenant's when `ids` is null), oldest first, in one round trip. */
  async existing(ids: string[] | null): Promise<KnowledgeBase[]> {
    const rows = await this.call<KnowledgeBaseRow>(`SELECT * FROM atrium_kb_bases($1, $2, $3::uuid[])`, [ids]);
    return rows.map(base);
  }

  async update(id: string, patch: Partial<Omit<KnowledgeBase, 'tenantId' | 'id'>>): Promise<void> {
    await this.updateWhere({ id }, { ...patch, updatedAt: new Date() });
  }

  async remove(id: string): Promise<boolean> {
    return (await this.deleteWhere({ id })) > 0;
  }

  /** Adds searches per base (base id → count). */
  async addSearches(counts: ReadonlyMap<string, number>): Promise<void> {
    await this.query(
      `UPDATE knowledge_bases b SET searches = b.searches + c.n
         FROM unnest($2::uuid[], $3::bigint[]) AS c(id, n)
        WHERE b.tenant_id = $1 AND b.id = c.id`,
      [[...counts.keys()], [...counts.values()]],
    );
  }

  private async countVisible(only: string[] | null): Promise<number> {
    const [{ n }] = await this.query<{ n: string }>(
      `SELECT count(*) AS n FROM knowledge_bases WHERE tenant_id = $1 AND ($2::uuid[] IS NULL OR id = ANY($2::uuid[]))`,
      [only],
    );
    return Number(n);
  }
}

interface KnowledgeBaseRow {
  tenant_id: string;
  id: string;
  name: string;
  description: string;
  chunk_size: number;
  chunk_overlap: number;
  language: string;
  embedding_model: string | null;
  searches: string;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const base = (row: KnowledgeBaseRow): KnowledgeBase => ({
  tenantId: row.tenant_id,
  id: row.id,
  name: row.name,
  description: row.description,
  chunkSize: row.chunk_size,
  chunkOverlap: row.chunk_overlap,
  language: row.language,
  embeddingModel: row.embedding_model,
  searches: Number(row.searches),
  createdBy: row.created_by,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export interface DocumentStats {
  byStatus: Record<DocumentStatus, number>;
  documents: number;
  chunks: number;
  tokens: number;
  bytes: number;
  lastUpdatedAt: Date | null;
}

/** The tenant's knowledge-base documents. */
@Injectable()
export class KbDocumentsRepository extends TenantScopedRepository<KbDocument> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(KbDocument, uow, context);
  }

  create(values: Omit<KbDocument, 'tenantId' | 'createdAt' | 'updatedAt' | 'processedAt'>): Promise<KbDocument> {
    // TypeORM's deep-partial type cannot see that a JSON column takes a plain object as a whole.
    return this.insertOne(values as Parameters<KbDocumentsRepository['insertOne']>[0]);
  }

  findById(id: string): Promise<KbDocument | null> {
    return this.findOne({ id });
  }

  async list(
    baseId: string,
    status: DocumentStatus | undefined,
    limit: number,
    offset: number,
  ): Promise<[KbDocument[], number]> {
    const where = status === undefined ? { knowledgeBaseId: baseId } : { knowledgeBaseId: baseId, status };
    return Promise.all([
      this.find({ where, order: { createdAt: 'DESC', id: 'DESC' }, take: limit, skip: offset }),
      this.count(where),
    ]);
  }

  /** Moves a document to `status` only from one of `from`; whether it moved. */
  async transition(
    id: string,
    from: DocumentStatus[],
    to: DocumentStatus,
    patch: Partial<Pick<KbDocument, 'error' | 'chunkCount' | 'tokenCount' | 'processedAt'>> = {},
  ): Promise<boolean> {
    const rows = await this.query<{ id: string }>(
      `UPDATE kb_documents SET status = $4, error = $5,
              chunk_count = coalesce($6, chunk_count), token_count = coalesce($7, token_count),
              processed_at = coalesce($8, processed_at), updated_at = now()
        WHERE tenant_id = $1 AND id = $2 AND status = ANY($3::varchar[]) RETURNING id`,
      [
        id,
        from,
        to,
        patch.error?.slice(0, 1000) ?? null,
        patch.chunkCount ?? null,
        patch.tokenCount ?? null,
        patch.processedAt ?? null,
      ],
    );
    return rows.length > 0;
  }

  async remove(id: string): Promise<boolean> {
    return (await this.deleteWhere({ id })) > 0;
  }

  async stats(baseId: string): Promise<DocumentStats> {
    const rows = await this.query<{
      status: DocumentStatus;
      n: string;
      chunks: string;
      tokens: string;
      bytes: string;
      last: Date | null;
    }>(
      `SELECT status, count(*) AS n, sum(chunk_count) AS chunks, sum(token_count) AS tokens,
              sum(size_bytes) AS bytes, max(updated_at) AS last
         FROM kb_documents WHERE tenant_id = $1 AND knowledge_base_id = $2 GROUP BY status`,
      [baseId],
    );
    const byStatus: Record<DocumentStatus, number> = { queued: 0, processing: 0, ready: 0, failed: 0 };
    let last: Date | null = null;
    const totals = { documents: 0, chunks: 0, tokens: 0, bytes: 0 };
    for (const row of rows) {
      byStatus[row.status] = Number(row.n);
      totals.documents += Number(row.n);
      totals.chunks += Number(row.chunks);
      totals.tokens += Number(row.tokens);
      totals.bytes += Number(row.bytes);
      if (row.last && (!last || row.last > last)) last = row.last;
    }
    return { byStatus, ...totals, lastUpdatedAt: last };
  }
}

/** The tenant's chunks: written a document at a time, searched by keyword or vector. */
@Injectable()
export class KbChunksRepository extends TenantScopedRepository<KbChunk> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(KbChunk, uow, context);
  }

  /**
   * Replaces a document's chunks with `chunks` (with their embeddings, when the
   * base has a model), in one statement each; the tsvector is made with the
   * base's language, its lexemes behind the tenant's tag (atrium_kb_salt).
   */
  async replace(
    document: Pick<KbDocument, 'id' | 'knowledgeBaseId' | 'metadata'>,
    language: string,
    chunks: Chunk[],
    embeddings: number[][] | null,
    storage: VectorStorage,
  ): Promise<void> {
    await this.query(`DELETE FROM kb_chunks WHERE tenant_id = $1 AND document_id = $2`, [document.id]);
    if (chunks.length === 0) return;
    const vectors = embeddings?.map((e) => (storage === 'pgvector' ? `[${e.join(',')}]` : `{${e.join(',')}}`));
    await this.query(
      `INSERT INTO kb_chunks (tenant_id, knowledge_base_id, document_id, ordinal, heading, text, tokens, metadata, tsv, embedding)
       SELECT $1, $2, $3, c.ordinal, c.heading, c.text, c.tokens, $4::jsonb,
              atrium_kb_salt($1, to_tsvector($5::regconfig, coalesce(c.heading || E'\\n', '') || c.text)),
              c.embedding::${storage === 'pgvector' ? 'vector' : 'real[]'}
         FROM unnest($6::int[], $7::text[], $8::text[], $9::int[], $10::text[]) AS c(ordinal, heading, text, tokens, embedding)`,
      [
        document.knowledgeBaseId,
        document.id,
        JSON.stringify(document.metadata),
        language,
        chunks.map((c) => c.ordinal),
        chunks.map((c) => c.heading),
        chunks.map((c) => c.text),
        chunks.map((c) => c.tokens),
        vectors ?? chunks.map(() => null),
      ],
    );
  }

  /**
   * Chunks of bases with full-text configuration `language` that contain the
   * query's words (normalised the same way), best first: those with more of
   * the words, then by ts_rank_cd, so more and closer matches rank higher
   * (atrium_kb_keyword, tier by tier with the GIN index; see its migration).
   */
  async keyword(query: string, language: string, scope: SearchScope): Promise<ChunkHit[]> {
    const rows = await this.callDefiner<HitRow>(
      `SELECT * FROM atrium_kb_keyword($1, $2::regconfig, $3, $4::uuid[], $5::jsonb, $6, $7)`,
      [language, query, scope.baseIds, JSON.stringify(scope.filter), scope.limit, keywordCandidates(scope.limit)],
    );
    return rows.map(hit);
  }

  /**
   * Chunks nearest the query vector by cosine similarity, best first. With
   * pgvector the HNSW index of the vector's size serves it, scanning on
   * (iteratively) until enough of the tenant's chunks are found; with float4[]
   * the scan is exact.
   */
  async nearest(vector: number[], storage: VectorStorage, scope: SearchScope): Promise<ChunkHit[]> {
    const dims = vector.length;
    if (storage === 'float4[]') {
      const rows = await this.query<HitRow>(
        `SELECT c.id, c.document_id, c.knowledge_base_id, d.title, c.text, d.metadata,
                atrium_cosine(c.embedding, $2::real[]) AS score
           FROM kb_chunks c
           JOIN kb_documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
          WHERE c.tenant_id = $1 AND c.knowledge_base_id = ANY($3::uuid[]) AND c.metadata @> $4::jsonb
            AND c.embedding IS NOT NULL AND cardinality(c.embedding) = ${dims}
          ORDER BY score DESC, c.id LIMIT $5`,
        [`{${vector.join(',')}}`, scope.baseIds, JSON.stringify(scope.filter), scope.limit],
      );
      return rows.map(hit);
    }
    const rows = await this.call<HitRow>(`SELECT * FROM atrium_kb_nearest($1, $2, $3, $4, $5::uuid[], $6::jsonb, $7)`, [
      `[${vector.join(',')}]`,
      dims,
      scope.baseIds,
      JSON.stringify(scope.filter),
      scope.limit,
    ]);
    // The iterative scan (relaxed order) may hand back near-ties out of order.
    return rows.map(hit).sort((a, b) => b.score - a.score || a.chunkId.localeCompare(b.chunkId));
  }
}
