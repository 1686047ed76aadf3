import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module.js';
import { TenantsDataModule } from './tenants-data.module.js';
import { TenantsController } from './tenants.controller.js';
import { TenantsService } from './tenants.service.js';

@Module({
  imports: [TenantsDataModule, UsersModule],
  controllers: [TenantsController],
  providers: [TenantsService],
  exports: [TenantsService],
})
export class TenantsModule {}
