import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type Repository } from 'typeorm';
import { RequestContext } from '../../common/context/request-context.js';
import { TenantScopedRepository } from '../../common/database/tenant-scoped.repository.js';
import { ApiKey } from './api-key.entity.js';

/** What the key path needs to decide, in one query: the key, its tenant and its owner. */
export interface KeyLookup {
  id: string;
  tenant_id: string;
  user_id: string | null;
  kind: 'personal' | 'tenant';
  prefix: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  tenant_status: string;
  tenant_name: string;
  tenant_slug: string;
  tenant_status_reason: string | null;
  tenant_settings: Record<string, unknown>;
  tenant_created_at: Date;
  tenant_updated_at: Date;
  user_email: string | null;
  user_name: string | null;
  user_role: string | null;
  user_status: string | null;
  user_deleted_at: Date | null;
}

@Injectable()
export class ApiKeysRepository extends TenantScopedRepository<ApiKey> {
  constructor(@InjectRepository(ApiKey) repository: Repository<ApiKey>, context: RequestContext) {
    super(repository, context);
  }

  /** Authentication: the key is found by its digest before any tenant is known. */
  async lookupByHash(keyHash: string): Promise<KeyLookup | undefined> {
    const rows: KeyLookup[] = await this.repository.query(
      `SELECT k.id, k.tenant_id, k.user_id, k.kind, k.prefix, k.scopes, k.expires_at, k.revoked_at,
              t.status AS tenant_status, t.name AS tenant_name, t.slug AS tenant_slug,
              t.status_reason AS tenant_status_reason, t.settings AS tenant_settings,
              t.created_at AS tenant_created_at, t.updated_at AS tenant_updated_at,
              u.email AS user_email, u.name AS user_name, u.role AS user_role, u.status AS user_status, u.deleted_at AS user_deleted_at
         FROM api_keys k
         JOIN tenants t ON t.id = k.tenant_id
         LEFT JOIN users u ON u.tenant_id = k.tenant_id AND u.id = k.user_id
        WHERE k.key_hash = $1`,
      [keyHash],
    );
    return rows[0];
  }

  /** Writes batched last-used times (one statement per key, outside any request). */
  async touch(uses: { tenantId: string; id: string; at: Date }[]): Promise<void> {
    for (const use of uses) {
      await this.repository.update({ tenantId: use.tenantId, id: use.id }, { lastUsedAt: use.at });
    }
  }

  create(values: Omit<ApiKey, 'tenantId' | 'id' | 'createdAt' | 'lastUsedAt' | 'revokedAt'>): Promise<ApiKey> {
    return this.insertOne({ ...values, id: randomUUID(), lastUsedAt: null, revokedAt: null });
  }

  findById(id: string): Promise<ApiKey | null> {
    return this.findOne({ id });
  }

  listForUser(userId: string): Promise<ApiKey[]> {
    return this.find({ where: { userId, kind: 'personal' }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  listAll(): Promise<ApiKey[]> {
    return this.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async revoke(id: string, at: Date = new Date()): Promise<void> {
    await this.updateWhere({ id, revokedAt: IsNull() }, { revokedAt: at });
  }

  /** The tenant key(s) still in force: the current one and any in its grace period. */
  activeTenantKeys(): Promise<ApiKey[]> {
    return this.find({ where: { kind: 'tenant', revokedAt: IsNull() } });
  }

  async expire(id: string, at: Date): Promise<void> {
    await this.updateWhere({ id }, { expiresAt: at });
  }
}
