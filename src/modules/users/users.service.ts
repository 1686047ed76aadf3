import { Injectable } from '@nestjs/common';
import { canAssignRole, Permission, Role, type TenantRole } from '../../common/auth/permissions.js';
import { RequestContext } from '../../common/context/request-context.js';
import { pageOf, type Page } from '../../common/http/pagination.js';
import { PrincipalCache } from '../../common/auth/principal-cache.js';
import { AppError } from '../../common/errors/app-error.js';
import { MailService } from '../../common/mail/mail.service.js';
import { TokenPurpose } from '../auth/one-time-token.entity.js';
import { OneTimeTokenService } from '../auth/one-time-token.service.js';
import { PasswordService } from '../auth/password.service.js';
import type {
  BulkCreateUsersResultDto,
  BulkUserDto,
  CreateUserDto,
  ListUsersQuery,
  UpdateUserDto,
} from './dto/user.dto.js';
import { UserDto, UserPermissionsDto } from './dto/user.dto.js';
import { type User, UserStatus } from './user.entity.js';
import { UserError, UserErrorCode, userNotFound } from './users.errors.js';
import { UsersRepository } from './users.repository.js';

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly passwords: PasswordService,
    private readonly context: RequestContext,
    private readonly oneTimeTokens: OneTimeTokenService,
    private readonly mail: MailService,
    private readonly cache: PrincipalCache,
  ) {}

  async list(query: ListUsersQuery): Promise<Page<UserDto>> {
    const { limit, offset } = pageOf(query);
    const [rows, total] = await this.users.list({
      role: query.role,
      status: query.status,
      search: query.search,
      limit,
      offset,
    });
    return { items: rows.map(UserDto.from), total, limit, offset };
  }

  async get(id: string): Promise<UserDto> {
    return UserDto.from(await this.visible(id));
  }

  async permissions(id: string): Promise<UserPermissionsDto> {
    return UserPermissionsDto.of(await this.visible(id));
  }

  /** With a password the user is active at once; without one an invitation is e-mailed. */
  async create(input: CreateUserDto): Promise<UserDto> {
    this.assertCanAssign(input.role);
    if (input.password === undefined) return UserDto.from(await this.inviteUser(input));
    return UserDto.from(await this.createUser({ ...input, password: input.password }));
  }

  /** Up to 100 invitations; each row succeeds or fails on its own. */
  async bulkInvite(rows: BulkUserDto[]): Promise<BulkCreateUsersResultDto> {
    const results: BulkCreateUsersResultDto['results'] = [];
    for (const row of rows) {
      try {
        this.assertCanAssign(row.role);
        const user = await this.inviteUser({
          email: row.email,
          role: row.role,
          name: row.name ?? row.email.split('@')[0],
        });
        results.push({ email: row.email, result: 'invited', user: UserDto.from(user) });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        results.push({ email: row.email, result: 'failed', error: { code: err.code, detail: err.message } });
      }
    }
    return { results };
  }

  /** Creates a user in the current tenant (used for a tenant's first admin too). */
  async createUser(input: { email: string; name: string; role: TenantRole; password: string }): Promise<User> {
    await this.assertEmailFree(input.email);
    return this.users.create({
      email: input.email.toLowerCase(),
      name: input.name,
      role: input.role,
      status: UserStatus.ACTIVE,
      passwordHash: await this.passwords.hashNew(input.password),
    });
  }

  /** Creates an invited user in the current tenant and mails the invitation. */
  async inviteUser(input: { email: string; name: string; role: TenantRole }): Promise<User> {
    await this.assertEmailFree(input.email);
    const user = await this.users.create({
      email: input.email.toLowerCase(),
      name: input.name,
      role: input.role,
      status: UserStatus.INVITED,
      passwordHash: null,
    });
    const token = await this.oneTimeTokens.issue(user.tenantId, user.id, TokenPurpose.INVITATION);
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

  private async assertEmailFree(email: string): Promise<void> {
    if (await this.users.emailTaken(email)) {
      throw new UserError(UserErrorCode.EMAIL_TAKEN, 'A user with this e-mail already exists in this tenant.');
    }
  }

  async update(id: string, patch: UpdateUserDto): Promise<UserDto> {
    const isAdmin = this.context.principal.permissions.has(Permission.USERS_WRITE);
    if (!isAdmin && (patch.role !== undefined || patch.status !== undefined)) {
      throw new UserError(UserErrorCode.USER_FIELD_FORBIDDEN, 'Only administrators may change role or status.');
    }
    const user = await this.visible(id);
    if (patch.role !== undefined) this.assertCanAssign(patch.role);
    const losesAdmin =
      user.role === Role.TENANT_ADMIN &&
      user.status === UserStatus.ACTIVE &&
      ((patch.role !== undefined && patch.role !== Role.TENANT_ADMIN) || patch.status === UserStatus.DISABLED);
    if (losesAdmin) await this.assertNotLastAdmin();
    await this.users.update(id, patch);
    if (patch.status === UserStatus.DISABLED) await this.users.bumpTokenVersion(id);
    this.cache.clear();
    return UserDto.from((await this.users.findById(id))!);
  }

  async remove(id: string, hard: boolean): Promise<void> {
    const user = await this.visible(id);
    if (user.role === Role.TENANT_ADMIN && user.status === UserStatus.ACTIVE) await this.assertNotLastAdmin();
    if (hard) await this.users.hardDelete(id);
    else await this.users.softDelete(id);
    this.cache.clear();
  }

  async markVerified(id: string): Promise<UserDto> {
    await this.visible(id);
    await this.users.markVerified(id);
    return UserDto.from((await this.users.findById(id))!);
  }

  countByRoleAndStatus() {
    return this.users.countByRoleAndStatus();
  }

  /** Admins see every user of the tenant; everyone else only themselves. Anything else is 404. */
  private async visible(id: string): Promise<User> {
    const principal = this.context.principal;
    if (!principal.permissions.has(Permission.USERS_READ) && principal.userId !== id) throw userNotFound();
    const user = await this.users.findById(id);
    if (!user) throw userNotFound();
    return user;
  }

  private assertCanAssign(role: TenantRole): void {
    const holder = this.context.principal.role;
    if (holder === 'tenant_app' || !canAssignRole(holder, role as unknown as Role)) {
      throw new UserError(UserErrorCode.ROLE_NOT_ASSIGNABLE, `You cannot assign the role ${role}.`);
    }
  }

  private async assertNotLastAdmin(): Promise<void> {
    if ((await this.users.countActiveAdmins()) <= 1) {
      throw new UserError(
        UserErrorCode.LAST_TENANT_ADMIN,
        'The last active tenant admin cannot be removed, disabled or demoted.',
      );
    }
  }
}
