import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { RequestContext } from '../context/request-context.js';
import { TenantScopedRepository } from '../database/tenant-scoped.repository.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import { ApiKey } from './api-key.entity.js';

@Injectable()
export class ApiKeysRepository extends TenantScopedRepository<ApiKey> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(ApiKey, uow, context);
  }

  create(values: Omit<ApiKey, 'tenantId' | 'id' | 'createdAt' | 'lastUsedAt' | 'revokedAt'>): Promise<ApiKey> {
    return this.insertOne({ ...values, id: randomUUID(), lastUsedAt: null, revokedAt: null });
  }

  /** How many of `ids` name knowledge bases of the tenant (a key may be limited only to those). */
  async countKnowledgeBases(ids: string[]): Promise<number> {
    const [{ n }] = await this.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM knowledge_bases WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
      [ids],
    );
    return n;
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

  /** Records when keys were last used (batched by the authenticator, one tenant at a time). */
  async touch(uses: { id: string; at: Date }[]): Promise<void> {
    for (const use of uses) await this.updateWhere({ id: use.id }, { lastUsedAt: use.at });
  }
}
