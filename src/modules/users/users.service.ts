import { Injectable } from '@nestjs/common';
import { canAssignRole, Permission, Role, type TenantRole } from '../../core/auth/permissions.js';
import { PrincipalEvents } from '../../core/auth/principal-events.js';
import { RequestContext } from '../../core/context/request-context.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { AppError } from '../../core/errors/app-error.js';
import { pageOf, type Page } from '../../core/http/pagination.js';
import { type AccountQuota, LifecycleHooks } from '../../core/identity/lifecycle-hooks.js';
import { PasswordService } from '../../core/identity/password.service.js';
import { UserAccountsService } from '../../core/identity/user-accounts.service.js';
import { type User, UserStatus } from '../../core/identity/user.entity.js';
import { UserError, UserErrorCode, userNotFound } from '../../core/identity/user.errors.js';
import { UsersRepository } from '../../core/identity/users.repository.js';
import type {
  BulkCreateUsersResultDto,
  BulkUserDto,
  CreateUserDto,
  ListUsersQuery,
  UpdateUserDto,
} from './dto/user.dto.js';
import { UserDto, UserPermissionsDto } from './dto/user.dto.js';

/** User management inside the tenant the route acts in (see @ActsInTenant). */
@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly accounts: UserAccountsService,
    private readonly passwords: PasswordService,
    private readonly context: RequestContext,
    private readonly uow: UnitOfWork,
    private readonly events: PrincipalEvents,
    private readonly hooks: LifecycleHooks,
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
    return UserDto.from(await this.visible(id, Permission.USERS_READ));
  }

  async permissions(id: string): Promise<UserPermissionsDto> {
    return UserPermissionsDto.of(await this.visible(id, Permission.USERS_READ));
  }

  /** With a password the user is active at once; without one an invitation is e-mailed. */
  async create(input: CreateUserDto): Promise<UserDto> {
    this.assertCanAssign(input.role);
    const { password, ...profile } = input;
    const passwordHash = password === undefined ? undefined : await this.passwords.hashNew(password);
    const user = await this.uow.run(() =>
      passwordHash === undefined
        ? this.accounts.inviteUser(profile)
        : this.accounts.createUser({ ...profile, passwordHash }),
    );
    return UserDto.from(user);
  }

  /**
   * Up to 100 invitations; each row succeeds or fails on its own (its own unit
   * of work). `quotas` are given to every user created; they are checked (an
   * unknown meter refuses the whole request) before any user is created.
   */
  async bulkInvite(rows: BulkUserDto[], quotas: AccountQuota[]): Promise<BulkCreateUsersResultDto> {
    await this.hooks.validateQuotas(quotas);
    const results: BulkCreateUsersResultDto['results'] = [];
    for (const row of rows) {
      try {
        this.assertCanAssign(row.role);
        const user = await this.uow.run(async () => {
          const invited = await this.accounts.inviteUser({
            email: row.email,
            role: row.role,
            name: row.name ?? row.email.split('@')[0],
          });
          await this.hooks.applyQuotas(invited, quotas);
          return invited;
        });
        results.push({ email: row.email, result: 'invited', user: UserDto.from(user) });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        results.push({ email: row.email, result: 'failed', error: { code: err.code, detail: err.message } });
      }
    }
    return { results };
  }

  /**
   * Others' records and anyone's role or status need users:write; without it a
   * caller may change only their own name. A change that would leave the tenant
   * without an active admin is refused, also when two such changes race.
   */
  async update(id: string, patch: UpdateUserDto): Promise<UserDto> {
    const canWrite = this.context.principal.permissions.has(Permission.USERS_WRITE);
    if (!canWrite && (patch.role !== undefined || patch.status !== undefined)) {
      throw new UserError(UserErrorCode.USER_FIELD_FORBIDDEN, 'Only administrators may change role or status.');
    }
    if (patch.role !== undefined) this.assertCanAssign(patch.role);
    const updated = await this.uow.run(async () => {
      const user = await this.visible(id, Permission.USERS_WRITE);
      const losesAdmin =
        user.role === Role.TENANT_ADMIN &&
        user.status === UserStatus.ACTIVE &&
        ((patch.role !== undefined && patch.role !== Role.TENANT_ADMIN) || patch.status === UserStatus.DISABLED);
      if (losesAdmin) await this.assertAnotherAdmin(id);
      await this.users.update(id, patch);
      if (patch.status === UserStatus.DISABLED) await this.users.bumpTokenVersion(id);
      if (patch.role !== undefined || patch.status !== undefined || patch.name !== undefined) {
        this.events.changed({ userId: id });
      }
      return (await this.users.findById(id))!;
    });
    return UserDto.from(updated);
  }

  async remove(id: string, hard: boolean): Promise<void> {
    await this.uow.run(async () => {
      const user = await this.visible(id, Permission.USERS_WRITE);
      if (user.role === Role.TENANT_ADMIN && user.status === UserStatus.ACTIVE) await this.assertAnotherAdmin(id);
      if (hard) await this.users.hardDelete(id);
      else await this.users.softDelete(id);
      this.events.changed({ userId: id });
    });
  }

  async markVerified(id: string): Promise<UserDto> {
    await this.visible(id, Permission.USERS_WRITE);
    await this.users.markVerified(id);
    return UserDto.from((await this.users.findById(id))!);
  }

  /** Callers holding `needed` see every user of the tenant; everyone else only themselves. Anything else is 404. */
  private async visible(id: string, needed: Permission): Promise<User> {
    const principal = this.context.principal;
    if (!principal.permissions.has(needed) && principal.userId !== id) throw userNotFound();
    const user = await this.users.findById(id);
    if (!user) throw userNotFound();
    return user;
  }

  private assertCanAssign(role: TenantRole): void {
    const holder = this.context.principal.role;
    if (holder === 'tenant_app' || holder === 'system' || !canAssignRole(holder, role as unknown as Role)) {
      throw new UserError(UserErrorCode.ROLE_NOT_ASSIGNABLE, `You cannot assign the role ${role}.`);
    }
  }

  /** Locks the tenant's active admins, then checks one other than `id` remains. */
  private async assertAnotherAdmin(id: string): Promise<void> {
    const admins = await this.users.lockActiveAdmins();
    if (!admins.some((admin) => admin.id !== id)) {
      throw new UserError(
        UserErrorCode.LAST_TENANT_ADMIN,
        'The last active tenant admin cannot be removed, disabled or demoted.',
      );
    }
  }
}
