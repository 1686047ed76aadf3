import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { RequestContext } from '../context/request-context.js';
import { TenantScopedRepository } from '../database/tenant-scoped.repository.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import { OneTimeToken, type TokenPurpose } from './one-time-token.entity.js';

/** Issuing single-use tokens inside the tenant; redeeming them (tenant unknown) is IdentityLookupRepository's. */
@Injectable()
export class OneTimeTokensRepository extends TenantScopedRepository<OneTimeToken> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(OneTimeToken, uow, context);
  }

  /** Stores a new token digest; earlier unused tokens of the user for the purpose stop working. */
  async replace(userId: string, purpose: TokenPurpose, tokenHash: string, expiresAt: Date): Promise<void> {
    await this.updateWhere({ userId, purpose, usedAt: IsNull() }, { usedAt: new Date() });
    await this.insertOne({ id: randomUUID(), userId, purpose, tokenHash, expiresAt, usedAt: null });
  }
}
