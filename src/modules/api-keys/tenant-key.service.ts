import { Injectable } from '@nestjs/common';
import { RequestContext } from '../../common/context/request-context.js';
import { TenantScope } from '../tenants/tenant-scope.service.js';
import { ApiKeysService } from './api-keys.service.js';
import type { CreatedApiKeyDto } from './dto/api-key.dto.js';

/** Regeneration of a tenant's key: super admins for any tenant, tenant admins for their own. */
@Injectable()
export class TenantKeyService {
  constructor(
    private readonly context: RequestContext,
    private readonly scope: TenantScope,
    private readonly keys: ApiKeysService,
  ) {}

  async regenerate(tenantId: string, graceSeconds: number): Promise<CreatedApiKeyDto> {
    const tenant = await this.scope.visible(tenantId);
    return this.context.runInTenant(tenant.id, () => this.keys.regenerateTenantKey(graceSeconds));
  }
}
