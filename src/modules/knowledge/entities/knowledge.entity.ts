import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber } from '../../../core/database/bigint-number.js';
import type { DocumentFormat } from '../processing/extract.js';

export const DOCUMENT_STATUSES = ['queued', 'processing', 'ready', 'failed'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];

/** A tenant's knowledge base: its documents' chunks, searched by keyword, vector or both. */
@Entity('knowledge_bases')
export class KnowledgeBase {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('uuid')
  id: string;

  @Column('varchar')
  name: string;

  @Column('text')
  description: string;

  @Column('int', { name: 'chunk_size' })
  chunkSize: number;

  @Column('int', { name: 'chunk_overlap' })
  chunkOverlap: number;

  /** The full-text search configuration (a PostgreSQL regconfig, e.g. `simple`, `english`). */
  @Column('varchar')
  language: string;

  /** The gateway's embedding model alias; null: keyword search only. */
  @Column('varchar', { name: 'embedding_model', nullable: true })
  embeddingModel: string | null;

  @Column('bigint', { transformer: bigintNumber })
  searches: number;

  @Column('uuid', { name: 'created_by', nullable: true })
  createdBy: string | null;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}

/** A document of a knowledge base: the original bytes in the blob store, its processing status. */
@Entity('kb_documents')
export class KbDocument {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'knowledge_base_id' })
  knowledgeBaseId: string;

  @Column('varchar')
  title: string;

  @Column('varchar', { nullable: true })
  filename: string | null;

  @Column('varchar')
  format: DocumentFormat;

  @Column('varchar', { name: 'content_type' })
  contentType: string;

  @Column('bigint', { name: 'size_bytes', transformer: bigintNumber })
  sizeBytes: number;

  @Column('varchar', { name: 'blob_key' })
  blobKey: string;

  @Column('jsonb')
  metadata: Record<string, unknown>;

  @Column('varchar')
  status: DocumentStatus;

  @Column('varchar', { nullable: true })
  error: string | null;

  @Column('int', { name: 'chunk_count' })
  chunkCount: number;

  @Column('int', { name: 'token_count' })
  tokenCount: number;

  @Column('uuid', { name: 'created_by', nullable: true })
  createdBy: string | null;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;

  @Column('timestamptz', { name: 'processed_at', nullable: true })
  processedAt: Date | null;
}

/** A searchable piece of a document; its tsvector and embedding are written and read by SQL only. */
@Entity('kb_chunks')
export class KbChunk {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'knowledge_base_id' })
  knowledgeBaseId: string;

  @Column('uuid', { name: 'document_id' })
  documentId: string;

  @Column('int')
  ordinal: number;

  @Column('text', { nullable: true })
  heading: string | null;

  @Column('text')
  text: string;

  @Column('int')
  tokens: number;

  @Column('jsonb')
  metadata: Record<string, unknown>;
}
