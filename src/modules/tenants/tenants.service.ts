import { LifecycleHooks } from '../../core/identity/lifecycle-hooks.js';
import { Injectable } from '@nestjs/common';
import { Role } from '../../core/auth/permissions.js';
import { PrincipalEvents } from '../../core/auth/principal-events.js';
import { RequestContext } from '../../core/context/request-context.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { pageOf, type Page } from '../../core/http/pagination.js';
import { TenantStatus } from '../../core/identity/tenant.entity.js';
import { TenantError, TenantErrorCode, tenantNotFound } from '../../core/identity/tenant.errors.js';
import { type ProvisionedTenant, TenantProvisioning } from '../../core/identity/tenant-provisioning.service.js';
import { TenantScope } from '../../core/identity/tenant-scope.service.js';
import { TenantsRepository } from '../../core/identity/tenants.repository.js';
import { UsersRepository } from '../../core/identity/users.repository.js';
import type { CreateTenantDto, ListTenantsQuery, UpdateTenantDto } from './dto/tenant.dto.js';
import { TenantDto, type TenantStatisticsDto } from './dto/tenant.dto.js';

@Injectable()
export class TenantsService {
  constructor(
    private readonly tenants: TenantsRepository,
    private readonly users: UsersRepository,
    private readonly scope: TenantScope,
    private readonly context: RequestContext,
    private readonly provisioning: TenantProvisioning,
    private readonly uow: UnitOfWork,
    private readonly events: PrincipalEvents,
    private readonly hooks: LifecycleHooks,
  ) {}

  /** A tenant, its first admin and its key, committed as one unit. */
  create(input: CreateTenantDto): Promise<ProvisionedTenant> {
    return this.provisioning.createWithAdmin(input);
  }

  async list(query: ListTenantsQuery): Promise<Page<TenantDto>> {
    const { limit, offset } = pageOf(query);
    const [rows, total] = await this.tenants.list({ status: query.status, search: query.search, limit, offset });
    return { items: rows.map(TenantDto.from), total, limit, offset };
  }

  async get(id: string): Promise<TenantDto> {
    return TenantDto.from(await this.scope.visible(id));
  }

  current(): Promise<TenantDto> {
    if (!this.context.hasTenant) {
      throw new TenantError(TenantErrorCode.TENANT_REQUIRED, 'Super admins have no current tenant.');
    }
    return this.get(this.context.tenantId);
  }

  async update(id: string, patch: UpdateTenantDto): Promise<TenantDto> {
    const superAdmin = this.context.principal.role === Role.SUPER_ADMIN;
    if (!superAdmin && patch.slug !== undefined) {
      throw new TenantError(TenantErrorCode.TENANT_FIELD_FORBIDDEN, 'Only super admins may change the slug.');
    }
    await this.uow.run(async () => {
      const tenant = await this.scope.visible(id);
      if (patch.slug !== undefined && patch.slug !== tenant.slug && (await this.tenants.slugTaken(patch.slug))) {
        throw new TenantError(TenantErrorCode.TENANT_SLUG_TAKEN, `The slug ${patch.slug} is taken.`);
      }
      await this.tenants.update(id, patch);
      this.events.changed({ tenantId: id });
    });
    return this.get(id);
  }

  async remove(id: string, hard: boolean): Promise<void> {
    await this.uow.run(async () => {
      const tenant = await this.tenants.findById(id);
      if (!tenant || (tenant.status === TenantStatus.DELETED && !hard)) throw tenantNotFound();
      if (hard) await this.tenants.purge(id);
      else await this.tenants.update(id, { status: TenantStatus.DELETED, deletedAt: new Date() });
      this.events.changed({ tenantId: id });
    });
  }

  async suspend(id: string, reason: string): Promise<TenantDto> {
    await this.setStatus(id, TenantStatus.ACTIVE, { status: TenantStatus.SUSPENDED, statusReason: reason });
    return this.get(id);
  }

  async reactivate(id: string): Promise<TenantDto> {
    await this.setStatus(id, TenantStatus.SUSPENDED, { status: TenantStatus.ACTIVE, statusReason: null });
    return this.get(id);
  }

  async statistics(id: string): Promise<TenantStatisticsDto> {
    return this.scope.inVisible(id, async (tenant) => {
      const users = await this.users.countByRoleAndStatus();
      const usage = await this.hooks.usageFigures();
      return {
        tenantId: tenant.id,
        totalUsers: users.reduce((n, r) => n + r.count, 0),
        users,
        ...(usage && { usage }),
      };
    });
  }

  private async setStatus(
    id: string,
    from: TenantStatus,
    to: { status: TenantStatus; statusReason: string | null },
  ): Promise<void> {
    await this.uow.run(async () => {
      const tenant = await this.scope.visible(id);
      const locked = await this.tenants.lock(tenant.id);
      if (locked!.status !== from) {
        throw new TenantError(TenantErrorCode.TENANT_STATE_CONFLICT, `The tenant is ${locked!.status}.`);
      }
      await this.tenants.update(id, to);
      this.events.changed({ tenantId: id });
    });
  }
}
