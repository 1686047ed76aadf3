import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type Repository } from 'typeorm';
import { OneTimeToken, TokenPurpose } from './one-time-token.entity.js';

export const TOKEN_TTL_SECONDS: Record<TokenPurpose, number> = {
  [TokenPurpose.INVITATION]: 7 * 24 * 3600,
  [TokenPurpose.PASSWORD_RESET]: 3600,
  [TokenPurpose.EMAIL_VERIFICATION]: 3 * 24 * 3600,
};

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Single-use, expiring tokens sent by mail, stored only as digests. Looking one
 * up is how the tenant becomes known (the caller is not signed in), so each
 * method names the tenant or the token explicitly.
 */
@Injectable()
export class OneTimeTokenService {
  constructor(@InjectRepository(OneTimeToken) private readonly tokens: Repository<OneTimeToken>) {}

  /** Issues a new token for the user and purpose; earlier unused ones of that purpose stop working. */
  async issue(tenantId: string, userId: string, purpose: TokenPurpose): Promise<string> {
    await this.tokens.update({ tenantId, userId, purpose, usedAt: IsNull() }, { usedAt: new Date() });
    const token = `atr_ot_${randomBytes(32).toString('base64url')}`;
    await this.tokens.insert({
      tenantId,
      id: randomUUID(),
      userId,
      purpose,
      tokenHash: digest(token),
      expiresAt: new Date(Date.now() + TOKEN_TTL_SECONDS[purpose] * 1000),
    });
    return token;
  }

  /** Uses the token up; returns whose it was, or null when unknown, used, expired or of another purpose. */
  async consume(token: string, purpose: TokenPurpose): Promise<{ tenantId: string; userId: string } | null> {
    const rows = await this.tokens.query(
      `UPDATE one_time_tokens SET used_at = now()
        WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
        RETURNING tenant_id, user_id`,
      [digest(token), purpose],
    );
    const [row] = (rows as [{ tenant_id: string; user_id: string }[], number])[0] ?? [];
    return row ? { tenantId: row.tenant_id, userId: row.user_id } : null;
  }

  /** Looks at a token without using it (to validate an invitation before the rest of the request). */
  async peek(token: string, purpose: TokenPurpose): Promise<{ tenantId: string; userId: string } | null> {
    const row = await this.tokens
      .createQueryBuilder('t')
      .where('t.token_hash = :hash AND t.purpose = :purpose AND t.used_at IS NULL AND t.expires_at > now()', {
        hash: digest(token),
        purpose,
      })
      .getOne();
    return row ? { tenantId: row.tenantId, userId: row.userId } : null;
  }
}
