import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { type Principal, RequestContext } from '../context/request-context.js';
import { looksLikeApiKey } from '../identity/api-key-format.js';
import { ApiKeyError, ApiKeyErrorCode } from '../identity/api-key.errors.js';
import { AuthError, AuthErrorCode } from '../identity/auth.errors.js';
import { ApiKeyAuthenticator } from './api-key-authenticator.js';
import { AUTH_REQUIREMENT, type RouteRequirement } from './auth.decorators.js';
import { JwtPassportGuard } from './jwt.strategy.js';
import { Role } from './permissions.js';

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

/**
 * The global guard, deny by default: a route must declare @Public() or
 * @Authenticated({ permission | superAdmin }); anything undeclared is refused.
 * Credentials are an API key (X-API-Key, or a bearer value with the key
 * prefix) or an access token (passport-jwt). The principal is resolved from a
 * short-lived cache that every change to who may do what invalidates.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly context: RequestContext,
    private readonly apiKeys: ApiKeyAuthenticator,
    private readonly jwt: JwtPassportGuard,
  ) {}

  canActivate(execution: ExecutionContext): boolean | Promise<boolean> {
    const requirement = this.reflector.getAllAndOverride<RouteRequirement | undefined>(AUTH_REQUIREMENT, [
      execution.getHandler(),
      execution.getClass(),
    ]);
    if (requirement && 'public' in requirement) return true;
    return this.authenticate(execution, requirement);
  }

  private async authenticate(execution: ExecutionContext, requirement: RouteRequirement | undefined): Promise<boolean> {
    const request = execution.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    refuseKeysInQuery(request);
    const apiKeyHeader = request.headers['x-api-key'];
    const header = request.headers.authorization;
    const bearer = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    let principal: Principal;
    if (typeof apiKeyHeader === 'string') principal = await this.apiKeys.authenticate(apiKeyHeader);
    else if (bearer && looksLikeApiKey(bearer)) principal = await this.apiKeys.authenticate(bearer);
    else if (bearer) {
      await this.jwt.canActivate(execution);
      principal = request.user!;
    } else {
      throw new AuthError(
        AuthErrorCode.UNAUTHENTICATED,
        'Send `Authorization: Bearer <token or API key>` or `X-API-Key`.',
      );
    }
    this.context.setPrincipal(principal);
    request.principal = principal;

    if (!requirement || 'public' in requirement) throw denied('a declared permission (this route declares none)');
    if (requirement.superAdmin) {
      if (principal.role !== Role.SUPER_ADMIN) throw denied('super_admin');
    } else if (!principal.permissions.has(requirement.permission)) {
      throw denied(requirement.permission);
    }
    return true;
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
