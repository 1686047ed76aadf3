import { Injectable } from '@nestjs/common';
import { Role } from '../auth/permissions.js';
import { RequestContext } from '../context/request-context.js';
import { type Tenant, TenantStatus } from './tenant.entity.js';
import { TenantError, TenantErrorCode, tenantNotFound } from './tenant.errors.js';
import { TenantsRepository } from './tenants.repository.js';

/** Which tenant a caller may see or act in. */
@Injectable()
export class TenantScope {
  constructor(
    private readonly context: RequestContext,
    private readonly tenants: TenantsRepository,
  ) {}

  /** The tenant with this id if the caller may see it: super admins any live tenant, others their own. Else 404. */
  async visible(id: string): Promise<Tenant> {
    const principal = this.context.principal;
    if (principal.role !== Role.SUPER_ADMIN && principal.homeTenantId !== id) throw tenantNotFound();
    const tenant = await this.tenants.findById(id);
    if (!tenant || tenant.status === TenantStatus.DELETED) throw tenantNotFound();
    return tenant;
  }

  /** Runs `fn` in the context of the tenant with this id, if the caller may see it (else 404, as `visible`). */
  async inVisible<T>(id: string, fn: (tenant: Tenant) => Promise<T>): Promise<T> {
    const tenant = await this.visible(id);
    return this.context.runInTenant(tenant.id, () => fn(tenant));
  }

  /**
   * The tenant a tenant-level route acts in: the caller's own or, for a super
   * admin, the one named by `?tenantId=` (required for them; 404 when it does
   * not exist). Others may only name their own tenant.
   */
  async select(requested: string | undefined): Promise<string> {
    const principal = this.context.principal;
    if (principal.role !== Role.SUPER_ADMIN) {
      if (requested !== undefined && requested !== principal.homeTenantId) {
        throw new TenantError(TenantErrorCode.TENANT_FIELD_FORBIDDEN, 'Only super admins may choose the tenant.');
      }
      if (!principal.homeTenantId)
        throw new TenantError(TenantErrorCode.TENANT_REQUIRED, 'This route acts in a tenant.');
      return principal.homeTenantId;
    }
    if (!requested) {
      throw new TenantError(TenantErrorCode.TENANT_REQUIRED, 'Super admins must pass ?tenantId= on this route.');
    }
    const tenant = await this.tenants.findById(requested);
    if (!tenant || tenant.status === TenantStatus.DELETED) throw tenantNotFound();
    return tenant.id;
  }
}
