import { Permission, type Role } from '../auth/permissions.js';

export type PrincipalKind = 'user' | 'platform_admin' | 'tenant_app' | 'system';

/** Who is making the request, set once by the authentication guard (or by runInTenantContext for jobs). */
export interface Principal {
  /** A tenant user (JWT or personal key), a platform admin, a tenant's app (tenant key), or a background job. */
  kind: PrincipalKind;
  /** Who acts, stable across requests: the user's or admin's id, the tenant key's id, or the job's name. */
  subject: string;
  /** The person behind the request (tenant user or platform admin); absent for tenant apps and jobs. */
  userId?: string;
  /**
   * The tenant the principal belongs to. Data access never reads this: it reads
   * the request context's tenant (RequestContext.tenantId), which starts out as
   * this one and which super-admin routes and jobs set explicitly.
   */
  homeTenantId?: string;
  /** Set when the request authenticated with an API key. */
  apiKeyId?: string;
  keyPrefix?: string;
  /** When the key used stops working (null: never); a key cannot create one that outlives it. */
  keyExpiresAt?: Date | null;
  /** The knowledge bases an API key is limited to (absent or null: every base its permissions reach). */
  knowledgeBaseIds?: string[] | null;
  /** The sign-in (refresh-token family) a JWT was issued to; revoking it ends the access token too. */
  sessionId?: string;
  role: Role | 'tenant_app' | 'system';
  permissions: ReadonlySet<Permission>;
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
  } | null;
}

/** The principal of background work: it acts for the platform, never for a person. */
export function systemPrincipal(job: string, tenantId?: string): Principal {
  return { kind: 'system', subject: job, homeTenantId: tenantId, role: 'system', permissions: new Set() };
}

/** Whether the principal acts for the whole tenant (its app, a super admin, a tenant admin, its background jobs), not only for itself. */
export function actsForTenant(principal: Principal): boolean {
  return (
    principal.kind === 'tenant_app' ||
    principal.kind === 'system' ||
    principal.kind === 'platform_admin' ||
    (principal.kind === 'user' && principal.permissions.has(Permission.USERS_WRITE))
  );
}

/** Whether the principal may act on what belongs to `userId`: its own, or anything when it acts for the tenant. */
export function mayActFor(principal: Principal, userId: string | null): boolean {
  return actsForTenant(principal) || (principal.kind === 'user' && principal.userId === userId);
}
