import { Injectable } from '@nestjs/common';
import { Role } from '../../common/auth/permissions.js';
import { RequestContext } from '../../common/context/request-context.js';
import { type Tenant, TenantStatus } from './tenant.entity.js';
import { TenantError, TenantErrorCode, tenantNotFound } from './tenants.errors.js';
import { TenantsRepository } from './tenants.repository.js';

/**
 * Chooses the tenant a tenant-level route acts in: the caller's own, or, for a
 * super admin, the one named by `?tenantId=` (required for them).
 */
@Injectable()
export class TenantScope {
  constructor(
    private readonly context: RequestContext,
    private readonly tenants: TenantsRepository,
  ) {}

  /** The tenant with this id if the caller may see it: super admins any live tenant, others their own. Else 404. */
  async visible(id: string): Promise<Tenant> {
    const principal = this.context.principal;
    if (principal.role !== Role.SUPER_ADMIN && principal.tenantId !== id) throw tenantNotFound();
    const tenant = await this.tenants.findById(id);
    if (!tenant || tenant.status === TenantStatus.DELETED) throw tenantNotFound();
    return tenant;
  }

  async run<T>(requestedTenantId: string | undefined, fn: () => Promise<T>): Promise<T> {
    const principal = this.context.principal;
    if (principal.role !== Role.SUPER_ADMIN) {
      if (requestedTenantId !== undefined && requestedTenantId !== principal.tenantId) {
        throw new TenantError(TenantErrorCode.TENANT_FIELD_FORBIDDEN, 'Only super admins may choose the tenant.');
      }
      return fn();
    }
    if (!requestedTenantId) {
      throw new TenantError(TenantErrorCode.TENANT_REQUIRED, 'Super admins must pass ?tenantId= on this route.');
    }
    const tenant = await this.tenants.findById(requestedTenantId);
    if (!tenant || tenant.status === TenantStatus.DELETED) throw tenantNotFound();
    return this.context.runInTenant(tenant.id, fn);
  }
}
