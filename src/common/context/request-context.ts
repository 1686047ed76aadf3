import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { Permission, Role } from '../auth/permissions.js';
import { CommonError, CommonErrorCode } from '../errors/app-error.js';

/** Who is making the request, set once by the authentication guard. */
export interface Principal {
  /** A person (JWT or personal key), a platform admin, or a tenant's app (tenant key). */
  kind: 'user' | 'platform_admin' | 'tenant_app';
  /** Undefined only for platform (super) admins acting outside a tenant. */
  tenantId?: string;
  /** The user; for a tenant app, the key's id. */
  userId: string;
  role: Role | 'tenant_app';
  permissions: ReadonlySet<Permission>;
  /** Set when the request authenticated with an API key. */
  apiKey?: { id: string; prefix: string };
  /** Who the principal is, as read when it was resolved (lets GET /auth/me answer without a query). */
  profile?: PrincipalProfile;
}

export interface PrincipalProfile {
  user: { id: string; email: string; name: string; role: string } | null;
  tenant: {
    id: string;
    name: string;
    slug: string;
    status: string;
    statusReason: string | null;
    settings: Record<string, unknown>;
    createdAt: Date;
    updatedAt: Date;
  };
}

const PRINCIPAL = 'principal';
const TENANT = 'tenantId';

/**
 * The request's principal and tenant, kept in AsyncLocalStorage. Getters fail
 * closed: reading the tenant where none is set throws instead of returning undefined.
 */
@Injectable()
export class RequestContext {
  constructor(private readonly cls: ClsService) {}

  setPrincipal(principal: Principal): void {
    this.cls.set(PRINCIPAL, principal);
    if (principal.tenantId) this.cls.set(TENANT, principal.tenantId);
  }

  get principal(): Principal {
    const principal = this.cls.isActive() ? this.cls.get<Principal>(PRINCIPAL) : undefined;
    if (!principal) throw new CommonError(CommonErrorCode.UNAUTHORIZED, 'Authentication is required.');
    return principal;
  }

  get hasPrincipal(): boolean {
    return this.cls.isActive() && this.cls.get(PRINCIPAL) !== undefined;
  }

  /** The tenant every tenant-owned query is scoped to. Throws when no tenant is set. */
  get tenantId(): string {
    const tenantId = this.cls.isActive() ? this.cls.get<string>(TENANT) : undefined;
    if (!tenantId) throw new Error('No tenant in the request context: tenant-owned data cannot be reached');
    return tenantId;
  }

  /** Runs `fn` with the tenant set explicitly (super-admin routes, background jobs). */
  runInTenant<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
    return this.cls.run({ ifNested: 'inherit' }, () => {
      this.cls.set(TENANT, tenantId);
      return fn();
    });
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated principal, for the access log line. */
    principal?: Principal;
  }
}
