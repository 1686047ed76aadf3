import { Injectable } from '@nestjs/common';
import { Permission } from '../../core/auth/permissions.js';
import { PrincipalEvents } from '../../core/auth/principal-events.js';
import { RequestContext } from '../../core/context/request-context.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { CommonError, CommonErrorCode } from '../../core/errors/app-error.js';
import type { ApiKey } from '../../core/identity/api-key.entity.js';
import { ApiKeyError, ApiKeyErrorCode, apiKeyNotFound } from '../../core/identity/api-key.errors.js';
import { ApiKeyIssuer, type IssuedApiKey } from '../../core/identity/api-key-issuer.service.js';
import { ApiKeysRepository } from '../../core/identity/api-keys.repository.js';
import { AuthError, AuthErrorCode } from '../../core/identity/auth.errors.js';
import { TenantScope } from '../../core/identity/tenant-scope.service.js';
import { TenantError, TenantErrorCode, tenantNotFound } from '../../core/identity/tenant.errors.js';
import { TenantsRepository } from '../../core/identity/tenants.repository.js';
import { ApiKeyDto, type CreateApiKeyDto, type CreatedApiKeyDto } from './dto/api-key.dto.js';

const created = ({ row, secret }: IssuedApiKey): CreatedApiKeyDto => ({ ...ApiKeyDto.from(row), key: secret });

@Injectable()
export class ApiKeysService {
  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly issuer: ApiKeyIssuer,
    private readonly tenants: TenantsRepository,
    private readonly scope: TenantScope,
    private readonly context: RequestContext,
    private readonly uow: UnitOfWork,
    private readonly events: PrincipalEvents,
  ) {}

  /**
   * A personal key of the caller. It can hold only permissions the caller holds
   * now, and when the caller is itself an expiring key, it cannot outlive it
   * (without `expiresAt` it inherits the caller's expiry).
   */
  async createPersonal(input: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const principal = this.tenantPrincipal();
    if (principal.kind !== 'user' || !principal.userId) {
      throw new ApiKeyError(ApiKeyErrorCode.API_KEY_OWNER_REQUIRED, 'Personal keys belong to a tenant user.');
    }
    const scopes = input.scopes ?? [...principal.permissions];
    const missing = scopes.filter((s) => !principal.permissions.has(s));
    if (missing.length > 0) {
      throw new ApiKeyError(ApiKeyErrorCode.SCOPE_NOT_HELD, `You do not hold: ${missing.join(', ')}.`);
    }
    const callerEnds = principal.keyExpiresAt ?? null;
    const expiresAt = input.expiresAt ? new Date(input.expiresAt) : callerEnds;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new CommonError(CommonErrorCode.VALIDATION_FAILED, 'expiresAt must be in the future.', {
        errors: [{ field: 'expiresAt', messages: ['expiresAt must be in the future'] }],
      });
    }
    if (callerEnds && (!expiresAt || expiresAt.getTime() > callerEnds.getTime())) {
      throw new ApiKeyError(
        ApiKeyErrorCode.EXPIRY_BEYOND_CREATOR,
        `A key cannot outlive the key that creates it (${callerEnds.toISOString()}).`,
      );
    }
    const knowledgeBaseIds = input.knowledgeBaseIds ?? principal.knowledgeBaseIds ?? null;
    const callerBases = principal.knowledgeBaseIds;
    if (callerBases && knowledgeBaseIds && knowledgeBaseIds.some((id) => !callerBases.includes(id))) {
      throw new ApiKeyError(ApiKeyErrorCode.SCOPE_NOT_HELD, 'A key cannot reach knowledge bases its creator cannot.');
    }
    const issued = await this.uow.run(async () => {
      if (
        input.knowledgeBaseIds &&
        (await this.keys.countKnowledgeBases(input.knowledgeBaseIds)) !== input.knowledgeBaseIds.length
      ) {
        throw new CommonError(CommonErrorCode.VALIDATION_FAILED, 'knowledgeBaseIds names an unknown knowledge base.', {
          errors: [{ field: 'knowledgeBaseIds', messages: ['each id must name a knowledge base of the tenant'] }],
        });
      }
      return this.issuer.issue({
        kind: 'personal',
        userId: principal.userId!,
        name: input.name,
        scopes,
        expiresAt,
        knowledgeBaseIds,
      });
    });
    return created(issued);
  }

  /**
   * Replaces a tenant's key (super admins any tenant, tenant admins their own).
   * The old key is refused at once, or after `graceSeconds`. Regenerations of one
   * tenant are serialised on its directory row, so only the last key issued stays live.
   */
  async regenerateTenantKey(tenantId: string, graceSeconds: number): Promise<CreatedApiKeyDto> {
    const tenant = await this.scope.visible(tenantId);
    const issued = await this.uow.run(async () => {
      if (!(await this.tenants.lock(tenant.id))) throw tenantNotFound();
      return this.context.runInTenant(tenant.id, async () => {
        const until = new Date(Date.now() + graceSeconds * 1000);
        for (const old of await this.keys.activeTenantKeys()) {
          if (graceSeconds === 0) await this.keys.revoke(old.id);
          else if (!old.expiresAt || old.expiresAt > until) await this.keys.expire(old.id, until);
          this.events.changed({ apiKeyId: old.id });
        }
        return this.issuer.issueTenantKey();
      });
    });
    return created(issued);
  }

  async list(all: boolean): Promise<ApiKeyDto[]> {
    const principal = this.tenantPrincipal();
    if (all) {
      if (!principal.permissions.has(Permission.USERS_WRITE)) {
        throw new AuthError(AuthErrorCode.PERMISSION_DENIED, 'Only tenant admins may list every key.');
      }
      return (await this.keys.listAll()).map(ApiKeyDto.from);
    }
    if (!principal.userId) return [];
    return (await this.keys.listForUser(principal.userId)).map(ApiKeyDto.from);
  }

  async get(id: string): Promise<ApiKeyDto> {
    return ApiKeyDto.from(await this.visible(id));
  }

  async revoke(id: string): Promise<void> {
    await this.uow.run(async () => {
      const key = await this.visible(id);
      await this.keys.revoke(key.id);
      this.events.changed({ apiKeyId: key.id });
    });
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
    if (!this.context.hasTenant) {
      throw new TenantError(TenantErrorCode.TENANT_REQUIRED, 'API keys belong to a tenant; super admins have none.');
    }
    return this.context.principal;
  }
}
