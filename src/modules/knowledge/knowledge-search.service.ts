import { Injectable } from '@nestjs/common';
import type { RequestOrigin } from '../billing/metering.service.js';
import { GatewayService } from '../gateway/gateway.service.js';
import type { KnowledgeBase } from './entities/knowledge.entity.js';
import { KnowledgeError, KnowledgeErrorCode } from './knowledge.errors.js';
import { KnowledgeProcessing } from './knowledge-processing.service.js';
import {
  type ChunkHit,
  KbChunksRepository,
  KnowledgeBasesRepository,
  type SearchScope,
} from './knowledge.repository.js';
import { baseNotFound, KnowledgeService } from './knowledge.service.js';
import { SearchCounts } from './search-counts.js';

export type SearchMode = 'keyword' | 'vector' | 'hybrid';

export interface SearchInput {
  query: string;
  knowledgeBaseIds?: string[];
  topK?: number;
  mode?: SearchMode;
  filter?: Record<string, string | number | boolean | null>;
  minScore?: number;
}

/** Reciprocal rank fusion's constant: ranks past the first few weigh nearly alike. */
const RRF_K = 60;
const DEFAULT_TOP_K = 5;

/**
 * Search over the caller's knowledge bases: keyword (full text, each base's
 * language), vector (cosine similarity to the query's embedding, per embedding
 * model), or hybrid — both lists fused by reciprocal rank. Only the tenant's
 * chunks are ever read, and only of the bases the caller may reach.
 */
@Injectable()
export class KnowledgeSearch {
  constructor(
    private readonly knowledge: KnowledgeService,
    private readonly bases: KnowledgeBasesRepository,
    private readonly chunks: KbChunksRepository,
    private readonly processing: KnowledgeProcessing,
    private readonly gateway: GatewayService,
    private readonly searchCounts: SearchCounts,
  ) {}

  async search(input: SearchInput, origin: RequestOrigin): Promise<{ mode: SearchMode; results: ChunkHit[] }> {
    const bases = await this.basesOf(input.knowledgeBaseIds);
    const embedded = bases.filter((base) => base.embeddingModel !== null);
    const mode = input.mode ?? (embedded.length > 0 ? 'hybrid' : 'keyword');
    if (mode !== 'keyword' && embedded.length === 0) {
      throw new KnowledgeError(
        KnowledgeErrorCode.NO_EMBEDDINGS,
        'None of these knowledge bases has an embedding model.',
      );
    }
    const topK = input.topK ?? DEFAULT_TOP_K;
    // Fusion looks deeper than it returns, so a chunk strong in one list and fair in the other can rise.
    const depth = mode === 'hybrid' ? Math.max(topK * 4, 20) : topK;
    const scope = (ids: string[]): SearchScope => ({ baseIds: ids, filter: input.filter ?? {}, limit: depth });
    const [keyword, vector] = await Promise.all([
      mode === 'vector' ? [] : this.keyword(input.query, bases, scope),
      mode === 'keyword' ? [] : this.vector(input.query, embedded, scope, origin),
    ]);
    let results = mode === 'keyword' ? keyword : mode === 'vector' ? vector : fuse([keyword, vector]);
    if (input.minScore !== undefined) results = results.filter((hit) => hit.score >= input.minScore!);
    this.searchCounts.count(bases.map((b) => b.id));
    return { mode, results: results.slice(0, topK) };
  }

  /** The bases to search: those named (each must be reachable), or every reachable one. */
  private async basesOf(ids: string[] | undefined): Promise<KnowledgeBase[]> {
    const reachable = this.knowledge.reachable();
    if (ids === undefined) return this.bases.existing(reachable);
    if (reachable && ids.some((id) => !reachable.includes(id))) throw baseNotFound();
    const found = await this.bases.existing(ids);
    if (found.length !== ids.length) throw baseNotFound();
    return found;
  }

  /** Keyword hits per full-text language (the query normalised once per language), merged by score. */
  private async keyword(
    query: string,
    bases: KnowledgeBase[],
    scope: (ids: string[]) => SearchScope,
  ): Promise<ChunkHit[]> {
    const lists = await Promise.all(
      [...groupBy(bases, (base) => base.language)].map(([language, ids]) =>
        this.chunks.keyword(query, language, scope(ids)),
      ),
    );
    return lists.flat().sort(byScore);
  }

  /** Nearest chunks per embedding model (the query embedded once per model), merged by similarity. */
  private async vector(
    query: string,
    bases: KnowledgeBase[],
    scope: (ids: string[]) => SearchScope,
    origin: RequestOrigin,
  ): Promise<ChunkHit[]> {
    const storage = await this.processing.vectorStorage();
    const lists = await Promise.all(
      [...groupBy(bases, (base) => base.embeddingModel!)].map(async ([model, ids]) => {
        const { vectors } = await this.gateway.embedTexts(model, [query], origin);
        return this.chunks.nearest(vectors[0], storage, scope(ids));
      }),
    );
    return lists.flat().sort(byScore);
  }
}

const byScore = (a: ChunkHit, b: ChunkHit) => b.score - a.score || a.chunkId.localeCompare(b.chunkId);

/** Base ids by a setting of theirs. */
function groupBy(bases: KnowledgeBase[], key: (base: KnowledgeBase) => string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const base of bases) groups.set(key(base), [...(groups.get(key(base)) ?? []), base.id]);
  return groups;
}

/** Reciprocal rank fusion: each list gives 1/(k + rank); the sum orders the result. */
function fuse(lists: ChunkHit[][]): ChunkHit[] {
  const fused = new Map<string, ChunkHit>();
  for (const list of lists) {
    list.forEach((hit, rank) => {
      const score = 1 / (RRF_K + rank + 1);
      const seen = fused.get(hit.chunkId);
      fused.set(hit.chunkId, seen ? { ...seen, score: seen.score + score } : { ...hit, score });
    });
  }
  return [...fused.values()].sort(byScore);
}
