import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { PrincipalEvents } from '../../core/auth/principal-events.js';
import { hashToken, type IssuedTokens, type Subject, TokenService } from '../../core/auth/token.service.js';
import { type Principal, RequestContext } from '../../core/context/request-context.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import type { SubjectKind } from '../../core/identity/auth-session.entity.js';
import { AuthError, AuthErrorCode, suspended } from '../../core/identity/auth.errors.js';
import { IdentityLookupRepository } from '../../core/identity/identity-lookup.repository.js';
import { TokenPurpose } from '../../core/identity/one-time-token.entity.js';
import { OneTimeTokenService } from '../../core/identity/one-time-token.service.js';
import { PasswordService } from '../../core/identity/password.service.js';
import type { PlatformAdmin } from '../../core/identity/platform-admin.entity.js';
import { PlatformAdminsRepository } from '../../core/identity/platform-admins.repository.js';
import { SessionsRepository } from '../../core/identity/sessions.repository.js';
import { type Tenant, TenantStatus } from '../../core/identity/tenant.entity.js';
import { TenantProvisioning } from '../../core/identity/tenant-provisioning.service.js';
import { TenantsRepository } from '../../core/identity/tenants.repository.js';
import { UserAccountsService } from '../../core/identity/user-accounts.service.js';
import { type User, UserStatus } from '../../core/identity/user.entity.js';
import { type LockoutPolicy, UsersRepository } from '../../core/identity/users.repository.js';
import { MailService } from '../../core/mail/mail.service.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { LoginLimiter } from './login-limiter.js';

const MAX_LOCKOUT_SECONDS = 15 * 60;
const INVALID_LOGIN = 'The e-mail, password or tenant is not correct.';

export interface RegisterInput {
  email: string;
  password: string;
  name: string;
  tenantName?: string;
  invitationToken?: string;
}

export interface LoginInput {
  email: string;
  password: string;
  tenant?: string;
  ip: string;
}

export interface SignedIn extends IssuedTokens {
  subject: { kind: SubjectKind; user?: User; admin?: PlatformAdmin };
}

/** An account a sign-in attempt may be for: the e-mail's platform account, or one of its tenant accounts. */
type Candidate = { kind: 'platform_admin'; account: PlatformAdmin } | { kind: 'user'; account: User };

@Injectable()
export class AuthService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');
  private readonly lockout: LockoutPolicy;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly context: RequestContext,
    private readonly lookup: IdentityLookupRepository,
    private readonly users: UsersRepository,
    private readonly tenants: TenantsRepository,
    private readonly admins: PlatformAdminsRepository,
    private readonly sessions: SessionsRepository,
    private readonly passwords: PasswordService,
    private readonly tokens: TokenService,
    private readonly limiter: LoginLimiter,
    private readonly provisioning: TenantProvisioning,
    private readonly accounts: UserAccountsService,
    private readonly oneTimeTokens: OneTimeTokenService,
    private readonly mail: MailService,
    private readonly events: PrincipalEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.lockout = {
      maxFailures: config.auth.loginMaxFailures,
      lockoutSeconds: config.auth.loginLockoutSeconds,
      maxLockoutSeconds: MAX_LOCKOUT_SECONDS,
    };
  }

  /** Creates or updates the configured super admin; outside production, creates one with a random password. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.auth.jwtSecretGenerated) {
      this.logger.warn('JWT_SECRET is unset: using a random secret, so tokens end with this process');
    }
    const configured = this.config.auth.superAdmin;
    if (configured) {
      const existing = await this.admins.findByEmail(configured.email);
      if (existing && (await this.passwords.verify(configured.password, existing.passwordHash))) return;
      const passwordHash = await this.passwords.hash(configured.password);
      if (existing) {
        await this.admins.updatePassword(existing.id, passwordHash);
        await this.revokeEverySession({ kind: 'platform_admin', id: existing.id });
      } else {
        await this.admins.create({ email: configured.email, name: 'Super Admin', passwordHash });
      }
      return;
    }
    if (this.config.isProduction) return;
    const email = 'admin@atrium.local';
    if (await this.admins.findByEmail(email)) return;
    const password = randomBytes(12).toString('base64url');
    await this.admins.create({ email, name: 'Super Admin', passwordHash: await this.passwords.hash(password) });
    // Printed once, on the console only, so a fresh install can sign in; never written to the log stream.
    process.stdout.write(
      `\nCreated the super admin for this installation:\n  email:    ${email}\n  password: ${password}\n` +
        'Set SUPER_ADMIN_EMAIL and SUPER_ADMIN_PASSWORD to choose them.\n\n',
    );
  }

  /** With an invitation: joins that tenant. Otherwise (open sign-up): a new tenant with the caller as its admin. */
  async register(input: RegisterInput): Promise<SignedIn> {
    if (input.invitationToken) return this.acceptInvitation({ ...input, invitationToken: input.invitationToken });
    if (!this.config.auth.signupOpen) {
      throw new AuthError(AuthErrorCode.SIGNUP_CLOSED, 'Sign-up is closed; ask an administrator for an account.');
    }
    const { tenant, admin } = await this.provisioning.createWithAdmin(
      {
        name: input.tenantName ?? `${input.name}'s workspace`,
        admin: { email: input.email, name: input.name, password: input.password },
      },
      { verifyEmail: true },
    );
    const issued = await this.tokens.issue(userSubject({ ...admin, tenantId: tenant.id }));
    return { ...issued, subject: { kind: 'user', user: admin } };
  }

  private async acceptInvitation(input: RegisterInput & { invitationToken: string }): Promise<SignedIn> {
    const invalid = () =>
      new AuthError(AuthErrorCode.ONE_TIME_TOKEN_INVALID, 'The invitation is invalid, used or expired.');
    const invitation = await this.oneTimeTokens.peek(input.invitationToken, TokenPurpose.INVITATION);
    if (!invitation) throw invalid();
    const invited = await this.context.runInTenant(invitation.tenantId, () => this.users.findById(invitation.userId));
    if (
      !invited ||
      invited.status !== UserStatus.INVITED ||
      invited.email.toLowerCase() !== input.email.toLowerCase()
    ) {
      throw invalid();
    }
    const tenant = await this.tenants.findById(invited.tenantId);
    if (tenant?.status === TenantStatus.SUSPENDED) throw suspended();
    const passwordHash = await this.passwords.hashNew(input.password);
    const user = await this.uow.run(async () => {
      if (!(await this.oneTimeTokens.consume(input.invitationToken, TokenPurpose.INVITATION))) throw invalid();
      return this.context.runInTenant(invited.tenantId, async () => {
        if (!(await this.users.activateInvited(invited.id, { name: input.name, passwordHash }))) throw invalid();
        return (await this.users.findById(invited.id))!;
      });
    });
    const issued = await this.tokens.issue(userSubject(user));
    return { ...issued, subject: { kind: 'user', user } };
  }

  /** Always succeeds from the caller's view, so it does not reveal which addresses have accounts. */
  async forgotPassword(email: string, tenantSlug: string | undefined, ip: string): Promise<void> {
    // Shares the per-address limit with sign-in, so reset mail cannot be used to flood an inbox.
    await this.limiter.hit(ip);
    const candidates = await this.lookup.findUsersByEmail(email, tenantSlug);
    if (candidates.length !== 1 || candidates[0].status !== UserStatus.ACTIVE) return;
    const user = candidates[0];
    await this.uow.run(() =>
      this.context.runInTenant(user.tenantId, async () => {
        const token = await this.oneTimeTokens.issue(user.id, TokenPurpose.PASSWORD_RESET);
        await this.mail.send({
          tenantId: user.tenantId,
          to: user.email,
          subject: 'Reset your Atrium password',
          text:
            `Someone asked to reset the password of this account. If it was you, call POST /api/v1/auth/reset-password ` +
            `{"token": "${token}", "password": "..."} within an hour. Otherwise ignore this message.`,
        });
      }),
    );
  }

  /** Sets a new password with a reset token and signs out every session. */
  async resetPassword(token: string, password: string): Promise<void> {
    const passwordHash = await this.passwords.hashNew(password);
    await this.uow.run(async () => {
      const owner = await this.oneTimeTokens.consume(token, TokenPurpose.PASSWORD_RESET);
      if (!owner) {
        throw new AuthError(AuthErrorCode.ONE_TIME_TOKEN_INVALID, 'The reset token is invalid, used or expired.');
      }
      await this.context.runInTenant(owner.tenantId, () => this.users.updatePassword(owner.userId, passwordHash));
      await this.revokeEverySession({ kind: 'user', id: owner.userId, tenantId: owner.tenantId });
    });
  }

  async verifyEmail(token: string): Promise<void> {
    await this.uow.run(async () => {
      const owner = await this.oneTimeTokens.consume(token, TokenPurpose.EMAIL_VERIFICATION);
      if (!owner) {
        throw new AuthError(
          AuthErrorCode.ONE_TIME_TOKEN_INVALID,
          'The verification token is invalid, used or expired.',
        );
      }
      await this.context.runInTenant(owner.tenantId, () => this.users.markVerified(owner.userId));
    });
  }

  /** Mails a new verification token to the signed-in user, unless the address is already verified. */
  async resendVerification(): Promise<void> {
    const principal = this.context.principal;
    if (principal.kind !== 'user') return;
    await this.uow.run(async () => {
      const user = await this.users.findById(principal.userId!);
      if (user && !user.emailVerifiedAt) await this.accounts.sendVerification(user);
    });
  }

  /**
   * Signs in with e-mail and password. The password is checked against every
   * account the e-mail has (in the named tenant, or everywhere and the platform
   * account); only accounts it matches count. So a wrong password always gets
   * the same 401 whether or not, or wherever, the e-mail exists; a platform
   * account cannot be shadowed by a tenant account with the same e-mail; and
   * only someone who knows the password learns that it opens several tenants.
   */
  async login(input: LoginInput): Promise<SignedIn> {
    await this.limiter.hit(input.ip);
    const candidates: Candidate[] = (await this.lookup.findUsersByEmail(input.email, input.tenant)).map((account) => ({
      kind: 'user' as const,
      account,
    }));
    const admin = input.tenant ? null : await this.admins.findByEmail(input.email);
    if (admin) candidates.unshift({ kind: 'platform_admin', account: admin });
    const now = Date.now();
    // Compared in parallel (bcrypt runs on the thread pool), so the time barely depends on how many accounts exist.
    const verdicts = await Promise.all(
      (candidates.length > 0 ? candidates : [null]).map(async (candidate) => {
        const valid = await this.passwords.verify(input.password, candidate?.account.passwordHash);
        return { candidate, valid };
      }),
    );
    const usable = (c: Candidate) =>
      !(c.account.lockedUntil && c.account.lockedUntil.getTime() > now) &&
      (c.kind === 'platform_admin' || c.account.status === UserStatus.ACTIVE);
    const matches = verdicts.filter((v) => v.valid && v.candidate && usable(v.candidate)).map((v) => v.candidate!);
    if (matches.length === 0) {
      await Promise.all(
        candidates
          .filter((c) => c.account.passwordHash && !(c.account.lockedUntil && c.account.lockedUntil.getTime() > now))
          .map((c) => this.recordFailure(c)),
      );
      throw new AuthError(AuthErrorCode.INVALID_CREDENTIALS, INVALID_LOGIN);
    }
    const chosen = matches.find((m) => m.kind === 'platform_admin') ?? (matches.length === 1 ? matches[0] : null);
    if (!chosen) {
      const tenants = await Promise.all(matches.map((m) => this.tenants.findById((m.account as User).tenantId)));
      throw new AuthError(
        AuthErrorCode.TENANT_REQUIRED,
        'This password opens accounts in several tenants; pass `tenant` with one of their slugs.',
        { tenants: tenants.filter((t): t is Tenant => t !== null).map((t) => ({ slug: t.slug, name: t.name })) },
      );
    }
    if (chosen.kind === 'platform_admin') {
      await this.admins.resetLoginFailures(chosen.account.id);
      const issued = await this.tokens.issue({
        kind: 'platform_admin',
        id: chosen.account.id,
        tokenVersion: chosen.account.tokenVersion,
      });
      return { ...issued, subject: { kind: 'platform_admin', admin: chosen.account } };
    }
    const user = chosen.account;
    const tenant = await this.tenants.findById(user.tenantId);
    if (tenant?.status === TenantStatus.SUSPENDED) throw suspended();
    if (user.failedLogins > 0 || user.lockedUntil) {
      await this.context.runInTenant(user.tenantId, () => this.users.resetLoginFailures(user.id));
    }
    const issued = await this.tokens.issue(userSubject(user));
    return { ...issued, subject: { kind: 'user', user } };
  }

  /**
   * Rotation: each refresh token works once. The claim and the new token commit
   * together, and a second use (even one racing the first) revokes the whole
   * family, the token minted by the race included.
   */
  async refresh(refreshToken: string): Promise<IssuedTokens> {
    const outcome = await this.uow.run(async () => {
      const session = await this.sessions.findByHash(hashToken(refreshToken));
      if (!session) return { error: 'invalid' as const };
      if (session.usedAt || session.revokedAt || !(await this.sessions.claim(session.id))) {
        return { error: 'reused' as const, session };
      }
      const subject = await this.currentSubject(session.subjectKind, session.subjectId, session.tenantId ?? undefined);
      if (!subject) return { error: 'gone' as const, session };
      return { tokens: await this.tokens.issue(subject, session.familyId) };
    });
    if (outcome.tokens) return outcome.tokens;
    if (outcome.error === 'invalid') {
      throw new AuthError(AuthErrorCode.REFRESH_TOKEN_INVALID, 'The refresh token is not valid.');
    }
    // Runs after the racing winner (if any) committed: its claim held the row until then.
    if (outcome.session.expiresAt.getTime() > Date.now()) await this.revokeFamily(outcome.session.familyId);
    if (outcome.error === 'gone')
      throw new AuthError(AuthErrorCode.REFRESH_TOKEN_INVALID, 'The refresh token is not valid.');
    throw new AuthError(
      AuthErrorCode.REFRESH_TOKEN_REUSED,
      'The refresh token was already used or revoked; every session of this sign-in has been revoked.',
    );
  }

  /** Revokes the sign-in (token family) the refresh token belongs to, if it is the caller's. */
  async logout(refreshToken: string): Promise<void> {
    const session = await this.sessions.findByHash(hashToken(refreshToken));
    if (session && session.subjectId === this.person().userId) await this.revokeFamily(session.familyId);
  }

  async logoutAll(): Promise<void> {
    const principal = this.person();
    await this.uow.run(() =>
      this.revokeEverySession({ kind: principal.kind, id: principal.userId, tenantId: principal.homeTenantId }),
    );
  }

  /** Changes the caller's password, signs out every session and returns a fresh sign-in. */
  async changePassword(currentPassword: string, newPassword: string): Promise<IssuedTokens> {
    const principal = this.person();
    const account =
      principal.kind === 'user'
        ? await this.users.findById(principal.userId)
        : await this.admins.findById(principal.userId);
    if (!account || !(await this.passwords.verify(currentPassword, account.passwordHash))) {
      throw new AuthError(AuthErrorCode.INVALID_CREDENTIALS, 'The current password is not correct.');
    }
    const hash = await this.passwords.hashNew(newPassword);
    const subject = await this.uow.run(async () => {
      if (principal.kind === 'user') await this.users.updatePassword(principal.userId, hash);
      else await this.admins.updatePassword(principal.userId, hash);
      await this.revokeEverySession({ kind: principal.kind, id: principal.userId, tenantId: principal.homeTenantId });
      return this.currentSubject(principal.kind, principal.userId, principal.homeTenantId);
    });
    return this.tokens.issue(subject!);
  }

  /** Session operations belong to people; a tenant's app key has no sessions or password. */
  private person(): Principal & { kind: SubjectKind; userId: string } {
    const principal = this.context.principal;
    if ((principal.kind !== 'user' && principal.kind !== 'platform_admin') || !principal.userId) {
      throw new AuthError(AuthErrorCode.PERMISSION_DENIED, 'This action requires a signed-in user.');
    }
    return principal as Principal & { kind: SubjectKind; userId: string };
  }

  /** Every access token (token version) and refresh token of the subject stops working. */
  private async revokeEverySession(subject: { kind: SubjectKind; id: string; tenantId?: string }): Promise<void> {
    if (subject.kind === 'user') {
      await this.context.runInTenant(subject.tenantId!, () => this.users.bumpTokenVersion(subject.id));
      this.events.changed({ userId: subject.id });
    } else {
      await this.admins.bumpTokenVersion(subject.id);
      this.events.changed({ platformAdminId: subject.id });
    }
    await this.sessions.revokeAllOf(subject.kind, subject.id);
  }

  private async revokeFamily(familyId: string): Promise<void> {
    await this.uow.run(async () => {
      await this.sessions.revokeFamily(familyId);
      this.events.changed({ sessionId: familyId });
    });
  }

  private async currentSubject(kind: SubjectKind, id: string, tenantId?: string): Promise<Subject | undefined> {
    if (kind === 'platform_admin') {
      const admin = await this.admins.findById(id);
      return admin ? { kind, id, tokenVersion: admin.tokenVersion } : undefined;
    }
    if (!tenantId) return undefined;
    const tenant = await this.tenants.findById(tenantId);
    if (!tenant || tenant.status !== TenantStatus.ACTIVE) return undefined;
    const user = await this.context.runInTenant(tenantId, () => this.users.findById(id));
    if (!user || user.status !== UserStatus.ACTIVE) return undefined;
    return userSubject(user);
  }

  private async recordFailure(candidate: Candidate): Promise<void> {
    const { account } = candidate;
    if (candidate.kind === 'platform_admin') {
      await this.admins.recordLoginFailure(account.id, this.lockout);
      return;
    }
    const { failedLogins, lockedUntil } = await this.context.runInTenant(candidate.account.tenantId, () =>
      this.users.recordLoginFailure(account.id, this.lockout),
    );
    if (lockedUntil && failedLogins >= this.lockout.maxFailures) {
      this.logger.warn({
        message: 'Account locked after repeated login failures',
        subjectId: account.id,
        failedLogins,
      });
    }
  }
}

function userSubject(user: Pick<User, 'id' | 'tenantId' | 'tokenVersion'>): Subject {
  return { kind: 'user', id: user.id, tenantId: user.tenantId, tokenVersion: user.tokenVersion };
}
