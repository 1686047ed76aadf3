import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BillingModule } from '../billing/billing.module.js';
import { Generation, ModelRoute, Provider, ProviderKey } from './entities/gateway.entity.js';
import { Media, VideoJob } from './entities/media.entity.js';
import { GatewayAdminController } from './gateway-admin.controller.js';
import { GatewayAdminService } from './gateway-admin.service.js';
import { GatewayDirectory } from './gateway-directory.js';
import {
  GenerationsRepository,
  ModelRoutesRepository,
  ProviderKeysRepository,
  ProvidersRepository,
} from './gateway.repository.js';
import { GatewayService } from './gateway.service.js';
import { KeyHealth } from './key-health.js';
import { MediaController, MediaLinkController } from './media.controller.js';
import { MediaRepository, VideoJobsRepository } from './media.repository.js';
import { MediaService } from './media.service.js';
import { OpenAiController } from './openai.controller.js';
import { VideoController } from './video.controller.js';
import { VideoService } from './video.service.js';

/**
 * The generation gateway: providers and their key pools, model routes and
 * prices (super admins), and the OpenAI-compatible API tenant apps call,
 * every call metered through billing.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Provider, ProviderKey, ModelRoute, Generation, Media, VideoJob]), BillingModule],
  controllers: [GatewayAdminController, OpenAiController, MediaController, MediaLinkController, VideoController],
  providers: [
    ProvidersRepository,
    ProviderKeysRepository,
    ModelRoutesRepository,
    GenerationsRepository,
    GatewayDirectory,
    KeyHealth,
    GatewayAdminService,
    GatewayService,
    MediaRepository,
    VideoJobsRepository,
    MediaService,
    VideoService,
  ],
  exports: [GatewayService],
})
export class GatewayModule {}
