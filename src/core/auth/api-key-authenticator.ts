import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { type Principal, RequestContext } from '../context/request-context.js';
import { hashApiKey, isWellFormedApiKey } from '../identity/api-key-format.js';
import { ApiKeyError, ApiKeyErrorCode } from '../identity/api-key.errors.js';
import { ApiKeysRepository } from '../identity/api-keys.repository.js';
import { suspended } from '../identity/auth.errors.js';
import { IdentityLookupRepository, type KeyLookup } from '../identity/identity-lookup.repository.js';
import { permissionsOf, type Permission, Role, TENANT_APP_PERMISSIONS } from './permissions.js';
import { PrincipalCache } from './principal-cache.js';

const LAST_USED_FLUSH_MS = 10_000;

interface CachedKey {
  principal: Principal;
  /** When the key stops working (expiry or the end of a regeneration grace period). */
  endsAt: number | null;
}

/**
 * Resolves an API key to a principal. The digest lookup is cached (PrincipalCache);
 * last-used times are kept in memory and written in batches, so the key path
 * makes no database write per request.
 */
@Injectable()
export class ApiKeyAuthenticator implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ApiKeys');
  private readonly lastUsed = new Map<string, { tenantId: string; id: string; at: number }>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly lookup: IdentityLookupRepository,
    private readonly keys: ApiKeysRepository,
    private readonly context: RequestContext,
    private readonly cache: PrincipalCache<CachedKey>,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flushLastUsed(), LAST_USED_FLUSH_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flushLastUsed();
  }

  /**
   * The principal of a key resolved moments ago (no I/O), or undefined when the
   * key must be looked up. Throws when the cached key has expired since.
   */
  cached(rawKey: string, now = Date.now()): Principal | undefined {
    const cached = this.cache.get(`key:${rawKey}`, now);
    return cached && this.use(cached, now);
  }

  /**
   * The in-memory cache is keyed by the key itself, which saves hashing it on
   * every request; it lives only in this process, for the cache TTL. Storage
   * and lookups use the SHA-256 digest only.
   */
  async authenticate(rawKey: string): Promise<Principal> {
    const now = Date.now();
    const cacheKey = `key:${rawKey}`;
    let cached = this.cache.get(cacheKey, now);
    if (!cached) {
      // Only well-formed keys are ever cached, so the checksum is checked once, before hashing and the lookup.
      if (!isWellFormedApiKey(rawKey)) {
        throw new ApiKeyError(ApiKeyErrorCode.API_KEY_MALFORMED, 'The API key is malformed.');
      }
      const hash = hashApiKey(rawKey);
      const ticket = this.cache.ticket();
      const row = await this.lookup.findApiKeyByDigest(hash);
      if (!row) throw new ApiKeyError(ApiKeyErrorCode.API_KEY_INVALID, 'The API key is not valid.');
      cached = this.resolve(row, now);
      this.cache.set(
        cacheKey,
        cached,
        { tenantId: row.tenant_id, apiKeyId: row.id, userId: row.user_id ?? undefined },
        ticket,
        now,
      );
    }
    return this.use(cached, now);
  }

  private use(cached: CachedKey, now: number): Principal {
    if (cached.endsAt !== null && cached.endsAt <= now) {
      throw new ApiKeyError(ApiKeyErrorCode.API_KEY_EXPIRED, 'The API key has expired.');
    }
    const { principal } = cached;
    this.lastUsed.set(principal.apiKeyId!, { tenantId: principal.homeTenantId!, id: principal.apiKeyId!, at: now });
    return principal;
  }

  /** Writes pending last-used times, one tenant at a time; called on a timer and at shutdown. */
  async flushLastUsed(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const byTenant = new Map<string, { id: string; at: Date }[]>();
    for (const use of this.lastUsed.values()) {
      byTenant.set(use.tenantId, [...(byTenant.get(use.tenantId) ?? []), { id: use.id, at: new Date(use.at) }]);
    }
    this.lastUsed.clear();
    for (const [tenantId, uses] of byTenant) {
      try {
        await this.context.runInTenantContext(tenantId, () => this.keys.touch(uses), 'api-key-last-used');
      } catch (err) {
        this.logger.warn({ message: `Could not record API key use: ${(err as Error).message}` });
      }
    }
  }

  private resolve(row: KeyLookup, now: number): CachedKey {
    if (row.revoked_at && row.revoked_at.getTime() <= now) {
      throw new ApiKeyError(ApiKeyErrorCode.API_KEY_REVOKED, 'The API key has been revoked.');
    }
    if (row.tenant_status === 'deleted')
      throw new ApiKeyError(ApiKeyErrorCode.API_KEY_INVALID, 'The API key is not valid.');
    if (row.tenant_status === 'suspended') throw suspended();
    const ends = [row.expires_at, row.revoked_at].filter((d): d is Date => d !== null).map((d) => d.getTime());
    const endsAt = ends.length > 0 ? Math.min(...ends) : null;
    const key = {
      apiKeyId: row.id,
      keyPrefix: row.prefix,
      keyExpiresAt: endsAt === null ? null : new Date(endsAt),
      knowledgeBaseIds: row.knowledge_base_ids,
    };
    const tenant = {
      id: row.tenant_id,
      name: row.tenant_name,
      slug: row.tenant_slug,
      status: row.tenant_status,
      statusReason: row.tenant_status_reason,
      settings: row.tenant_settings,
      createdAt: new Date(row.tenant_created_at),
      updatedAt: new Date(row.tenant_updated_at),
    };
    if (row.kind === 'tenant') {
      return {
        endsAt,
        principal: {
          kind: 'tenant_app',
          subject: row.id,
          homeTenantId: row.tenant_id,
          ...key,
          role: 'tenant_app',
          permissions: new Set(TENANT_APP_PERMISSIONS),
          profile: { user: null, tenant },
        },
      };
    }
    if (!row.user_role || row.user_status !== 'active' || row.user_deleted_at) {
      throw new ApiKeyError(ApiKeyErrorCode.API_KEY_REVOKED, "The API key's owner is no longer active.");
    }
    const role = row.user_role as Role;
    const scopes = new Set(row.scopes as Permission[]);
    // A key never grants more than its owner holds now.
    const permissions = new Set(permissionsOf(role).filter((p) => scopes.has(p)));
    return {
      endsAt,
      principal: {
        kind: 'user',
        subject: row.user_id!,
        userId: row.user_id!,
        homeTenantId: row.tenant_id,
        ...key,
        role,
        permissions,
        profile: { user: { id: row.user_id!, email: row.user_email!, name: row.user_name!, role }, tenant },
      },
    };
  }
}
