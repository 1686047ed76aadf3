import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import type { SubjectKind } from './auth-session.entity.js';
import { AuthError, AuthErrorCode } from './auth.errors.js';
import { AuthRepository } from './auth.repository.js';

export const JWT_ALGORITHM = 'HS256';
export const JWT_ISSUER = 'atrium';
export const JWT_AUDIENCE = 'atrium-api';

/** What an access token carries; everything else is read fresh on each request. */
export interface AccessClaims {
  sub: string;
  /** Tenant of a user; absent for a platform admin. */
  tid?: string;
  knd: SubjectKind;
  /** The subject's token version when issued; a bump revokes every older token. */
  ver: number;
}

export interface Subject {
  kind: SubjectKind;
  id: string;
  tenantId?: string;
  tokenVersion: number;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

@Injectable()
export class TokenService {
  constructor(
    private readonly jwt: JwtService,
    private readonly auth: AuthRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Issues an access token and a refresh token; `familyId` continues a rotation chain. */
  async issue(subject: Subject, familyId: string = randomUUID()): Promise<IssuedTokens> {
    const claims: AccessClaims = { sub: subject.id, knd: subject.kind, ver: subject.tokenVersion };
    if (subject.tenantId) claims.tid = subject.tenantId;
    const accessToken = await this.jwt.signAsync(claims, {
      algorithm: JWT_ALGORITHM,
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      expiresIn: this.config.auth.accessTtlSeconds,
    });
    const refreshToken = `atr_rt_${randomBytes(32).toString('base64url')}`;
    await this.auth.insertSession({
      familyId,
      subjectKind: subject.kind,
      subjectId: subject.id,
      tenantId: subject.tenantId ?? null,
      tokenHash: hashToken(refreshToken),
      expiresAt: new Date(Date.now() + this.config.auth.refreshTtlSeconds * 1000),
    });
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: this.config.auth.accessTtlSeconds };
  }

  /** Verifies signature, algorithm, issuer, audience and expiry; any failure is the same 401. */
  async verifyAccess(token: string): Promise<AccessClaims> {
    try {
      const claims = await this.jwt.verifyAsync<AccessClaims>(token, {
        algorithms: [JWT_ALGORITHM],
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
      });
      if (typeof claims.sub !== 'string' || typeof claims.ver !== 'number') throw new Error('malformed claims');
      if (claims.knd !== 'user' && claims.knd !== 'platform_admin') throw new Error('malformed claims');
      if (claims.knd === 'user' && typeof claims.tid !== 'string') throw new Error('malformed claims');
      return claims;
    } catch {
      throw new AuthError(AuthErrorCode.TOKEN_INVALID, 'The access token is invalid or expired.');
    }
  }
}
