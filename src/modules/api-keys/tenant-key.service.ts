import { Injectable } from '@nestjs/common';
import { Role } from '../../common/auth/permissions.js';
import { RequestContext } from '../../common/context/request-context.js';
import { TenantStatus } from '../tenants/tenant.entity.js';
import { tenantNotFound } from '../tenants/tenants.errors.js';
import { TenantsRepository } from '../tenants/tenants.repository.js';
import { ApiKeysService } from './api-keys.service.js';
import type { CreatedApiKeyDto } from './dto/api-key.dto.js';

/** Regeneration of a tenant's key: super admins for any tenant, tenant admins for their own. */
@Injectable()
export class TenantKeyService {
  constructor(
    private readonly context: RequestContext,
    private readonly tenants: TenantsRepository,
    private readonly keys: ApiKeysService,
  ) {}

  async regenerate(tenantId: string, graceSeconds: number): Promise<CreatedApiKeyDto> {
    const principal = this.context.principal;
    if (principal.role !== Role.SUPER_ADMIN && principal.tenantId !== tenantId) throw tenantNotFound();
    const tenant = await this.tenants.findById(tenantId);
    if (!tenant || tenant.status === TenantStatus.DELETED) throw tenantNotFound();
    return this.context.runInTenant(tenant.id, () => this.keys.regenerateTenantKey(graceSeconds));
  }
}
