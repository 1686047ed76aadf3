import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { Optional } from '../../../core/http/dto-fields.js';
import { PageQuery } from '../../../core/http/pagination.js';
import {
  DOCUMENT_STATUSES,
  type DocumentStatus,
  type KbDocument,
  type KnowledgeBase,
} from '../entities/knowledge.entity.js';
import type { ChunkHit } from '../knowledge.repository.js';

const METADATA = {
  type: 'object',
  maxProperties: 50,
  maxJsonBytes: 8192,
  additionalProperties: {
    oneOf: [{ type: 'string', maxLength: 1000 }, { type: 'number' }, { type: 'boolean' }, { type: 'null' }],
  },
} as const;

const SETTINGS = {
  type: 'object',
  additionalProperties: false,
  properties: {
    chunkSize: { type: 'integer', minimum: 32, maximum: 8192, description: 'Tokens per chunk (default 512)' },
    chunkOverlap: {
      type: 'integer',
      minimum: 0,
      maximum: 4095,
      description: 'Tokens repeated between chunks (default 64)',
    },
    language: {
      type: 'string',
      pattern: '^[a-z_]{1,63}$',
      description: 'The full-text search configuration (default `simple`), e.g. `english`',
    },
    embeddingModel: {
      oneOf: [{ type: 'string', minLength: 1, maxLength: 100 }, { type: 'null' }],
      description: 'An embedding model alias of the gateway; null: keyword search only',
    },
  },
} as const;

export const BASE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
    description: { type: 'string', maxLength: 5000 },
    settings: SETTINGS,
  },
} as const;

export interface BaseBody {
  name: string;
  description?: string;
  settings?: { chunkSize?: number; chunkOverlap?: number; language?: string; embeddingModel?: string | null };
}

export const TEXT_DOCUMENT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'text'],
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 500, pattern: '\\S' },
    text: { type: 'string', minLength: 1, maxLength: 5_000_000 },
    metadata: METADATA,
  },
} as const;

export interface TextDocumentBody {
  title: string;
  text: string;
  metadata?: Record<string, string | number | boolean | null>;
}

/** The upload's form, for Swagger. */
export const UPLOAD_FORM = {
  type: 'object',
  required: ['file'],
  properties: {
    file: { type: 'string', format: 'binary', description: 'Text, Markdown, HTML, PDF, DOCX, CSV or JSON' },
    title: { type: 'string', description: 'Default: the file name' },
    metadata: { type: 'string', description: 'A JSON object of string, number, boolean or null values' },
  },
} as const;

export const UPLOAD_FIELDS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 500, pattern: '\\S' },
    metadata: METADATA,
  },
} as const;

export interface UploadFields {
  title?: string;
  metadata?: Record<string, string | number | boolean | null>;
}

export const SEARCH_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['query'],
  properties: {
    query: { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S' },
    knowledgeBaseIds: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      uniqueItems: true,
      items: { type: 'string', format: 'uuid' },
      description: 'Default: every base the caller may read',
    },
    topK: { type: 'integer', minimum: 1, maximum: 50, description: 'Default 5' },
    mode: {
      type: 'string',
      enum: ['keyword', 'vector', 'hybrid'],
      description: 'Default: hybrid when the bases have embeddings, else keyword',
    },
    filter: { ...METADATA, description: 'Metadata the document must have (equality per key)' },
    minScore: { type: 'number', minimum: -1, maximum: 1000 },
  },
} as const;

export class DocumentsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: DOCUMENT_STATUSES })
  @Optional()
  @IsIn(DOCUMENT_STATUSES)
  status?: DocumentStatus;
}

class SettingsDto {
  @ApiProperty() chunkSize: number;
  @ApiProperty() chunkOverlap: number;
  @ApiProperty() language: string;
  @ApiProperty({ type: String, nullable: true }) embeddingModel: string | null;
}

export class KnowledgeBaseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() description: string;
  @ApiProperty({ type: SettingsDto }) settings: SettingsDto;
  @ApiProperty() createdAt: Date;
  @ApiProperty() updatedAt: Date;

  static from(base: KnowledgeBase): KnowledgeBaseDto {
    return {
      id: base.id,
      name: base.name,
      description: base.description,
      settings: {
        chunkSize: base.chunkSize,
        chunkOverlap: base.chunkOverlap,
        language: base.language,
        embeddingModel: base.embeddingModel,
      },
      createdAt: base.createdAt,
      updatedAt: base.updatedAt,
    };
  }
}

export class KnowledgeBasePageDto {
  @ApiProperty({ type: [KnowledgeBaseDto] }) items: KnowledgeBaseDto[];
  @ApiProperty() total: number;
  @ApiProperty() limit: number;
  @ApiProperty() offset: number;
}

export class DocumentDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) knowledgeBaseId: string;
  @ApiProperty() title: string;
  @ApiProperty({ type: String, nullable: true }) filename: string | null;
  @ApiProperty({ enum: ['text', 'markdown', 'html', 'pdf', 'docx', 'csv', 'json'] }) format: string;
  @ApiProperty() contentType: string;
  @ApiProperty() sizeBytes: number;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata: Record<string, unknown>;
  @ApiProperty({ enum: DOCUMENT_STATUSES }) status: DocumentStatus;
  @ApiProperty({ type: String, nullable: true, description: 'Why processing failed' }) error: string | null;
  @ApiProperty() chunkCount: number;
  @ApiProperty() tokenCount: number;
  @ApiProperty() createdAt: Date;
  @ApiProperty() updatedAt: Date;
  @ApiProperty({ type: Date, nullable: true }) processedAt: Date | null;

  static from(d: KbDocument): DocumentDto {
    return {
      id: d.id,
      knowledgeBaseId: d.knowledgeBaseId,
      title: d.title,
      filename: d.filename,
      format: d.format,
      contentType: d.contentType,
      sizeBytes: d.sizeBytes,
      metadata: d.metadata,
      status: d.status,
      error: d.error,
      chunkCount: d.chunkCount,
      tokenCount: d.tokenCount,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
      processedAt: d.processedAt,
    };
  }
}

export class DocumentPageDto {
  @ApiProperty({ type: [DocumentDto] }) items: DocumentDto[];
  @ApiProperty() total: number;
  @ApiProperty() limit: number;
  @ApiProperty() offset: number;
}

class StatusCountsDto {
  @ApiProperty() queued: number;
  @ApiProperty() processing: number;
  @ApiProperty() ready: number;
  @ApiProperty() failed: number;
}

export class StatisticsDto {
  @ApiProperty({ type: StatusCountsDto }) documentsByStatus: StatusCountsDto;
  @ApiProperty() documents: number;
  @ApiProperty() chunks: number;
  @ApiProperty() tokens: number;
  @ApiProperty() bytes: number;
  @ApiProperty({ description: 'The latest change to the base or one of its documents' }) lastUpdatedAt: Date;
  @ApiProperty({ description: 'Searches that included this base' }) searches: number;
}

export class SearchHitDto {
  @ApiProperty({ format: 'uuid' }) chunkId: string;
  @ApiProperty({ format: 'uuid' }) documentId: string;
  @ApiProperty({ format: 'uuid' }) knowledgeBaseId: string;
  @ApiProperty() documentTitle: string;
  @ApiProperty() text: string;
  @ApiProperty({
    description:
      'keyword: the number of the query’s words the chunk contains plus its ts_rank_cd scaled into [0, 1); ' +
      'vector: cosine similarity; hybrid: reciprocal-rank fusion',
  })
  score: number;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata: Record<string, unknown>;

  static from(hit: ChunkHit): SearchHitDto {
    return { ...hit };
  }
}

export class SearchResultDto {
  @ApiProperty({ enum: ['keyword', 'vector', 'hybrid'] }) mode: string;
  @ApiProperty({ type: [SearchHitDto] }) results: SearchHitDto[];
}
