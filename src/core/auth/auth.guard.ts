import { timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { type Principal, RequestContext } from '../context/request-context.js';
import { looksLikeApiKey } from '../identity/api-key-format.js';
import { ApiKeyError, ApiKeyErrorCode } from '../identity/api-key.errors.js';
import { AuthError, AuthErrorCode } from '../identity/auth.errors.js';
import { ApiKeyAuthenticator } from './api-key-authenticator.js';
import { AUTH_REQUIREMENT, type RouteRequirement } from './auth.decorators.js';
import { JwtPassportGuard, type VerifiedPrincipal } from './jwt.strategy.js';
import { Role } from './permissions.js';
import { PrincipalResolver } from './principal-resolver.js';
import { VerifiedTokens } from './verified-tokens.js';

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

/**
 * The global guard, deny by default: a route must declare @Public() or
 * @Authenticated({ permission | superAdmin }); anything undeclared is refused.
 * Credentials are an API key (X-API-Key, or a bearer value with the key
 * prefix) or an access token, verified by passport-jwt the first time this
 * instance sees it (VerifiedTokens). The principal is resolved from a
 * short-lived cache that every change to who may do what invalidates.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly context: RequestContext,
    private readonly apiKeys: ApiKeyAuthenticator,
    private readonly jwt: JwtPassportGuard,
    private readonly verified: VerifiedTokens,
    private readonly principals: PrincipalResolver,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.metricsToken = config.http.metricsToken ? Buffer.from(config.http.metricsToken) : undefined;
  }

  private readonly metricsToken?: Buffer;

  /**
   * Synchronous when the credentials were resolved moments ago (the common
   * case), so an authenticated request costs no promise of its own here.
   */
  canActivate(execution: ExecutionContext): boolean | Promise<boolean> {
    const requirement = this.reflector.getAllAndOverride<RouteRequirement | undefined>(AUTH_REQUIREMENT, [
      execution.getHandler(),
      execution.getClass(),
    ]);
    if (requirement && 'public' in requirement) {
      return requirement.identify ? this.identify(execution) : true;
    }
    const request = execution.switchToHttp().getRequest<AuthRequest>();
    refuseKeysInQuery(request);
    const credentials = credentialsOf(request);
    if (requirement?.metricsToken && credentials.kind === 'token' && this.isMetricsToken(credentials.value)) {
      return true;
    }
    const cached = this.cachedPrincipal(credentials);
    if (cached) return this.admit(cached, requirement, request);
    return this.resolve(credentials, execution, request).then((principal) =>
      this.admit(principal, requirement, request),
    );
  }

  private isMetricsToken(value: string): boolean {
    const expected = this.metricsToken;
    if (!expected) return false;
    const given = Buffer.from(value);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Public routes that answer more to some callers: resolve credentials if sent, ignore them if bad. */
  private async identify(execution: ExecutionContext): Promise<true> {
    const request = execution.switchToHttp().getRequest<AuthRequest>();
    const credentials = credentialsOf(request);
    if (credentials.kind === 'none') return true;
    try {
      const principal = this.cachedPrincipal(credentials) ?? (await this.resolve(credentials, execution, request));
      this.context.setPrincipal(principal);
      request.principal = principal;
    } catch {
      // Anonymous, then: a public route never answers 401.
    }
    return true;
  }

  private cachedPrincipal(credentials: Credentials): Principal | undefined {
    if (credentials.kind === 'key') return this.apiKeys.cached(credentials.value);
    if (credentials.kind === 'token') {
      const claims = this.verified.get(credentials.value);
      return claims && this.principals.cached(claims);
    }
    return undefined;
  }

  private async resolve(
    credentials: Credentials,
    execution: ExecutionContext,
    request: AuthRequest,
  ): Promise<Principal> {
    if (credentials.kind === 'key') return this.apiKeys.authenticate(credentials.value);
    if (credentials.kind === 'none') {
      throw new AuthError(
        AuthErrorCode.UNAUTHENTICATED,
        'Send `Authorization: Bearer <token or API key>` or `X-API-Key`.',
      );
    }
    const token = credentials.value;
    const claims = this.verified.get(token);
    if (claims) return this.principals.forAccessToken(claims);
    await this.jwt.canActivate(execution);
    const { claims: verifiedClaims, principal } = request.user!;
    this.verified.add(token, verifiedClaims);
    return principal;
  }

  private admit(principal: Principal, requirement: RouteRequirement | undefined, request: AuthRequest): true {
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

type AuthRequest = FastifyRequest & { user?: VerifiedPrincipal };
type Credentials = { kind: 'key' | 'token'; value: string } | { kind: 'none' };

/** X-API-Key, or a bearer value: an API key when it has the key prefix, otherwise an access token. */
function credentialsOf(request: FastifyRequest): Credentials {
  const apiKeyHeader = request.headers['x-api-key'];
  if (typeof apiKeyHeader === 'string') return { kind: 'key', value: apiKeyHeader };
  const header = request.headers.authorization;
  const bearer = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
  if (!bearer) return { kind: 'none' };
  return { kind: looksLikeApiKey(bearer) ? 'key' : 'token', value: bearer };
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
