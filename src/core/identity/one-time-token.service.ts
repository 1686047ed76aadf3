import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { IdentityLookupRepository, type TokenOwner } from './identity-lookup.repository.js';
import { TokenPurpose } from './one-time-token.entity.js';
import { OneTimeTokensRepository } from './one-time-tokens.repository.js';

export const TOKEN_TTL_SECONDS: Record<TokenPurpose, number> = {
  [TokenPurpose.INVITATION]: 7 * 24 * 3600,
  [TokenPurpose.PASSWORD_RESET]: 3600,
  [TokenPurpose.EMAIL_VERIFICATION]: 3 * 24 * 3600,
};

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/** Single-use, expiring tokens sent by mail, stored only as digests. */
@Injectable()
export class OneTimeTokenService {
  constructor(
    private readonly tokens: OneTimeTokensRepository,
    private readonly lookup: IdentityLookupRepository,
  ) {}

  /** Issues a token for a user of the current tenant; earlier unused ones of that purpose stop working. */
  async issue(userId: string, purpose: TokenPurpose): Promise<string> {
    const token = `atr_ot_${randomBytes(32).toString('base64url')}`;
    await this.tokens.replace(userId, purpose, digest(token), new Date(Date.now() + TOKEN_TTL_SECONDS[purpose] * 1000));
    return token;
  }

  /** Uses the token up; returns whose it was, or null when unknown, used, expired or of another purpose. */
  consume(token: string, purpose: TokenPurpose): Promise<TokenOwner | null> {
    return this.lookup.consumeOneTimeToken(digest(token), purpose);
  }

  /** Looks at a token without using it. */
  peek(token: string, purpose: TokenPurpose): Promise<TokenOwner | null> {
    return this.lookup.peekOneTimeToken(digest(token), purpose);
  }
}
