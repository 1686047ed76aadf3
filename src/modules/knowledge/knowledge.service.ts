import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { RequestContext } from '../../core/context/request-context.js';
import { AppError } from '../../core/errors/app-error.js';
import { validationFailed } from '../../core/http/validation.pipe.js';
import { BlobStore } from '../../core/ports/blob-store.js';
import { JobQueue } from '../../core/ports/job-queue.js';
import { MeteringService, type RequestOrigin } from '../billing/metering.service.js';
import { GatewayService } from '../gateway/gateway.service.js';
import type { DocumentStatus, KbDocument, KnowledgeBase } from './entities/knowledge.entity.js';
import { KnowledgeError, KnowledgeErrorCode } from './knowledge.errors.js';
import {
  type DocumentStats,
  KbDocumentsRepository,
  KnowledgeBasesRepository,
  KnowledgeCatalogRepository,
} from './knowledge.repository.js';
import { SearchCounts } from './search-counts.js';
import { type DocumentFormat, formatOf } from './processing/extract.js';

export const PROCESS_JOB = 'knowledge.process';

export interface BaseSettings {
  chunkSize: number;
  chunkOverlap: number;
  language: string;
  embeddingModel: string | null;
}

export interface BaseInput {
  name: string;
  description?: string;
  settings?: Partial<BaseSettings>;
}

export interface NewDocument {
  title: string;
  bytes: Buffer;
  format: DocumentFormat;
  contentType: string;
  filename: string | null;
  metadata: Record<string, unknown>;
}

export interface ProcessStep {
  documentId: string;
}

const DEFAULTS: BaseSettings = { chunkSize: 512, chunkOverlap: 64, language: 'simple', embeddingModel: null };

export const baseNotFound = () =>
  new KnowledgeError(KnowledgeErrorCode.KNOWLEDGE_BASE_NOT_FOUND, 'Knowledge base not found.');
const documentNotFound = () => new KnowledgeError(KnowledgeErrorCode.DOCUMENT_NOT_FOUND, 'Document not found.');

/**
 * Knowledge bases and their documents. A key limited to some bases sees only
 * those; any other id answers 404, as another tenant's does. Adding a document
 * holds and counts the `kb_documents` and `kb_storage_bytes` quotas, stores the
 * original bytes and queues its processing.
 */
@Injectable()
export class KnowledgeService {
  constructor(
    private readonly bases: KnowledgeBasesRepository,
    private readonly documents: KbDocumentsRepository,
    private readonly catalog: KnowledgeCatalogRepository,
    private readonly blobs: BlobStore,
    private readonly queue: JobQueue,
    private readonly metering: MeteringService,
    private readonly gateway: GatewayService,
    private readonly context: RequestContext,
    private readonly searchCounts: SearchCounts,
  ) {}

  /** The bases the caller may reach: null for every base of the tenant. */
  reachable(): string[] | null {
    return this.context.principal.knowledgeBaseIds ?? null;
  }

  async create(input: BaseInput): Promise<KnowledgeBase> {
    const settings = { ...DEFAULTS, ...input.settings };
    await this.assertSettings(settings);
    return this.bases.create({
      name: input.name,
      description: input.description ?? '',
      ...settings,
      createdBy: this.context.principal.userId ?? null,
    });
  }

  list(limit: number, offset: number): Promise<[KnowledgeBase[], number]> {
    return this.bases.list(this.reachable(), limit, offset);
  }

  async get(id: string): Promise<KnowledgeBase> {
    const reachable = this.reachable();
    if (reachable && !reachable.includes(id)) throw baseNotFound();
    const found = await this.bases.findById(id);
    if (!found) throw baseNotFound();
    return found;
  }

  /** Replaces name, description and settings; new settings apply to documents processed from now on. */
  async update(id: string, input: BaseInput): Promise<KnowledgeBase> {
    const current = await this.get(id);
    const settings = {
      chunkSize: current.chunkSize,
      chunkOverlap: current.chunkOverlap,
      language: current.language,
      embeddingModel: current.embeddingModel,
      ...input.settings,
    };
    await this.assertSettings(settings);
    await this.bases.update(id, {
      name: input.name,
      description: input.description ?? current.description,
      ...settings,
    });
    return this.get(id);
  }

  async remove(id: string): Promise<void> {
    await this.get(id);
    const blobKeys = (await this.documents.list(id, undefined, 1_000_000, 0))[0].map((d) => d.blobKey);
    if (!(await this.bases.remove(id))) throw baseNotFound();
    await Promise.all(blobKeys.map((key) => this.blobs.delete(key)));
  }

  /** Adds a document: quotas held, bytes stored, row written, quotas counted, processing queued. */
  async addDocument(baseId: string, input: NewDocument, origin: RequestOrigin): Promise<KbDocument> {
    await this.get(baseId);
    const id = randomUUID();
    const holds = await this.holdQuotas(input.bytes.length);
    const blobKey = `${this.context.tenantId}/knowledge/${id}`;
    let document: KbDocument;
    try {
      await this.blobs.put(blobKey, input.bytes, { contentType: input.contentType, size: input.bytes.length });
      document = await this.documents.create({
        id,
        knowledgeBaseId: baseId,
        title: input.title,
        filename: input.filename,
        format: input.format,
        contentType: input.contentType,
        sizeBytes: input.bytes.length,
        blobKey,
        metadata: input.metadata,
        status: 'queued',
        error: null,
        chunkCount: 0,
        tokenCount: 0,
        createdBy: this.context.principal.userId ?? null,
      });
    } catch (err) {
      await Promise.all(holds.map((hold) => this.metering.release(hold.id)));
      await this.blobs.delete(blobKey);
      throw err;
    }
    for (const [hold, quantity] of [
      [holds[0], 1],
      [holds[1], input.bytes.length],
    ] as const) {
      await this.metering.commit(hold.id, { quantity, metadata: { documentId: id } }, origin);
    }
    await this.queue.enqueue(PROCESS_JOB, { documentId: id } satisfies ProcessStep, {
      jobKey: `${id}:${randomUUID()}`,
    });
    return document;
  }

  listDocuments(baseId: string, status: DocumentStatus | undefined, limit: number, offset: number) {
    return this.get(baseId).then(() => this.documents.list(baseId, status, limit, offset));
  }

  async getDocument(id: string): Promise<KbDocument> {
    const document = await this.documents.findById(id);
    const reachable = this.reachable();
    if (!document || (reachable && !reachable.includes(document.knowledgeBaseId))) throw documentNotFound();
    return document;
  }

  async removeDocument(id: string): Promise<void> {
    const document = await this.getDocument(id);
    if (!(await this.documents.remove(document.id))) throw documentNotFound();
    await this.blobs.delete(document.blobKey);
  }

  /** Processes a document again (with its base's current settings); not while it is queued or processing. */
  async reprocess(id: string): Promise<KbDocument> {
    const document = await this.getDocument(id);
    if (!(await this.documents.transition(document.id, ['ready', 'failed'], 'queued'))) {
      throw new KnowledgeError(
        KnowledgeErrorCode.DOCUMENT_BUSY,
        `The document is ${document.status}; wait until it is done.`,
      );
    }
    await this.queue.enqueue(PROCESS_JOB, { documentId: id } satisfies ProcessStep, {
      jobKey: `${id}:${randomUUID()}`,
    });
    return this.getDocument(id);
  }

  async statistics(baseId: string): Promise<DocumentStats & { lastUpdatedAt: Date; searches: number }> {
    const base = await this.get(baseId);
    const stats = await this.documents.stats(baseId);
    const lastUpdatedAt =
      stats.lastUpdatedAt && stats.lastUpdatedAt > base.updatedAt ? stats.lastUpdatedAt : base.updatedAt;
    return { ...stats, lastUpdatedAt, searches: base.searches + this.searchCounts.unwritten(base.id) };
  }

  /** The format of an upload, or 415 for a type no extractor reads. */
  formatOf(filename: string, declaredType: string | undefined, bytes: Buffer): DocumentFormat {
    const format = formatOf(filename, declaredType, bytes);
    if (!format) {
      throw new KnowledgeError(
        KnowledgeErrorCode.UNSUPPORTED_DOCUMENT_TYPE,
        'Upload text, Markdown, HTML, PDF, DOCX, CSV or JSON.',
      );
    }
    return format;
  }

  /** One document and one byte count held at once: either both or neither. */
  private async holdQuotas(bytes: number) {
    const reserve = (meter: string, quantity: number) =>
      this.metering.reserve({ meter, quantity, ttlSeconds: 300, idempotencyKey: `kb:${randomUUID()}` });
    const documents = await reserve('kb_documents', 1);
    try {
      return [documents, await reserve('kb_storage_bytes', Math.max(1, bytes))] as const;
    } catch (err) {
      await this.metering.release(documents.id);
      throw err;
    }
  }

  private async assertSettings(settings: BaseSettings): Promise<void> {
    if (settings.chunkOverlap * 2 >= settings.chunkSize) {
      throw validationFailed([
        { field: 'settings.chunkOverlap', messages: ['chunkOverlap must be less than half of chunkSize'] },
      ]);
    }
    if (!(await this.catalog.languageExists(settings.language))) {
      throw new KnowledgeError(
        KnowledgeErrorCode.UNKNOWN_LANGUAGE,
        `No full-text configuration ${settings.language}.`,
        {
          language: settings.language,
        },
      );
    }
    if (settings.embeddingModel === null) return;
    try {
      await this.gateway.resolve('embedding', settings.embeddingModel);
    } catch (err) {
      if (err instanceof AppError && ['MODEL_NOT_FOUND', 'WRONG_TASK'].includes(err.code)) {
        throw new KnowledgeError(
          KnowledgeErrorCode.UNKNOWN_EMBEDDING_MODEL,
          `${settings.embeddingModel} is not an embedding model.`,
        );
      }
      throw err;
    }
  }
}
