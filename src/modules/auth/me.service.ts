import { Injectable } from '@nestjs/common';
import { RequestContext } from '../../common/context/request-context.js';
import { TenantDto } from '../tenants/dto/tenant.dto.js';
import type { Tenant } from '../tenants/tenant.entity.js';
import { AuthRepository } from './auth.repository.js';
import type { SignedIn } from './auth.service.js';
import type { MeDto, PrincipalUserDto, SignedInDto } from './dto/auth.dto.js';
import { AuthError, AuthErrorCode } from './auth.errors.js';

/** Describes principals for responses; only public fields leave the service. */
@Injectable()
export class MeService {
  constructor(
    private readonly repo: AuthRepository,
    private readonly context: RequestContext,
  ) {}

  signedIn({ subject, ...tokens }: SignedIn): SignedInDto {
    const account = subject.user ?? subject.admin!;
    const role = subject.user ? subject.user.role : 'super_admin';
    return { ...tokens, user: { id: account.id, email: account.email, name: account.name, role } };
  }

  async describe(): Promise<MeDto> {
    const principal = this.context.principal;
    const gone = () => new AuthError(AuthErrorCode.TOKEN_INVALID, 'The account no longer exists.');
    let user: PrincipalUserDto | null = null;
    let tenant: TenantDto | null = null;
    if (principal.profile) {
      // Resolved moments ago with the key (and dropped from the cache whenever it changes here).
      user = principal.profile.user;
      tenant = TenantDto.from(principal.profile.tenant as Tenant);
    } else if (principal.kind === 'tenant_app') {
      const foundTenant = await this.repo.findTenant(principal.tenantId!);
      if (!foundTenant) throw gone();
      tenant = TenantDto.from(foundTenant);
    } else if (principal.kind === 'platform_admin') {
      const admin = await this.repo.findPlatformAdmin(principal.userId);
      if (!admin) throw gone();
      user = { id: admin.id, email: admin.email, name: admin.name, role: principal.role };
    } else {
      const [found, foundTenant] = await Promise.all([
        this.repo.findUser(principal.tenantId!, principal.userId),
        this.repo.findTenant(principal.tenantId!),
      ]);
      if (!found || !foundTenant) throw gone();
      user = { id: found.id, email: found.email, name: found.name, role: found.role };
      tenant = TenantDto.from(foundTenant);
    }
    return {
      kind: principal.kind,
      user,
      tenant,
      role: principal.role,
      permissions: [...principal.permissions].sort(),
      apiKey: principal.apiKey ?? null,
    };
  }
}
