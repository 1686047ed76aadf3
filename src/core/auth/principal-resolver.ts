import { Injectable } from '@nestjs/common';
import { type Principal, type PrincipalProfile, RequestContext } from '../context/request-context.js';
import { AuthError, AuthErrorCode, suspended } from '../identity/auth.errors.js';
import { PlatformAdminsRepository } from '../identity/platform-admins.repository.js';
import { SessionsRepository } from '../identity/sessions.repository.js';
import { type Tenant, TenantStatus } from '../identity/tenant.entity.js';
import { TenantsRepository } from '../identity/tenants.repository.js';
import { UserStatus } from '../identity/user.entity.js';
import { UsersRepository } from '../identity/users.repository.js';
import { permissionsOf, Role } from './permissions.js';
import { PrincipalCache } from './principal-cache.js';
import type { AccessClaims } from './token.service.js';

const cacheKey = (claims: AccessClaims) =>
  `jwt:${claims.knd}:${claims.tid ?? '-'}:${claims.sub}:${claims.ver}:${claims.sid ?? '-'}`;

const invalid = () => new AuthError(AuthErrorCode.TOKEN_INVALID, 'The access token is invalid or expired.');

export function tenantProfile(tenant: Tenant): PrincipalProfile['tenant'] {
  return {
    id: tenant.id,
    name: tenant.name,
    slug: tenant.slug,
    status: tenant.status,
    statusReason: tenant.statusReason,
    settings: tenant.settings,
    createdAt: tenant.createdAt,
    updatedAt: tenant.updatedAt,
  };
}

/**
 * Turns a verified access token into a principal: the subject, its tenant and
 * its sign-in are checked against the database, and the result is cached
 * briefly under (subject, token version, sign-in), so most signed-in requests
 * need no database round trip. Any change to the user, tenant or sign-in drops
 * the entry (PrincipalEvents).
 */
@Injectable()
export class PrincipalResolver {
  constructor(
    private readonly cache: PrincipalCache<Principal>,
    private readonly context: RequestContext,
    private readonly users: UsersRepository,
    private readonly tenants: TenantsRepository,
    private readonly admins: PlatformAdminsRepository,
    private readonly sessions: SessionsRepository,
  ) {}

  /** The principal of a token resolved moments ago (no I/O), or undefined. */
  cached(claims: AccessClaims): Principal | undefined {
    return this.cache.get(cacheKey(claims));
  }

  async forAccessToken(claims: AccessClaims): Promise<Principal> {
    const key = cacheKey(claims);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const ticket = this.cache.ticket();
    if (claims.sid && !(await this.sessions.familyLive(claims.sid))) throw invalid();
    if (claims.knd === 'platform_admin') {
      const admin = await this.admins.findById(claims.sub);
      if (!admin || admin.tokenVersion !== claims.ver) throw invalid();
      const principal: Principal = {
        kind: 'platform_admin',
        subject: admin.id,
        userId: admin.id,
        sessionId: claims.sid,
        role: Role.SUPER_ADMIN,
        permissions: new Set(permissionsOf(Role.SUPER_ADMIN)),
        profile: { user: { id: admin.id, email: admin.email, name: admin.name, role: Role.SUPER_ADMIN }, tenant: null },
      };
      this.cache.set(key, principal, { platformAdminId: admin.id, sessionId: claims.sid }, ticket);
      return principal;
    }
    const tenantId = claims.tid!;
    const tenant = await this.tenants.findById(tenantId);
    if (!tenant || tenant.status === TenantStatus.DELETED) throw invalid();
    if (tenant.status === TenantStatus.SUSPENDED) throw suspended();
    const user = await this.context.runInTenant(tenantId, () => this.users.findById(claims.sub));
    if (!user || user.tokenVersion !== claims.ver || user.status !== UserStatus.ACTIVE) throw invalid();
    const role = user.role as unknown as Role;
    const principal: Principal = {
      kind: 'user',
      subject: user.id,
      userId: user.id,
      homeTenantId: tenant.id,
      sessionId: claims.sid,
      role,
      permissions: new Set(permissionsOf(role)),
      profile: { user: { id: user.id, email: user.email, name: user.name, role }, tenant: tenantProfile(tenant) },
    };
    this.cache.set(key, principal, { tenantId: tenant.id, userId: user.id, sessionId: claims.sid }, ticket);
    return principal;
  }
}
