export enum Role {
  SUPER_ADMIN = 'super_admin',
  TENANT_ADMIN = 'tenant_admin',
  MEMBER = 'member',
  VIEWER = 'viewer',
}

export const TENANT_ROLES = [Role.TENANT_ADMIN, Role.MEMBER, Role.VIEWER] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];

export enum Permission {
  /** One's own account: who am I, one's own user record and permissions. */
  PROFILE_READ = 'profile:read',
  /** One's own account: name, password, sessions (sign out, sign out everywhere), verification mail. */
  PROFILE_WRITE = 'profile:write',
  TENANT_READ = 'tenant:read',
  TENANT_MANAGE = 'tenant:manage',
  USERS_READ = 'users:read',
  USERS_WRITE = 'users:write',
  KEYS_READ = 'keys:read',
  KEYS_WRITE = 'keys:write',
  USAGE_READ = 'usage:read',
  /** Reserve and commit metered usage, report usage events (tenant apps metering their own features). */
  USAGE_WRITE = 'usage:write',
  /** The catalog of active plans. */
  PLANS_READ = 'plans:read',
  /** The tenant's subscription, credits, ledger, statements and cost reports. */
  BILLING_READ = 'billing:read',
  /** The tenant's default user quotas and users' own quotas. */
  BILLING_WRITE = 'billing:write',
  /** Call the generation gateway (chat, embeddings, images, video) and read one's own generations. */
  GENERATION_USE = 'generation:use',
  /** Read knowledge bases, their documents and statistics, and search them. */
  KNOWLEDGE_READ = 'knowledge:read',
  /** Create and change knowledge bases and their documents. */
  KNOWLEDGE_WRITE = 'knowledge:write',
  /** Platform-wide: create, suspend and delete tenants; act inside any tenant. */
  PLATFORM_MANAGE = 'platform:manage',
}

/** The one table from roles to permissions. A role can grant or assign only what it holds. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  [Role.SUPER_ADMIN]: Object.values(Permission),
  [Role.TENANT_ADMIN]: [
    Permission.PROFILE_READ,
    Permission.PROFILE_WRITE,
    Permission.TENANT_READ,
    Permission.TENANT_MANAGE,
    Permission.USERS_READ,
    Permission.USERS_WRITE,
    Permission.KEYS_READ,
    Permission.KEYS_WRITE,
    Permission.USAGE_READ,
    Permission.USAGE_WRITE,
    Permission.PLANS_READ,
    Permission.BILLING_READ,
    Permission.BILLING_WRITE,
    Permission.GENERATION_USE,
    Permission.KNOWLEDGE_READ,
    Permission.KNOWLEDGE_WRITE,
  ],
  [Role.MEMBER]: [
    Permission.PROFILE_READ,
    Permission.PROFILE_WRITE,
    Permission.TENANT_READ,
    Permission.KEYS_READ,
    Permission.KEYS_WRITE,
    Permission.USAGE_READ,
    Permission.USAGE_WRITE,
    Permission.PLANS_READ,
    Permission.GENERATION_USE,
    Permission.KNOWLEDGE_READ,
    Permission.KNOWLEDGE_WRITE,
  ],
  [Role.VIEWER]: [
    Permission.PROFILE_READ,
    Permission.PROFILE_WRITE,
    Permission.TENANT_READ,
    Permission.USAGE_READ,
    Permission.PLANS_READ,
    Permission.KNOWLEDGE_READ,
  ],
};

/** What a tenant's own API key (the tenant app) may do: it has no account, so only `profile:read` (GET /auth/me). */
export const TENANT_APP_PERMISSIONS: readonly Permission[] = [
  Permission.PROFILE_READ,
  Permission.TENANT_READ,
  Permission.USAGE_READ,
  Permission.USAGE_WRITE,
  Permission.PLANS_READ,
  Permission.GENERATION_USE,
  Permission.KNOWLEDGE_READ,
];

export function permissionsOf(role: Role): readonly Permission[] {
  return ROLE_PERMISSIONS[role];
}

/** True when every permission of `role` is also held by `holder` (no privilege escalation by assignment). */
export function canAssignRole(holder: Role, role: Role): boolean {
  const held = new Set(ROLE_PERMISSIONS[holder]);
  return ROLE_PERMISSIONS[role].every((p) => held.has(p));
}
