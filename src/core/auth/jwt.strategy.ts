import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import passport from 'passport';
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

/**
 * Runs the JWT strategy for the global guard and puts its result on `request.user`;
 * every failure is the same 401 TOKEN_INVALID. It runs this application's own
 * strategy instance, not the one passport's process-wide registry names: with two
 * applications in one process (the multi-instance tests), the registry holds the
 * last one built, with its secret, cache and database. Each request gets its own
 * object over the strategy, as passport does for registered strategies, because
 * passport writes the request's callbacks onto it.
 */
@Injectable()
export class JwtPassportGuard {
  constructor(private readonly strategy: JwtStrategy) {}

  async canActivate(execution: ExecutionContext): Promise<true> {
    const request = execution.switchToHttp().getRequest<FastifyRequest & { user?: VerifiedPrincipal }>();
    request.user = await new Promise<VerifiedPrincipal>((resolve, reject) => {
      const authenticate = passport.authenticate(
        Object.create(this.strategy) as passport.Strategy,
        { session: false },
        (err: unknown, user: VerifiedPrincipal | false) =>
          err ? reject(err) : user ? resolve(user) : reject(invalid()),
      ) as (req: unknown, res: unknown, next: (err?: unknown) => void) => void;
      authenticate(request, {}, (err) => reject(err ?? invalid()));
    });
    return true;
  }
}
