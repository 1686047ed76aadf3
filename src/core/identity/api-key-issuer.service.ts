import { Injectable } from '@nestjs/common';
import { TENANT_APP_PERMISSIONS } from '../auth/permissions.js';
import type { ApiKey } from './api-key.entity.js';
import { generateApiKey } from './api-key-format.js';
import { ApiKeysRepository } from './api-keys.repository.js';

export interface IssuedApiKey {
  row: ApiKey;
  /** The full key: returned to the caller once, never stored. */
  secret: string;
}

/** Creates keys in the current tenant; only the digest and a visible prefix are stored. */
@Injectable()
export class ApiKeyIssuer {
  constructor(private readonly keys: ApiKeysRepository) {}

  async issue(
    values: Pick<ApiKey, 'kind' | 'userId' | 'name' | 'scopes' | 'expiresAt'> &
      Partial<Pick<ApiKey, 'knowledgeBaseIds'>>,
  ): Promise<IssuedApiKey> {
    const { key, prefix, hash } = generateApiKey();
    const row = await this.keys.create({ knowledgeBaseIds: null, ...values, prefix, keyHash: hash });
    return { row, secret: key };
  }

  /** The key a tenant's app uses; created with the tenant and replaced by regeneration. */
  issueTenantKey(): Promise<IssuedApiKey> {
    return this.issue({
      kind: 'tenant',
      userId: null,
      name: 'Tenant key',
      scopes: [...TENANT_APP_PERMISSIONS],
      expiresAt: null,
    });
  }
}
