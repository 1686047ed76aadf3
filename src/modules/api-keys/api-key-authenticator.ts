import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { permissionsOf, type Permission, Role, TENANT_APP_PERMISSIONS } from '../../common/auth/permissions.js';
import { PrincipalCache } from '../../common/auth/principal-cache.js';
import type { Principal } from '../../common/context/request-context.js';
import { suspended } from '../auth/auth.errors.js';
import { hashApiKey, isWellFormedApiKey } from './api-key-format.js';
import { ApiKeyError, ApiKeyErrorCode } from './api-keys.errors.js';
import { ApiKeysRepository, type KeyLookup } from './api-keys.repository.js';

const LAST_USED_FLUSH_MS = 10_000;

interface CachedKey {
  principal: Principal;
  /** When the key stops working (expiry or the end of a regeneration grace period). */
  endsAt: number | null;
}

/**
 * Resolves an API key to a principal. The digest lookup is cached for
 * PrincipalCache.TTL_MS; last-used times are kept in memory and written in
 * batches, so the key path makes no database write per request.
 */
@Injectable()
export class ApiKeyAuthenticator implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ApiKeys');
  private readonly lastUsed = new Map<string, { tenantId: string; id: string; at: Date }>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly keys: ApiKeysRepository,
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

  async authenticate(rawKey: string): Promise<Principal> {
    if (!isWellFormedApiKey(rawKey)) {
      throw new ApiKeyError(ApiKeyErrorCode.API_KEY_MALFORMED, 'The API key is malformed.');
    }
    const hash = hashApiKey(rawKey);
    const now = Date.now();
    let cached = this.cache.get(`key:${hash}`, now);
    if (!cached) {
      const row = await this.keys.lookupByHash(hash);
      if (!row) throw new ApiKeyError(ApiKeyErrorCode.API_KEY_INVALID, 'The API key is not valid.');
      cached = this.resolve(row, now);
      this.cache.set(`key:${hash}`, cached, now);
    }
    if (cached.endsAt !== null && cached.endsAt <= now) {
      throw new ApiKeyError(ApiKeyErrorCode.API_KEY_EXPIRED, 'The API key has expired.');
    }
    const { principal } = cached;
    this.lastUsed.set(principal.apiKey!.id, {
      tenantId: principal.tenantId!,
      id: principal.apiKey!.id,
      at: new Date(now),
    });
    return principal;
  }

  /** Writes pending last-used times; called on a timer and at shutdown. */
  async flushLastUsed(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const uses = [...this.lastUsed.values()];
    this.lastUsed.clear();
    try {
      await this.keys.touch(uses);
    } catch (err) {
      this.logger.warn({ message: `Could not record API key use: ${(err as Error).message}` });
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
    const apiKey = { id: row.id, prefix: row.prefix };
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
    const scopes = new Set(row.scopes as Permission[]);
    if (row.kind === 'tenant') {
      const permissions = new Set(TENANT_APP_PERMISSIONS.filter((p) => scopes.size === 0 || scopes.has(p)));
      return {
        endsAt,
        principal: {
          kind: 'tenant_app',
          tenantId: row.tenant_id,
          userId: row.id,
          role: 'tenant_app',
          permissions,
          apiKey,
          profile: { user: null, tenant },
        },
      };
    }
    if (!row.user_role || row.user_status !== 'active' || row.user_deleted_at) {
      throw new ApiKeyError(ApiKeyErrorCode.API_KEY_REVOKED, "The API key's owner is no longer active.");
    }
    const role = row.user_role as Role;
    // A key never grants more than its owner holds now.
    const permissions = new Set(permissionsOf(role).filter((p) => scopes.has(p)));
    return {
      endsAt,
      principal: {
        kind: 'user',
        tenantId: row.tenant_id,
        userId: row.user_id!,
        role,
        permissions,
        apiKey,
        profile: { user: { id: row.user_id!, email: row.user_email!, name: row.user_name!, role }, tenant },
      },
    };
  }
}
