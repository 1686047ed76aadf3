import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Ip,
  Param,
  ParseUUIDPipe,
  Post,
  Put,
  Query,
  Req,
} from '@nestjs/common';
import {
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { Authenticated } from '../../core/auth/auth.decorators.js';
import { Permission } from '../../core/auth/permissions.js';
import { JsonSchemaPipe } from '../../core/http/json-schema.pipe.js';
import { PageQuery, pageOf } from '../../core/http/pagination.js';
import { AcceptsUploads, readForm } from '../../core/http/uploads.js';
import { validationFailed } from '../../core/http/validation.pipe.js';
import { ActsInTenant } from '../../core/identity/tenant-selection.js';
import { requestOrigin } from '../billing/metering.service.js';
import {
  BASE_SCHEMA,
  type BaseBody,
  DocumentDto,
  DocumentPageDto,
  DocumentsQuery,
  KnowledgeBaseDto,
  KnowledgeBasePageDto,
  SEARCH_SCHEMA,
  SearchHitDto,
  SearchResultDto,
  StatisticsDto,
  TEXT_DOCUMENT_SCHEMA,
  type TextDocumentBody,
  UPLOAD_FIELDS_SCHEMA,
  UPLOAD_FORM,
  type UploadFields,
} from './dto/knowledge.dto.js';
import { type SearchInput, KnowledgeSearch } from './knowledge-search.service.js';
import { KnowledgeService } from './knowledge.service.js';

const id = new ParseUUIDPipe({ version: '4' });

/** Knowledge bases: documents in, processed in the background, searched by keyword, vector or both. */
@ApiTags('knowledge')
@ActsInTenant()
@Controller('knowledge')
export class KnowledgeController {
  private readonly uploadFields = new JsonSchemaPipe<UploadFields>(UPLOAD_FIELDS_SCHEMA);

  constructor(
    private readonly knowledge: KnowledgeService,
    private readonly searcher: KnowledgeSearch,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('bases')
  @Authenticated({ permission: Permission.KNOWLEDGE_READ })
  @ApiOperation({ summary: 'The knowledge bases the caller may read, oldest first' })
  @ApiOkResponse({ type: KnowledgeBasePageDto })
  async list(@Query() query: PageQuery): Promise<KnowledgeBasePageDto> {
    const { limit, offset } = pageOf(query);
    const [bases, total] = await this.knowledge.list(limit, offset);
    return { items: bases.map(KnowledgeBaseDto.from), total, limit, offset };
  }

  @Post('bases')
  @Authenticated({ permission: Permission.KNOWLEDGE_WRITE })
  @ApiOperation({ summary: 'Create a knowledge base (chunking, full-text language, embedding model)' })
  @ApiBody({ schema: BASE_SCHEMA as object })
  @ApiCreatedResponse({ type: KnowledgeBaseDto })
  async create(@Body(new JsonSchemaPipe<BaseBody>(BASE_SCHEMA)) body: BaseBody): Promise<KnowledgeBaseDto> {
    return KnowledgeBaseDto.from(await this.knowledge.create(body));
  }

  @Get('bases/:id')
  @Authenticated({ permission: Permission.KNOWLEDGE_READ })
  @ApiOperation({ summary: 'One knowledge base' })
  @ApiOkResponse({ type: KnowledgeBaseDto })
  @ApiNotFoundResponse({
    description: 'KNOWLEDGE_BASE_NOT_FOUND (also for another tenant’s, or one the key may not reach)',
  })
  async get(@Param('id', id) baseId: string): Promise<KnowledgeBaseDto> {
    return KnowledgeBaseDto.from(await this.knowledge.get(baseId));
  }

  @Put('bases/:id')
  @Authenticated({ permission: Permission.KNOWLEDGE_WRITE })
  @ApiOperation({ summary: 'Replace name, description and settings (documents processed from now on use them)' })
  @ApiBody({ schema: BASE_SCHEMA as object })
  @ApiOkResponse({ type: KnowledgeBaseDto })
  async update(
    @Param('id', id) baseId: string,
    @Body(new JsonSchemaPipe<BaseBody>(BASE_SCHEMA)) body: BaseBody,
  ): Promise<KnowledgeBaseDto> {
    return KnowledgeBaseDto.from(await this.knowledge.update(baseId, body));
  }

  @Delete('bases/:id')
  @HttpCode(204)
  @Authenticated({ permission: Permission.KNOWLEDGE_WRITE })
  @ApiOperation({ summary: 'Delete a knowledge base with its documents and chunks' })
  @ApiNoContentResponse({ description: 'Deleted' })
  async remove(@Param('id', id) baseId: string): Promise<void> {
    await this.knowledge.remove(baseId);
  }

  @Get('bases/:id/documents')
  @Authenticated({ permission: Permission.KNOWLEDGE_READ })
  @ApiOperation({ summary: 'A base’s documents, newest first, by status if asked' })
  @ApiOkResponse({ type: DocumentPageDto })
  async documents(@Param('id', id) baseId: string, @Query() query: DocumentsQuery): Promise<DocumentPageDto> {
    const { limit, offset } = pageOf(query);
    const [documents, total] = await this.knowledge.listDocuments(baseId, query.status, limit, offset);
    return { items: documents.map(DocumentDto.from), total, limit, offset };
  }

  @Post('bases/:id/documents')
  @Authenticated({ permission: Permission.KNOWLEDGE_WRITE })
  @ApiOperation({ summary: 'Add raw text as a document; it is processed in the background' })
  @ApiBody({ schema: TEXT_DOCUMENT_SCHEMA as object })
  @ApiCreatedResponse({ type: DocumentDto })
  @ApiTooManyRequestsResponse({ description: 'QUOTA_EXCEEDED (meters `kb_documents`, `kb_storage_bytes`)' })
  async addText(
    @Param('id', id) baseId: string,
    @Body(new JsonSchemaPipe<TextDocumentBody>(TEXT_DOCUMENT_SCHEMA)) body: TextDocumentBody,
    @Req() request: FastifyRequest,
    @Ip() ip: string,
  ): Promise<DocumentDto> {
    const document = await this.knowledge.addDocument(
      baseId,
      {
        title: body.title,
        bytes: Buffer.from(body.text, 'utf8'),
        format: 'text',
        contentType: 'text/plain; charset=utf-8',
        filename: null,
        metadata: body.metadata ?? {},
      },
      requestOrigin(request, ip),
    );
    return DocumentDto.from(document);
  }

  @Post('bases/:id/documents/upload')
  @AcceptsUploads()
  @Authenticated({ permission: Permission.KNOWLEDGE_WRITE })
  @ApiOperation({ summary: 'Upload a file (text, Markdown, HTML, PDF, DOCX, CSV, JSON); processed in the background' })
  @ApiBody({ schema: UPLOAD_FORM as object })
  @ApiCreatedResponse({ type: DocumentDto })
  @ApiPayloadTooLargeResponse({ description: 'Larger than KB_MAX_FILE_BYTES' })
  @ApiUnsupportedMediaTypeResponse({ description: 'UNSUPPORTED_DOCUMENT_TYPE, or not multipart/form-data' })
  @ApiTooManyRequestsResponse({ description: 'QUOTA_EXCEEDED (meters `kb_documents`, `kb_storage_bytes`)' })
  async upload(
    @Param('id', id) baseId: string,
    @Req() request: FastifyRequest,
    @Ip() ip: string,
  ): Promise<DocumentDto> {
    await this.knowledge.get(baseId);
    const form = await readForm(request, this.config.knowledge.maxFileBytes);
    if (!form.file || form.file.fieldName !== 'file') {
      throw validationFailed([{ field: 'file', messages: ['file is required'] }]);
    }
    const { metadata, ...rest } = form.fields;
    let parsed: unknown = undefined;
    if (metadata !== undefined) {
      try {
        parsed = JSON.parse(metadata);
      } catch {
        throw validationFailed([{ field: 'metadata', messages: ['metadata must be a JSON object'] }]);
      }
    }
    const fields = this.uploadFields.transform({ ...rest, ...(parsed !== undefined && { metadata: parsed }) });
    const filename = form.file.filename.slice(0, 500);
    const format = this.knowledge.formatOf(filename, form.file.contentType, form.file.bytes);
    const document = await this.knowledge.addDocument(
      baseId,
      {
        title: fields.title ?? (filename || 'Untitled'),
        bytes: form.file.bytes,
        format,
        contentType: form.file.contentType.slice(0, 200) || 'application/octet-stream',
        filename: filename || null,
        metadata: fields.metadata ?? {},
      },
      requestOrigin(request, ip),
    );
    return DocumentDto.from(document);
  }

  @Get('documents/:id')
  @Authenticated({ permission: Permission.KNOWLEDGE_READ })
  @ApiOperation({ summary: 'One document: status, error, chunk and token counts' })
  @ApiOkResponse({ type: DocumentDto })
  @ApiNotFoundResponse({ description: 'DOCUMENT_NOT_FOUND' })
  async document(@Param('id', id) documentId: string): Promise<DocumentDto> {
    return DocumentDto.from(await this.knowledge.getDocument(documentId));
  }

  @Delete('documents/:id')
  @HttpCode(204)
  @Authenticated({ permission: Permission.KNOWLEDGE_WRITE })
  @ApiOperation({ summary: 'Delete a document and its chunks' })
  @ApiNoContentResponse({ description: 'Deleted' })
  async removeDocument(@Param('id', id) documentId: string): Promise<void> {
    await this.knowledge.removeDocument(documentId);
  }

  @Post('documents/:id/reprocess')
  @HttpCode(202)
  @Authenticated({ permission: Permission.KNOWLEDGE_WRITE })
  @ApiOperation({ summary: 'Process a document again with its base’s current settings' })
  @ApiOkResponse({ type: DocumentDto })
  @ApiConflictResponse({ description: 'DOCUMENT_BUSY: still queued or processing' })
  async reprocess(@Param('id', id) documentId: string): Promise<DocumentDto> {
    return DocumentDto.from(await this.knowledge.reprocess(documentId));
  }

  @Get('bases/:id/statistics')
  @Authenticated({ permission: Permission.KNOWLEDGE_READ })
  @ApiOperation({ summary: 'Documents by status, chunks, tokens, bytes, last update and searches' })
  @ApiOkResponse({ type: StatisticsDto })
  async statistics(@Param('id', id) baseId: string): Promise<StatisticsDto> {
    const stats = await this.knowledge.statistics(baseId);
    return {
      documentsByStatus: stats.byStatus,
      documents: stats.documents,
      chunks: stats.chunks,
      tokens: stats.tokens,
      bytes: stats.bytes,
      lastUpdatedAt: stats.lastUpdatedAt,
      searches: stats.searches,
    };
  }

  @Post('search')
  @HttpCode(200)
  @Authenticated({ permission: Permission.KNOWLEDGE_READ })
  @ApiOperation({ summary: 'Search the caller’s knowledge bases: keyword, vector or hybrid (reciprocal rank fusion)' })
  @ApiBody({ schema: SEARCH_SCHEMA as object })
  @ApiOkResponse({ type: SearchResultDto })
  async search(
    @Body(new JsonSchemaPipe<SearchInput>(SEARCH_SCHEMA)) body: SearchInput,
    @Req() request: FastifyRequest,
    @Ip() ip: string,
  ): Promise<SearchResultDto> {
    const { mode, results } = await this.searcher.search(body, requestOrigin(request, ip));
    return { mode, results: results.map(SearchHitDto.from) };
  }
}
