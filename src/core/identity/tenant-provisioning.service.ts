import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Role } from '../auth/permissions.js';
import { RequestContext } from '../context/request-context.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import { ApiKeyIssuer, type IssuedApiKey } from './api-key-issuer.service.js';
import { LifecycleHooks } from './lifecycle-hooks.js';
import { PasswordService } from './password.service.js';
import type { Tenant } from './tenant.entity.js';
import { TenantError, TenantErrorCode } from './tenant.errors.js';
import { TenantsRepository } from './tenants.repository.js';
import type { User } from './user.entity.js';
import { UserAccountsService } from './user-accounts.service.js';

export interface NewTenant {
  name: string;
  slug?: string;
  admin: { email: string; name: string; password?: string };
}

export interface ProvisionedTenant {
  tenant: Tenant;
  admin: User;
  apiKey: IssuedApiKey;
}

export function slugify(name: string): string {
  const base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/g, '');
  return base || 'tenant';
}

/**
 * Creates a tenant with its first admin (with a password, or invited by mail)
 * and its tenant key, as one unit of work: either all of it commits or none of
 * it does, and the invitation mail goes out only after the commit. Modules
 * that keep per-tenant state (the subscription) add theirs through LifecycleHooks.
 */
@Injectable()
export class TenantProvisioning {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly context: RequestContext,
    private readonly tenants: TenantsRepository,
    private readonly accounts: UserAccountsService,
    private readonly passwords: PasswordService,
    private readonly keys: ApiKeyIssuer,
    private readonly hooks: LifecycleHooks,
  ) {}

  /** `verifyEmail`: also mail the admin an address-verification token (sign-up), in the same unit. */
  async createWithAdmin(input: NewTenant, options: { verifyEmail?: boolean } = {}): Promise<ProvisionedTenant> {
    const { password, ...profile } = input.admin;
    // Hashing takes a while: do it before the transaction holds any lock.
    const passwordHash = password === undefined ? undefined : await this.passwords.hashNew(password);
    return this.uow.run(async () => {
      const slug = await this.freeSlug(input.name, input.slug);
      const tenant = await this.tenants.create({ name: input.name, slug });
      return this.context.runInTenant(tenant.id, async () => {
        const admin =
          passwordHash === undefined
            ? await this.accounts.inviteUser({ ...profile, role: Role.TENANT_ADMIN })
            : await this.accounts.createUser({ ...profile, passwordHash, role: Role.TENANT_ADMIN });
        const apiKey = await this.keys.issueTenantKey();
        await this.hooks.tenantCreated(tenant);
        if (options.verifyEmail && passwordHash !== undefined) await this.accounts.sendVerification(admin);
        return { tenant, admin, apiKey };
      });
    });
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
