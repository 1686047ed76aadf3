import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BillingModule } from '../billing/billing.module.js';
import { GatewayModule } from '../gateway/gateway.module.js';
import { KbChunk, KbDocument, KnowledgeBase } from './entities/knowledge.entity.js';
import { KnowledgeController } from './knowledge.controller.js';
import { KnowledgeProcessing } from './knowledge-processing.service.js';
import {
  KbChunksRepository,
  KbDocumentsRepository,
  KnowledgeBasesRepository,
  KnowledgeCatalogRepository,
} from './knowledge.repository.js';
import { KnowledgeSearch } from './knowledge-search.service.js';
import { KnowledgeService } from './knowledge.service.js';
import { SearchCounts } from './search-counts.js';

/**
 * Knowledge bases: documents uploaded or sent as text, processed in durable
 * background jobs (extract, chunk, embed through the gateway, index in
 * PostgreSQL), searched by keyword, vector or both, strictly per tenant.
 */
@Module({
  imports: [TypeOrmModule.forFeature([KnowledgeBase, KbDocument, KbChunk]), BillingModule, GatewayModule],
  controllers: [KnowledgeController],
  providers: [
    KnowledgeBasesRepository,
    KbDocumentsRepository,
    KbChunksRepository,
    KnowledgeCatalogRepository,
    KnowledgeService,
    KnowledgeProcessing,
    KnowledgeSearch,
    SearchCounts,
  ],
})
export class KnowledgeModule {}
