import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { type Principal, RequestContext } from '../../common/context/request-context.js';
import { MailService } from '../../common/mail/mail.service.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { TenantStatus } from '../tenants/tenant.entity.js';
import { TenantsService } from '../tenants/tenants.service.js';
import { UserStatus, type User } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import type { SubjectKind } from './auth-session.entity.js';
import { AuthError, AuthErrorCode, suspended } from './auth.errors.js';
import { AuthRepository } from './auth.repository.js';
import { TokenPurpose } from './one-time-token.entity.js';
import { OneTimeTokenService } from './one-time-token.service.js';
import { LoginLimiter } from './login-limiter.js';
import type { PlatformAdmin } from './platform-admin.entity.js';
import { PasswordService } from './password.service.js';
import { hashToken, type IssuedTokens, type Subject, TokenService } from './token.service.js';

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

@Injectable()
export class AuthService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly repo: AuthRepository,
    private readonly passwords: PasswordService,
    private readonly tokens: TokenService,
    private readonly limiter: LoginLimiter,
    private readonly tenants: TenantsService,
    private readonly users: UsersService,
    private readonly context: RequestContext,
    private readonly oneTimeTokens: OneTimeTokenService,
    private readonly mail: MailService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Creates or updates the configured super admin; outside production, creates one with a random password. */
  async onApplicationBootstrap(): Promise<void> {
    const configured = this.config.auth.superAdmin;
    if (configured) {
      const existing = await this.repo.findPlatformAdminByEmail(configured.email);
      if (existing && (await this.passwords.verify(configured.password, existing.passwordHash))) return;
      const passwordHash = await this.passwords.hash(configured.password);
      if (existing) {
        await this.repo.updatePlatformAdminPassword(existing.id, passwordHash);
        await this.repo.revokeAllSessions('platform_admin', existing);
      } else {
        await this.repo.savePlatformAdmin({ email: configured.email, name: 'Super Admin', passwordHash });
      }
      return;
    }
    if (this.config.isProduction) return;
    const email = 'admin@atrium.local';
    if (await this.repo.findPlatformAdminByEmail(email)) return;
    const password = randomBytes(12).toString('base64url');
    await this.repo.savePlatformAdmin({
      email,
      name: 'Super Admin',
      passwordHash: await this.passwords.hash(password),
    });
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
    const { tenant, admin } = await this.tenants.createWithAdmin({
      name: input.tenantName ?? `${input.name}'s workspace`,
      admin: { email: input.email, name: input.name, password: input.password },
    });
    await this.sendVerification(admin);
    const issued = await this.tokens.issue(userSubject({ ...admin, tenantId: tenant.id }));
    return { ...issued, subject: { kind: 'user', user: admin } };
  }

  private async acceptInvitation(input: RegisterInput & { invitationToken: string }): Promise<SignedIn> {
    const invalid = () =>
      new AuthError(AuthErrorCode.ONE_TIME_TOKEN_INVALID, 'The invitation is invalid, used or expired.');
    const invitation = await this.oneTimeTokens.peek(input.invitationToken, TokenPurpose.INVITATION);
    const invited = invitation ? await this.repo.findUser(invitation.tenantId, invitation.userId) : null;
    if (
      !invited ||
      invited.status !== UserStatus.INVITED ||
      invited.email.toLowerCase() !== input.email.toLowerCase()
    ) {
      throw invalid();
    }
    const tenant = await this.repo.findTenant(invited.tenantId);
    if (tenant?.status === TenantStatus.SUSPENDED) throw suspended();
    const passwordHash = await this.passwords.hashNew(input.password);
    if (!(await this.oneTimeTokens.consume(input.invitationToken, TokenPurpose.INVITATION))) throw invalid();
    await this.repo.activateInvitedUser(invited.tenantId, invited.id, { name: input.name, passwordHash });
    const user = (await this.repo.findUser(invited.tenantId, invited.id))!;
    const issued = await this.tokens.issue(userSubject(user));
    return { ...issued, subject: { kind: 'user', user } };
  }

  /** Always succeeds from the caller's view, so it does not reveal which addresses have accounts. */
  async forgotPassword(email: string, tenantSlug: string | undefined, ip: string): Promise<void> {
    // Shares the per-address limit with sign-in, so reset mail cannot be used to flood an inbox.
    await this.limiter.hit(ip);
    const candidates = await this.repo.findUsersByEmail(email, tenantSlug);
    if (candidates.length !== 1 || candidates[0].status !== UserStatus.ACTIVE) return;
    const user = candidates[0];
    const token = await this.oneTimeTokens.issue(user.tenantId, user.id, TokenPurpose.PASSWORD_RESET);
    await this.mail.send({
      tenantId: user.tenantId,
      to: user.email,
      subject: 'Reset your Atrium password',
      text:
        `Someone asked to reset the password of this account. If it was you, call POST /api/v1/auth/reset-password ` +
        `{"token": "${token}", "password": "..."} within an hour. Otherwise ignore this message.`,
    });
  }

  /** Sets a new password with a reset token and signs out every session. */
  async resetPassword(token: string, password: string): Promise<void> {
    const passwordHash = await this.passwords.hashNew(password);
    const owner = await this.oneTimeTokens.consume(token, TokenPurpose.PASSWORD_RESET);
    if (!owner)
      throw new AuthError(AuthErrorCode.ONE_TIME_TOKEN_INVALID, 'The reset token is invalid, used or expired.');
    await this.repo.updateUserPassword(owner.tenantId, owner.userId, passwordHash);
    await this.repo.revokeAllSessions('user', { id: owner.userId, tenantId: owner.tenantId });
  }

  async verifyEmail(token: string): Promise<void> {
    const owner = await this.oneTimeTokens.consume(token, TokenPurpose.EMAIL_VERIFICATION);
    if (!owner)
      throw new AuthError(AuthErrorCode.ONE_TIME_TOKEN_INVALID, 'The verification token is invalid, used or expired.');
    await this.repo.markEmailVerified(owner.tenantId, owner.userId);
  }

  /** Mails a new verification token to the signed-in user, unless the address is already verified. */
  async resendVerification(): Promise<void> {
    const principal = this.context.principal;
    if (principal.kind !== 'user') return;
    const user = await this.repo.findUser(principal.tenantId!, principal.userId);
    if (user && !user.emailVerifiedAt) await this.sendVerification(user);
  }

  private async sendVerification(user: User): Promise<void> {
    const token = await this.oneTimeTokens.issue(user.tenantId, user.id, TokenPurpose.EMAIL_VERIFICATION);
    await this.mail.send({
      tenantId: user.tenantId,
      to: user.email,
      subject: 'Confirm your e-mail address',
      text: `Confirm this address with POST /api/v1/auth/verify-email {"token": "${token}"} within 3 days.`,
    });
  }

  async login(input: LoginInput): Promise<SignedIn> {
    await this.limiter.hit(input.ip);
    const candidates = await this.repo.findUsersByEmail(input.email, input.tenant);
    const admin = input.tenant ? null : await this.repo.findPlatformAdminByEmail(input.email);
    if (candidates.length + (admin ? 1 : 0) > 1) {
      await this.passwords.verify(input.password, null);
      throw new AuthError(AuthErrorCode.TENANT_REQUIRED, 'This e-mail has accounts in several tenants; pass `tenant`.');
    }
    const kind: SubjectKind = admin ? 'platform_admin' : 'user';
    const account: User | PlatformAdmin | undefined = admin ?? candidates[0];
    const locked = account?.lockedUntil ? account.lockedUntil.getTime() > Date.now() : false;
    const valid = await this.passwords.verify(input.password, account?.passwordHash);
    if (!account || locked || !valid) {
      if (account && !locked) await this.recordFailure(kind, account);
      throw new AuthError(AuthErrorCode.INVALID_CREDENTIALS, INVALID_LOGIN);
    }
    if (kind === 'user') {
      const user = account as User;
      if (user.status !== UserStatus.ACTIVE) throw new AuthError(AuthErrorCode.INVALID_CREDENTIALS, INVALID_LOGIN);
      const tenant = await this.repo.findTenant(user.tenantId);
      if (tenant?.status === TenantStatus.SUSPENDED) throw suspended();
    }
    await this.repo.resetLoginFailures(kind, account);
    const subject: Subject =
      kind === 'user' ? userSubject(account as User) : { kind, id: account.id, tokenVersion: account.tokenVersion };
    const issued = await this.tokens.issue(subject);
    return {
      ...issued,
      subject: kind === 'user' ? { kind, user: account as User } : { kind, admin: account as PlatformAdmin },
    };
  }

  /** Rotation: each refresh token works once; a second use revokes its whole family. */
  async refresh(refreshToken: string): Promise<IssuedTokens> {
    const session = await this.repo.findSessionByHash(hashToken(refreshToken));
    if (!session) throw new AuthError(AuthErrorCode.REFRESH_TOKEN_INVALID, 'The refresh token is not valid.');
    if (session.usedAt || session.revokedAt || !(await this.repo.claimSession(session.id))) {
      if (session.expiresAt.getTime() > Date.now()) await this.repo.revokeFamily(session.familyId);
      throw new AuthError(
        AuthErrorCode.REFRESH_TOKEN_REUSED,
        'The refresh token was already used or revoked; every session of this sign-in has been revoked.',
      );
    }
    const subject = await this.currentSubject(session.subjectKind, session.subjectId, session.tenantId ?? undefined);
    if (!subject) {
      await this.repo.revokeFamily(session.familyId);
      throw new AuthError(AuthErrorCode.REFRESH_TOKEN_INVALID, 'The refresh token is not valid.');
    }
    return this.tokens.issue(subject, session.familyId);
  }

  /** Revokes the sign-in (token family) the refresh token belongs to, if it is the caller's. */
  async logout(refreshToken: string): Promise<void> {
    const session = await this.repo.findSessionByHash(hashToken(refreshToken));
    if (session && session.subjectId === this.context.principal.userId) await this.repo.revokeFamily(session.familyId);
  }

  async logoutAll(): Promise<void> {
    const principal = this.person();
    await this.repo.revokeAllSessions(principal.kind, { id: principal.userId, tenantId: principal.tenantId });
  }

  /** Changes the caller's password, signs out every session and returns a fresh sign-in. */
  async changePassword(currentPassword: string, newPassword: string): Promise<IssuedTokens> {
    const principal = this.person();
    const account =
      principal.kind === 'user'
        ? await this.repo.findUser(principal.tenantId!, principal.userId)
        : await this.repo.findPlatformAdmin(principal.userId);
    if (!account || !(await this.passwords.verify(currentPassword, account.passwordHash))) {
      throw new AuthError(AuthErrorCode.INVALID_CREDENTIALS, 'The current password is not correct.');
    }
    const hash = await this.passwords.hashNew(newPassword);
    if (principal.kind === 'user') await this.repo.updateUserPassword(principal.tenantId!, principal.userId, hash);
    else await this.repo.updatePlatformAdminPassword(principal.userId, hash);
    await this.repo.revokeAllSessions(principal.kind, { id: principal.userId, tenantId: principal.tenantId });
    const subject = await this.currentSubject(principal.kind, principal.userId, principal.tenantId);
    return this.tokens.issue(subject!);
  }

  /** Session operations belong to people; a tenant's app key has no sessions or password. */
  private person(): Principal & { kind: SubjectKind } {
    const principal = this.context.principal;
    if (principal.kind === 'tenant_app') {
      throw new AuthError(AuthErrorCode.PERMISSION_DENIED, 'This action requires a signed-in user.');
    }
    return principal as Principal & { kind: SubjectKind };
  }

  private async currentSubject(kind: SubjectKind, id: string, tenantId?: string): Promise<Subject | undefined> {
    if (kind === 'platform_admin') {
      const admin = await this.repo.findPlatformAdmin(id);
      return admin ? { kind, id, tokenVersion: admin.tokenVersion } : undefined;
    }
    const user = tenantId ? await this.repo.findUser(tenantId, id) : null;
    if (!user || user.status !== UserStatus.ACTIVE) return undefined;
    const tenant = await this.repo.findTenant(user.tenantId);
    if (!tenant || tenant.status !== TenantStatus.ACTIVE) return undefined;
    return userSubject(user);
  }

  private async recordFailure(kind: SubjectKind, account: User | PlatformAdmin): Promise<void> {
    const failures = account.failedLogins + 1;
    const { loginMaxFailures, loginLockoutSeconds } = this.config.auth;
    let lockedUntil: Date | null = null;
    if (failures >= loginMaxFailures) {
      const seconds = Math.min(loginLockoutSeconds * 2 ** (failures - loginMaxFailures), MAX_LOCKOUT_SECONDS);
      lockedUntil = new Date(Date.now() + seconds * 1000);
      this.logger.warn({ message: 'Account locked after repeated login failures', subjectId: account.id, seconds });
    }
    await this.repo.recordLoginFailure(kind, account, lockedUntil);
  }
}

function userSubject(user: Pick<User, 'id' | 'tenantId' | 'tokenVersion'>): Subject {
  return { kind: 'user', id: user.id, tenantId: user.tenantId, tokenVersion: user.tokenVersion };
}
