import { Inject, Injectable } from '@nestjs/common';
import { AuthGuard as PassportAuthGuard, PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { Principal } from '../context/request-context.js';
import { AuthError, AuthErrorCode } from '../identity/auth.errors.js';
import { PrincipalResolver } from './principal-resolver.js';
import { type AccessClaims, JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER, JwtSecret } from './token.service.js';

export const JWT_STRATEGY = 'jwt';

/** What the strategy hands the guard: the verified claims (for VerifiedTokens) and the principal. */
export interface VerifiedPrincipal {
  claims: AccessClaims;
  principal: Principal;
}

const invalid = () => new AuthError(AuthErrorCode.TOKEN_INVALID, 'The access token is invalid or expired.');

/** Claims a valid access token must carry; a validly signed token without `exp` or `iat` is refused. */
function accessClaims(payload: Record<string, unknown>): AccessClaims {
  const { sub, tid, knd, ver, sid, exp, iat } = payload;
  const ok =
    typeof sub === 'string' &&
    typeof ver === 'number' &&
    typeof exp === 'number' &&
    typeof iat === 'number' &&
    (sid === undefined || typeof sid === 'string') &&
    ((knd === 'user' && typeof tid === 'string') || (knd === 'platform_admin' && tid === undefined));
  if (!ok) throw invalid();
  return payload as unknown as AccessClaims;
}

/**
 * Access tokens through passport-jwt: HS256 only (no `none`, no key confusion),
 * issuer, audience and expiry checked by jsonwebtoken; then the claims are
 * checked and turned into a principal.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) {
  constructor(
    @Inject(JwtSecret) secret: JwtSecret,
    private readonly principals: PrincipalResolver,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // jsonwebtoken accepts a KeyObject; passport-jwt's types only name strings and buffers.
      secretOrKey: secret.key as unknown as string,
      algorithms: [JWT_ALGORITHM],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
    });
  }

  async validate(payload: Record<string, unknown>): Promise<VerifiedPrincipal> {
    const claims = accessClaims(payload);
    return { claims, principal: await this.principals.forAccessToken(claims) };
  }
}

/** Runs the JWT strategy for the global guard; every failure is the same 401 TOKEN_INVALID. */
@Injectable()
export class JwtPassportGuard extends PassportAuthGuard(JWT_STRATEGY) {
  override handleRequest<T>(err: unknown, user: T): T {
    if (err) throw err;
    if (!user) throw invalid();
    return user;
  }
}
