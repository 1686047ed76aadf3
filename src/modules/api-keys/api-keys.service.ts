import { Injectable } from '@nestjs/common';
import { Permission, TENANT_APP_PERMISSIONS } from '../../common/auth/permissions.js';
import { PrincipalCache } from '../../common/auth/principal-cache.js';
import { RequestContext } from '../../common/context/request-context.js';
import { CommonError, CommonErrorCode } from '../../common/errors/app-error.js';
import { AuthError, AuthErrorCode } from '../auth/auth.errors.js';
import { TenantError, TenantErrorCode } from '../tenants/tenants.errors.js';
import type { ApiKey } from './api-key.entity.js';
import { generateApiKey } from './api-key-format.js';
import { ApiKeyError, ApiKeyErrorCode, apiKeyNotFound } from './api-keys.errors.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { ApiKeyDto, type CreateApiKeyDto, type CreatedApiKeyDto } from './dto/api-key.dto.js';

@Injectable()
export class ApiKeysService {
  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly context: RequestContext,
    private readonly cache: PrincipalCache,
  ) {}

  /** A personal key of the caller; its scopes must be a subset of the caller's permissions. */
  async createPersonal(input: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const principal = this.tenantPrincipal();
    if (principal.kind !== 'user') {
      throw new ApiKeyError(ApiKeyErrorCode.API_KEY_OWNER_REQUIRED, 'Personal keys belong to a tenant user.');
    }
    const held = [...principal.permissions];
    const scopes = input.scopes ?? held;
    const missing = scopes.filter((s) => !principal.permissions.has(s));
    if (missing.length > 0) {
      throw new ApiKeyError(ApiKeyErrorCode.SCOPE_NOT_HELD, `You do not hold: ${missing.join(', ')}.`);
    }
    const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new CommonError(CommonErrorCode.VALIDATION_FAILED, 'expiresAt must be in the future.', {
        errors: [{ field: 'expiresAt', messages: ['expiresAt must be in the future'] }],
      });
    }
    return this.issue({ kind: 'personal', userId: principal.userId, name: input.name, scopes, expiresAt });
  }

  /** The key a tenant's app uses; created with the tenant. */
  createTenantKey(): Promise<CreatedApiKeyDto> {
    return this.issue({
      kind: 'tenant',
      userId: null,
      name: 'Tenant key',
      scopes: [...TENANT_APP_PERMISSIONS],
      expiresAt: null,
    });
  }

  /** A new tenant key; the old one works `graceSeconds` longer (0: refused at once). */
  async regenerateTenantKey(graceSeconds: number): Promise<CreatedApiKeyDto> {
    const until = new Date(Date.now() + graceSeconds * 1000);
    for (const old of await this.keys.activeTenantKeys()) {
      if (graceSeconds === 0) await this.keys.revoke(old.id);
      else if (!old.expiresAt || old.expiresAt > until) await this.keys.expire(old.id, until);
    }
    this.cache.clear();
    return this.createTenantKey();
  }

  async list(all: boolean): Promise<ApiKeyDto[]> {
    const principal = this.tenantPrincipal();
    if (all) {
      if (!principal.permissions.has(Permission.USERS_WRITE)) {
        throw new AuthError(AuthErrorCode.PERMISSION_DENIED, 'Only tenant admins may list every key.');
      }
      return (await this.keys.listAll()).map(ApiKeyDto.from);
    }
    return (await this.keys.listForUser(principal.userId)).map(ApiKeyDto.from);
  }

  async get(id: string): Promise<ApiKeyDto> {
    return ApiKeyDto.from(await this.visible(id));
  }

  async revoke(id: string): Promise<void> {
    const key = await this.visible(id);
    await this.keys.revoke(key.id);
    this.cache.clear();
  }

  /** Owners see their keys; tenant admins every key of the tenant. Anything else is 404. */
  private async visible(id: string): Promise<ApiKey> {
    const principal = this.tenantPrincipal();
    const key = await this.keys.findById(id);
    if (!key) throw apiKeyNotFound();
    if (key.userId !== principal.userId && !principal.permissions.has(Permission.USERS_WRITE)) throw apiKeyNotFound();
    return key;
  }

  /** Keys are tenant-owned: super admins, who belong to no tenant, have none. */
  private tenantPrincipal() {
    const principal = this.context.principal;
    if (!principal.tenantId) {
      throw new TenantError(TenantErrorCode.TENANT_REQUIRED, 'API keys belong to a tenant; super admins have none.');
    }
    return principal;
  }

  private async issue(
    values: Pick<ApiKey, 'kind' | 'userId' | 'name' | 'scopes' | 'expiresAt'>,
  ): Promise<CreatedApiKeyDto> {
    const { key, prefix, hash } = generateApiKey();
    const row = await this.keys.create({ ...values, prefix, keyHash: hash });
    return { ...ApiKeyDto.from(row), key };
  }
}
