import { Injectable } from '@nestjs/common';
import { PlatformRepository } from '../database/platform.repository.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import type { TokenPurpose } from './one-time-token.entity.js';
import { Tenant } from './tenant.entity.js';
import { User } from './user.entity.js';
import { queryRows } from '../database/query-rows.js';

/** What the key path needs to decide, in one query: the key, its tenant and its owner. */
export interface KeyLookup {
  id: string;
  tenant_id: string;
  user_id: string | null;
  kind: 'personal' | 'tenant';
  prefix: string;
  scopes: string[];
  knowledge_base_ids: string[] | null;
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

export interface TokenOwner {
  tenantId: string;
  userId: string;
}

/**
 * The one explicitly unscoped repository over tenant-owned tables: the lookups
 * that must run before the tenant is known — sign-in by e-mail, an API key by
 * its digest, a mailed one-time token by its digest. Everything it returns names
 * its tenant; what follows runs scoped to that tenant.
 */
@Injectable()
export class IdentityLookupRepository extends PlatformRepository<User> {
  constructor(uow: UnitOfWork) {
    super(User, uow);
  }

  /** Live (not deleted) accounts with this e-mail, in every live tenant or in the one with `tenantSlug`. */
  findUsersByEmail(email: string, tenantSlug?: string): Promise<User[]> {
    return this.run((users) => {
      const qb = users
        .createQueryBuilder('u')
        .innerJoin(Tenant, 't', 't.id = u.tenant_id')
        .where('lower(u.email) = lower(:email)', { email })
        .andWhere('u.deleted_at IS NULL')
        .andWhere(`t.status <> 'deleted'`);
      if (tenantSlug) qb.andWhere('t.slug = :slug', { slug: tenantSlug.toLowerCase() });
      return qb.orderBy('u.created_at', 'ASC').getMany();
    });
  }

  async findApiKeyByDigest(keyHash: string): Promise<KeyLookup | undefined> {
    const rows: KeyLookup[] = await this.run((_users, manager) =>
      manager.query(
        `SELECT k.id, k.tenant_id, k.user_id, k.kind, k.prefix, k.scopes, k.knowledge_base_ids, k.expires_at, k.revoked_at,
                t.status AS tenant_status, t.name AS tenant_name, t.slug AS tenant_slug,
                t.status_reason AS tenant_status_reason, t.settings AS tenant_settings,
                t.created_at AS tenant_created_at, t.updated_at AS tenant_updated_at,
                u.email AS user_email, u.name AS user_name, u.role AS user_role, u.status AS user_status,
                u.deleted_at AS user_deleted_at
           FROM api_keys k
           JOIN tenants t ON t.id = k.tenant_id
           LEFT JOIN users u ON u.tenant_id = k.tenant_id AND u.id = k.user_id
          WHERE k.key_hash = $1`,
        [keyHash],
      ),
    );
    return rows[0];
  }

  /** Uses a mailed token up; returns whose it was, or null when unknown, used, expired or of another purpose. */
  async consumeOneTimeToken(tokenHash: string, purpose: TokenPurpose): Promise<TokenOwner | null> {
    const [row] = await this.run((_users, manager) =>
      queryRows<{ tenant_id: string; user_id: string }>(
        manager,
        `UPDATE one_time_tokens SET used_at = now()
          WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
          RETURNING tenant_id, user_id`,
        [tokenHash, purpose],
      ),
    );
    return row ? { tenantId: row.tenant_id, userId: row.user_id } : null;
  }

  /** Looks at a token without using it (to validate an invitation before the rest of the request). */
  async peekOneTimeToken(tokenHash: string, purpose: TokenPurpose): Promise<TokenOwner | null> {
    const rows: { tenant_id: string; user_id: string }[] = await this.run((_users, manager) =>
      manager.query(
        `SELECT tenant_id, user_id FROM one_time_tokens
          WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()`,
        [tokenHash, purpose],
      ),
    );
    return rows[0] ? { tenantId: rows[0].tenant_id, userId: rows[0].user_id } : null;
  }
}
