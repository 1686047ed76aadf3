import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Role } from '../../common/auth/permissions.js';
import { RequestContext } from '../../common/context/request-context.js';
import { pageOf, type Page } from '../../common/http/pagination.js';
import { PrincipalCache } from '../../common/auth/principal-cache.js';
import { ApiKeysService } from '../api-keys/api-keys.service.js';
import type { CreatedApiKeyDto } from '../api-keys/dto/api-key.dto.js';
import type { User } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import type { CreateTenantDto, ListTenantsQuery, UpdateTenantDto } from './dto/tenant.dto.js';
import { TenantDto, type TenantStatisticsDto } from './dto/tenant.dto.js';
import { type Tenant, TenantStatus } from './tenant.entity.js';
import { TenantError, TenantErrorCode, tenantNotFound } from './tenants.errors.js';
import { TenantScope } from './tenant-scope.service.js';
import { TenantsRepository } from './tenants.repository.js';

function slugify(name: string): string {
  const base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/g, '');
  return base || 'tenant';
}

@Injectable()
export class TenantsService {
  constructor(
    private readonly tenants: TenantsRepository,
    private readonly scope: TenantScope,
    private readonly users: UsersService,
    private readonly context: RequestContext,
    private readonly apiKeys: ApiKeysService,
    private readonly cache: PrincipalCache,
  ) {}

  /** Creates a tenant and its first tenant admin (with a password, or invited); nothing remains if either fails. */
  async createWithAdmin(
    input: Pick<CreateTenantDto, 'name' | 'slug' | 'admin'>,
  ): Promise<{ tenant: Tenant; admin: User; apiKey: CreatedApiKeyDto }> {
    const slug = await this.freeSlug(input.name, input.slug);
    const tenant = await this.tenants.create({ name: input.name, slug });
    try {
      const { password, ...profile } = input.admin;
      const admin = await this.context.runInTenant(tenant.id, () =>
        password === undefined
          ? this.users.inviteUser({ ...profile, role: Role.TENANT_ADMIN })
          : this.users.createUser({ ...profile, password, role: Role.TENANT_ADMIN }),
      );
      const apiKey = await this.context.runInTenant(tenant.id, () => this.apiKeys.createTenantKey());
      return { tenant, admin, apiKey };
    } catch (err) {
      await this.tenants.purge(tenant.id);
      throw err;
    }
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
    const tenantId = this.context.principal.tenantId;
    if (!tenantId) throw new TenantError(TenantErrorCode.TENANT_REQUIRED, 'Super admins have no current tenant.');
    return this.get(tenantId);
  }

  async update(id: string, patch: UpdateTenantDto): Promise<TenantDto> {
    const tenant = await this.scope.visible(id);
    const superAdmin = this.context.principal.role === Role.SUPER_ADMIN;
    if (!superAdmin && patch.slug !== undefined) {
      throw new TenantError(TenantErrorCode.TENANT_FIELD_FORBIDDEN, 'Only super admins may change the slug.');
    }
    if (patch.slug !== undefined && patch.slug !== tenant.slug && (await this.tenants.slugTaken(patch.slug))) {
      throw new TenantError(TenantErrorCode.TENANT_SLUG_TAKEN, `The slug ${patch.slug} is taken.`);
    }
    await this.tenants.update(id, patch);
    this.cache.clear();
    return this.get(id);
  }

  async remove(id: string, hard: boolean): Promise<void> {
    const tenant = await this.tenants.findById(id);
    if (!tenant || (tenant.status === TenantStatus.DELETED && !hard)) throw tenantNotFound();
    if (hard) await this.tenants.purge(id);
    else await this.tenants.update(id, { status: TenantStatus.DELETED, deletedAt: new Date() });
    this.cache.clear();
  }

  async suspend(id: string, reason: string): Promise<TenantDto> {
    const tenant = await this.scope.visible(id);
    if (tenant.status !== TenantStatus.ACTIVE) {
      throw new TenantError(TenantErrorCode.TENANT_STATE_CONFLICT, `The tenant is ${tenant.status}.`);
    }
    await this.tenants.update(id, { status: TenantStatus.SUSPENDED, statusReason: reason });
    this.cache.clear();
    return this.get(id);
  }

  async reactivate(id: string): Promise<TenantDto> {
    const tenant = await this.scope.visible(id);
    if (tenant.status !== TenantStatus.SUSPENDED) {
      throw new TenantError(TenantErrorCode.TENANT_STATE_CONFLICT, `The tenant is ${tenant.status}.`);
    }
    await this.tenants.update(id, { status: TenantStatus.ACTIVE, statusReason: null });
    this.cache.clear();
    return this.get(id);
  }

  async statistics(id: string): Promise<TenantStatisticsDto> {
    const tenant = await this.scope.visible(id);
    const users = await this.context.runInTenant(tenant.id, () => this.users.countByRoleAndStatus());
    return { tenantId: tenant.id, totalUsers: users.reduce((n, r) => n + r.count, 0), users };
  }

  private async freeSlug(name: string, requested?: string): Promise<string> {
    if (requested) {
      if (await this.tenants.slugTaken(requested)) {
        throw new TenantError(TenantErrorCode.TENANT_SLUG_TAKEN, `The slug ${requested} is taken.`);
      }
      return requested;
    }
    const base = slugify(name);
    if (!(await this.tenants.slugTaken(base))) return base;
    return `${base}-${randomBytes(3).toString('hex')}`;
  }
}
