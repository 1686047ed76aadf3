import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BillingModule } from '../billing/billing.module.js';
import { Generation, ModelRoute, Provider, ProviderKey } from './entities/gateway.entity.js';
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
import { OpenAiController } from './openai.controller.js';

/**
 * The generation gateway: providers and their key pools, model routes and
 * prices (super admins), and the OpenAI-compatible API tenant apps call,
 * every call metered through billing.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Provider, ProviderKey, ModelRoute, Generation]), BillingModule],
  controllers: [GatewayAdminController, OpenAiController],
  providers: [
    ProvidersRepository,
    ProviderKeysRepository,
    ModelRoutesRepository,
    GenerationsRepository,
    GatewayDirectory,
    KeyHealth,
    GatewayAdminService,
    GatewayService,
  ],
})
export class GatewayModule {}
