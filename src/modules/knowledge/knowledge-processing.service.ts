import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { AppError } from '../../core/errors/app-error.js';
import { BlobStore } from '../../core/ports/blob-store.js';
import { JobQueue } from '../../core/ports/job-queue.js';
import { Clock } from '../../core/ports/clock.js';
import { GatewayService } from '../gateway/gateway.service.js';
import type { KbDocument } from './entities/knowledge.entity.js';
import {
  KbChunksRepository,
  KbDocumentsRepository,
  KnowledgeBasesRepository,
  KnowledgeCatalogRepository,
  type VectorStorage,
} from './knowledge.repository.js';
import { PROCESS_JOB, type ProcessStep } from './knowledge.service.js';
import { chunkText, tokensOf } from './processing/chunking.js';
import { ExtractionError, extractText } from './processing/extract.js';

/** Texts embedded per gateway call. */
const EMBEDDING_BATCH = 64;

/**
 * Processes documents in the background: extract the text, chunk it by the
 * base's settings, embed the chunks through the gateway (metered for the
 * tenant) when the base has a model, and index them — status queued →
 * processing → ready, or failed with a readable error. Jobs are durable
 * (retried with backoff, picked up again after a restart); a document that
 * cannot be read fails at once, trouble upstream is retried.
 */
@Injectable()
export class KnowledgeProcessing implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('Knowledge');
  private storage?: VectorStorage;
  private readonly indexed = new Set<number>();

  constructor(
    private readonly bases: KnowledgeBasesRepository,
    private readonly documents: KbDocumentsRepository,
    private readonly chunks: KbChunksRepository,
    private readonly catalog: KnowledgeCatalogRepository,
    private readonly blobs: BlobStore,
    private readonly queue: JobQueue,
    private readonly gateway: GatewayService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.queue.register<ProcessStep>(PROCESS_JOB, (step, run) => this.process(step, run.attempt >= run.maxAttempts), {
      concurrency: this.config.knowledge.concurrency,
      attempts: 4,
      backoffMs: 2000,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    const storage = await this.vectorStorage();
    this.logger.log(
      storage === 'pgvector'
        ? 'Knowledge-base vectors: pgvector'
        : 'Knowledge-base vectors: float4[] searched exactly (the database has no pgvector)',
    );
  }

  /** How vectors are stored and searched on this database. */
  async vectorStorage(): Promise<VectorStorage> {
    this.storage ??= await this.catalog.vectorStorage();
    return this.storage;
  }

  /** The HNSW index for vectors of this size, made the first time a size is seen. */
  private async vectorIndex(dims: number): Promise<void> {
    if (this.indexed.has(dims)) return;
    await this.catalog.ensureVectorIndex(dims);
    this.indexed.add(dims);
  }

  private async process({ documentId }: ProcessStep, lastAttempt: boolean): Promise<void> {
    const document = await this.documents.findById(documentId);
    if (!document || !(await this.documents.transition(document.id, ['queued', 'processing'], 'processing'))) return;
    try {
      await this.index(document);
    } catch (err) {
      const readable = err instanceof ExtractionError || (err instanceof AppError && err.status < 500);
      if (!readable && !lastAttempt) throw err;
      const message = err instanceof Error ? err.message : String(err);
      this.logger.warn(`Document ${document.id} failed: ${message}`);
      await this.documents.transition(document.id, ['processing'], 'failed', { error: message });
    }
  }

  private async index(document: KbDocument): Promise<void> {
    const base = await this.bases.findById(document.knowledgeBaseId);
    if (!base) return;
    const content = await this.blobs.get(document.blobKey);
    if (!content) throw new ExtractionError('The document’s bytes are missing.');
    const bytes = Buffer.concat(await content.body.toArray());
    const { text } = await extractText(bytes, document.format);
    const pieces = chunkText(text, { chunkSize: base.chunkSize, chunkOverlap: base.chunkOverlap });
    let embeddings: number[][] | null = null;
    if (base.embeddingModel && pieces.length > 0) {
      embeddings = [];
      for (let i = 0; i < pieces.length; i += EMBEDDING_BATCH) {
        const batch = pieces.slice(i, i + EMBEDDING_BATCH).map((piece) => embeddable(piece.heading, piece.text));
        const { vectors } = await this.gateway.embedTexts(base.embeddingModel, batch, {
          clientIp: null,
          requestId: null,
        });
        embeddings.push(...vectors);
      }
    }
    const storage = await this.vectorStorage();
    if (storage === 'pgvector' && embeddings && embeddings.length > 0) await this.vectorIndex(embeddings[0].length);
    await this.chunks.replace(document, base.language, pieces, embeddings, storage);
    await this.documents.transition(document.id, ['processing'], 'ready', {
      error: null,
      chunkCount: pieces.length,
      // The text's tokens: overlapping chunks would count the overlap twice.
      tokenCount: tokensOf(text),
      processedAt: this.clock.now(),
    });
  }
}

/** What a chunk is embedded as: its text, led by its section's heading where the text does not already carry it. */
export const embeddable = (heading: string | null, text: string) =>
  heading && !text.includes(heading) ? `${heading}\n${text}` : text;
