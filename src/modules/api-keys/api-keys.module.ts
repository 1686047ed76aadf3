import { Module } from '@nestjs/common';
import { ApiKeysController, TenantKeyController } from './api-keys.controller.js';
import { ApiKeysService } from './api-keys.service.js';

@Module({ controllers: [ApiKeysController, TenantKeyController], providers: [ApiKeysService] })
export class ApiKeysModule {}
