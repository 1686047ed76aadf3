import { Injectable } from '@nestjs/common';
import type { TenantRole } from '../auth/permissions.js';
import { MailService } from '../mail/mail.service.js';
import { TokenPurpose } from './one-time-token.entity.js';
import { OneTimeTokenService } from './one-time-token.service.js';
import { type User, UserStatus } from './user.entity.js';
import { UserError, UserErrorCode } from './user.errors.js';
import { UsersRepository } from './users.repository.js';

/** Creating accounts in the current tenant: shared by user management, tenant creation and sign-up. */
@Injectable()
export class UserAccountsService {
  constructor(
    private readonly users: UsersRepository,
    private readonly oneTimeTokens: OneTimeTokenService,
    private readonly mail: MailService,
  ) {}

  /**
   * An active user with a password hashed beforehand (PasswordService.hashNew),
   * outside any transaction: a hash takes long enough to matter to a held lock.
   */
  async createUser(input: { email: string; name: string; role: TenantRole; passwordHash: string }): Promise<User> {
    const { passwordHash } = input;
    await this.assertEmailFree(input.email);
    return this.users.create({
      email: input.email.toLowerCase(),
      name: input.name,
      role: input.role,
      status: UserStatus.ACTIVE,
      passwordHash,
    });
  }

  /** An invited user without a password; the invitation goes out once the unit of work commits. */
  async inviteUser(input: { email: string; name: string; role: TenantRole }): Promise<User> {
    await this.assertEmailFree(input.email);
    const user = await this.users.create({
      email: input.email.toLowerCase(),
      name: input.name,
      role: input.role,
      status: UserStatus.INVITED,
      passwordHash: null,
    });
    const token = await this.oneTimeTokens.issue(user.id, TokenPurpose.INVITATION);
    await this.mail.send({
      tenantId: user.tenantId,
      to: user.email,
      subject: 'You are invited to Atrium',
      text:
        `You have been invited to join as ${user.role}.\n\n` +
        `Accept with POST /api/v1/auth/register {"email": "${user.email}", "name": "...", "password": "...", ` +
        `"invitationToken": "${token}"}\n\nThe invitation expires in 7 days and works once.`,
    });
    return user;
  }

  /** Mails a verification token for the user's address. */
  async sendVerification(user: User): Promise<void> {
    const token = await this.oneTimeTokens.issue(user.id, TokenPurpose.EMAIL_VERIFICATION);
    await this.mail.send({
      tenantId: user.tenantId,
      to: user.email,
      subject: 'Confirm your e-mail address',
      text: `Confirm this address with POST /api/v1/auth/verify-email {"token": "${token}"} within 3 days.`,
    });
  }

  private async assertEmailFree(email: string): Promise<void> {
    if (await this.users.emailTaken(email)) {
      throw new UserError(UserErrorCode.EMAIL_TAKEN, 'A user with this e-mail already exists in this tenant.');
    }
  }
}
