import { Injectable } from '@nestjs/common';
import { AsyncContext } from './async-context.js';
import { type Principal, systemPrincipal } from './principal.js';

export type { Principal, PrincipalKind, PrincipalProfile } from './principal.js';
import { CommonError, CommonErrorCode } from '../errors/app-error.js';

/**
 * The request's principal and tenant, kept in AsyncLocalStorage (AsyncContext).
 * Getters fail closed: reading the tenant where none is set throws instead of
 * returning undefined.
 */
@Injectable()
export class RequestContext {
  setPrincipal(principal: Principal): void {
    const store = AsyncContext.current();
    if (!store) throw new Error('No request context: the principal cannot be set');
    store.principal = principal;
    if (principal.homeTenantId) store.tenantId = principal.homeTenantId;
  }

  get principal(): Principal {
    const principal = AsyncContext.current()?.principal;
    if (!principal) throw new CommonError(CommonErrorCode.UNAUTHORIZED, 'Authentication is required.');
    return principal;
  }

  get hasPrincipal(): boolean {
    return AsyncContext.current()?.principal !== undefined;
  }

  /** The tenant every tenant-owned query is scoped to. Throws when none is set. */
  get tenantId(): string {
    const tenantId = AsyncContext.current()?.tenantId;
    if (!tenantId) throw new Error('No tenant in the request context: tenant-owned data cannot be reached');
    return tenantId;
  }

  get hasTenant(): boolean {
    return AsyncContext.current()?.tenantId !== undefined;
  }

  get requestId(): string | undefined {
    return AsyncContext.current()?.requestId;
  }

  /** Runs `fn` acting in `tenantId` (super-admin routes, sign-in before a principal exists). */
  runInTenant<T>(tenantId: string, fn: () => T): T {
    return AsyncContext.fork({ tenantId }, fn);
  }

  /**
   * Runs background work in a fresh context of its own: a system principal
   * named `job` acting in `tenantId` (or in no tenant, for platform-wide work).
   */
  runInTenantContext<T>(tenantId: string | undefined, fn: () => Promise<T>, job = 'background'): Promise<T> {
    return AsyncContext.run({ principal: systemPrincipal(job, tenantId), tenantId }, fn);
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated principal, for the access log line. */
    principal?: Principal;
  }
}
