import { createHash, createSecretKey, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import type { SubjectKind } from '../identity/auth-session.entity.js';
import { SessionsRepository } from '../identity/sessions.repository.js';

export const JWT_ALGORITHM = 'HS256';
export const JWT_ISSUER = 'atrium';
export const JWT_AUDIENCE = 'atrium-api';

/** What an access token carries; everything else is read (and cached briefly) per request. */
export interface AccessClaims {
  sub: string;
  /** Tenant of a user; absent for a platform admin. */
  tid?: string;
  knd: SubjectKind;
  /** The subject's token version when issued; a bump revokes every older token. */
  ver: number;
  /** The sign-in (refresh-token family): revoking it (logout, reuse) ends this token too. */
  sid?: string;
  exp: number;
  iat: number;
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

/** The access-token signing key (JWT_SECRET, or the per-process secret the configuration generated). */
export class JwtSecret {
  readonly key: KeyObject;

  constructor(value: string) {
    // A key object, not the string: jsonwebtoken would otherwise rebuild it on every verification.
    this.key = createSecretKey(Buffer.from(value, 'utf8'));
  }
}

@Injectable()
export class TokenService {
  constructor(
    private readonly jwt: JwtService,
    private readonly sessions: SessionsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Issues an access token and a refresh token; `familyId` continues a rotation chain. */
  async issue(subject: Subject, familyId: string = randomUUID()): Promise<IssuedTokens> {
    const claims: Omit<AccessClaims, 'exp' | 'iat'> = {
      sub: subject.id,
      knd: subject.kind,
      ver: subject.tokenVersion,
      sid: familyId,
    };
    if (subject.tenantId) claims.tid = subject.tenantId;
    const accessToken = await this.jwt.signAsync(claims, {
      algorithm: JWT_ALGORITHM,
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      expiresIn: this.config.auth.accessTtlSeconds,
    });
    const refreshToken = `atr_rt_${randomBytes(32).toString('base64url')}`;
    await this.sessions.insert({
      familyId,
      subjectKind: subject.kind,
      subjectId: subject.id,
      tenantId: subject.tenantId ?? null,
      tokenHash: hashToken(refreshToken),
      expiresAt: new Date(Date.now() + this.config.auth.refreshTtlSeconds * 1000),
    });
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: this.config.auth.accessTtlSeconds };
  }
}
