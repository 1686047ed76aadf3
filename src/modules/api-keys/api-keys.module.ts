import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TenantsDataModule } from '../tenants/tenants-data.module.js';
import { ApiKey } from './api-key.entity.js';
import { ApiKeyAuthenticator } from './api-key-authenticator.js';
import { ApiKeysController, TenantKeyController } from './api-keys.controller.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { ApiKeysService } from './api-keys.service.js';
import { TenantKeyService } from './tenant-key.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKey]), TenantsDataModule],
  controllers: [ApiKeysController, TenantKeyController],
  providers: [ApiKeysRepository, ApiKeysService, ApiKeyAuthenticator, TenantKeyService],
  exports: [ApiKeysService, ApiKeyAuthenticator],
})
export class ApiKeysModule {}
