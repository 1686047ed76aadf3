import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AUTH_REQUIREMENT, type AuthRequirement } from '../../common/auth/auth.decorators.js';
import { permissionsOf, Role } from '../../common/auth/permissions.js';
import { type Principal, RequestContext } from '../../common/context/request-context.js';
import { TenantStatus } from '../tenants/tenant.entity.js';
import { UserStatus } from '../users/user.entity.js';
import { AuthError, AuthErrorCode, suspended } from './auth.errors.js';
import { AuthRepository } from './auth.repository.js';
import { TokenService } from './token.service.js';
import { ApiKeyAuthenticator } from '../api-keys/api-key-authenticator.js';
import { looksLikeApiKey } from '../api-keys/api-key-format.js';
import { ApiKeyError, ApiKeyErrorCode } from '../api-keys/api-keys.errors.js';

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

/**
 * The global guard: every route requires a valid principal unless marked
 * @Public(). The principal is rebuilt from the database on each request, so
 * disabling a user, changing a password, suspending or deleting a tenant take
 * effect at once rather than at token expiry.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly repo: AuthRepository,
    private readonly context: RequestContext,
    private readonly apiKeys: ApiKeyAuthenticator,
  ) {}

  async canActivate(execution: ExecutionContext): Promise<boolean> {
    const requirement =
      this.reflector.getAllAndOverride<AuthRequirement | undefined>(AUTH_REQUIREMENT, [
        execution.getHandler(),
        execution.getClass(),
      ]) ?? {};
    if (requirement.public) return true;

    const request = execution.switchToHttp().getRequest<FastifyRequest>();
    refuseKeysInQuery(request);
    const apiKeyHeader = request.headers['x-api-key'];
    const header = request.headers.authorization;
    const bearer = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    let principal: Principal;
    if (typeof apiKeyHeader === 'string') principal = await this.apiKeys.authenticate(apiKeyHeader);
    else if (bearer && looksLikeApiKey(bearer)) principal = await this.apiKeys.authenticate(bearer);
    else if (bearer) principal = await this.principalFor(bearer);
    else {
      throw new AuthError(
        AuthErrorCode.UNAUTHENTICATED,
        'Send `Authorization: Bearer <token or API key>` or `X-API-Key`.',
      );
    }
    this.context.setPrincipal(principal);
    request.principal = principal;

    if (requirement.superAdmin && principal.role !== Role.SUPER_ADMIN) throw denied('super_admin');
    if (requirement.permission && !principal.permissions.has(requirement.permission))
      throw denied(requirement.permission);
    return true;
  }

  private async principalFor(token: string): Promise<Principal> {
    const claims = await this.tokens.verifyAccess(token);
    const invalid = () => new AuthError(AuthErrorCode.TOKEN_INVALID, 'The access token is invalid or expired.');
    if (claims.knd === 'platform_admin') {
      const admin = await this.repo.findPlatformAdmin(claims.sub);
      if (!admin || admin.tokenVersion !== claims.ver) throw invalid();
      return {
        kind: 'platform_admin',
        userId: admin.id,
        role: Role.SUPER_ADMIN,
        permissions: new Set(permissionsOf(Role.SUPER_ADMIN)),
      };
    }
    const [user, tenant] = await Promise.all([
      this.repo.findUser(claims.tid!, claims.sub),
      this.repo.findTenant(claims.tid!),
    ]);
    if (!user || !tenant || user.tokenVersion !== claims.ver || user.status !== UserStatus.ACTIVE) throw invalid();
    if (tenant.status === TenantStatus.DELETED) throw invalid();
    if (tenant.status === TenantStatus.SUSPENDED) throw suspended();
    const role = user.role as unknown as Role;
    return { kind: 'user', tenantId: tenant.id, userId: user.id, role, permissions: new Set(permissionsOf(role)) };
  }
}

/** Keys in URLs end up in logs and browser history, so they are refused outright. */
function refuseKeysInQuery(request: FastifyRequest): void {
  const query = (request.query ?? {}) as Record<string, unknown>;
  for (const value of Object.values(query)) {
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v === 'string' && looksLikeApiKey(v))) {
      throw new ApiKeyError(
        ApiKeyErrorCode.API_KEY_IN_QUERY,
        'API keys are not accepted in the query string; send them in a header.',
      );
    }
  }
}

function denied(what: string): AuthError {
  return new AuthError(AuthErrorCode.PERMISSION_DENIED, `This action requires ${what}.`);
}
