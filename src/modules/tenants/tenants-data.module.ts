import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Tenant } from './tenant.entity.js';
import { TenantScope } from './tenant-scope.service.js';
import { TenantsRepository } from './tenants.repository.js';

/** The tenant directory and tenant selection, shared by every module that acts inside a tenant. */
@Module({
  imports: [TypeOrmModule.forFeature([Tenant])],
  providers: [TenantsRepository, TenantScope],
  exports: [TenantsRepository, TenantScope],
})
export class TenantsDataModule {}
