import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { In, IsNull } from 'typeorm';
import { Role, type TenantRole } from '../auth/permissions.js';
import { RequestContext } from '../context/request-context.js';
import { TenantScopedRepository } from '../database/tenant-scoped.repository.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import { User, UserStatus } from './user.entity.js';

export interface UserFilter {
  role?: TenantRole;
  status?: UserStatus;
  search?: string;
  limit: number;
  offset: number;
}

export interface LockoutPolicy {
  maxFailures: number;
  lockoutSeconds: number;
  maxLockoutSeconds: number;
}

/** Users of the current tenant; deleted (soft) users are invisible here. */
@Injectable()
export class UsersRepository extends TenantScopedRepository<User> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(User, uow, context);
  }

  findById(id: string): Promise<User | null> {
    return this.findOne({ id, deletedAt: IsNull() });
  }

  /** Which of `ids` are active users of the tenant. */
  async activeIds(ids: string[]): Promise<string[]> {
    const rows = await this.find({
      where: { id: In(ids), status: UserStatus.ACTIVE, deletedAt: IsNull() },
      select: { id: true },
    });
    return rows.map((u) => u.id);
  }

  emailTaken(email: string): Promise<boolean> {
    return this.select('u', async (qb) => {
      const n = await qb
        .andWhere('lower(u.email) = lower(:email)', { email })
        .andWhere('u.deleted_at IS NULL')
        .getCount();
      return n > 0;
    });
  }

  list(filter: UserFilter): Promise<[User[], number]> {
    return this.select('u', (qb) => {
      qb.andWhere('u.deleted_at IS NULL');
      if (filter.role) qb.andWhere('u.role = :role', { role: filter.role });
      if (filter.status) qb.andWhere('u.status = :status', { status: filter.status });
      if (filter.search) {
        const pattern = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`).toLowerCase()}%`;
        qb.andWhere('(lower(u.email) LIKE :pattern OR lower(u.name) LIKE :pattern)', { pattern });
      }
      return qb
        .orderBy('u.created_at', 'ASC')
        .addOrderBy('u.id', 'ASC')
        .take(filter.limit)
        .skip(filter.offset)
        .getManyAndCount();
    });
  }

  create(values: Pick<User, 'email' | 'name' | 'role' | 'status' | 'passwordHash'>): Promise<User> {
    return this.insertOne({ ...values, id: randomUUID(), emailVerifiedAt: null });
  }

  async update(id: string, patch: Partial<Pick<User, 'name' | 'role' | 'status'>>): Promise<void> {
    await this.updateWhere({ id, deletedAt: IsNull() }, { ...patch, updatedAt: new Date() });
  }

  async markVerified(id: string): Promise<void> {
    await this.updateWhere({ id, deletedAt: IsNull() }, { emailVerifiedAt: new Date(), updatedAt: new Date() });
  }

  /** Revokes every access token of the user (each carries the version it was issued with). */
  async bumpTokenVersion(id: string): Promise<void> {
    await this.updateWhere({ id }, { tokenVersion: () => 'token_version + 1' });
  }

  async softDelete(id: string): Promise<void> {
    await this.updateWhere(
      { id, deletedAt: IsNull() },
      { deletedAt: new Date(), updatedAt: new Date(), tokenVersion: () => 'token_version + 1' },
    );
  }

  async hardDelete(id: string): Promise<void> {
    await this.deleteWhere({ id });
  }

  /**
   * The tenant's active admins, locked until the unit of work ends: a demotion,
   * disabling or deletion checked against this list cannot race another one.
   */
  lockActiveAdmins(): Promise<User[]> {
    return this.lock({ role: Role.TENANT_ADMIN, status: UserStatus.ACTIVE, deletedAt: IsNull() });
  }

  /** Users of the tenant by role and status (deleted excluded). */
  countByRoleAndStatus(): Promise<{ role: string; status: string; count: number }[]> {
    return this.select('u', (qb) =>
      qb
        .andWhere('u.deleted_at IS NULL')
        .select('u.role', 'role')
        .addSelect('u.status', 'status')
        .addSelect('count(*)::int', 'count')
        .groupBy('u.role')
        .addGroupBy('u.status')
        .getRawMany<{ role: string; status: string; count: number }>(),
    );
  }

  /**
   * Counts one failed sign-in atomically (N parallel failures count N) and locks
   * the account once the count reaches the policy's maximum, for a time that
   * doubles with each further failure. Returns the new count and lock.
   */
  async recordLoginFailure(
    id: string,
    policy: LockoutPolicy,
  ): Promise<{ failedLogins: number; lockedUntil: Date | null }> {
    const [row] = await this.updateReturning(
      { id },
      {
        failedLogins: () => 'failed_logins + 1',
        lockedUntil: () =>
          `CASE WHEN failed_logins + 1 >= :maxFailures
             THEN now() + make_interval(secs => LEAST(:lockoutSeconds * power(2, LEAST(failed_logins + 1 - :maxFailures, 30)), :maxLockoutSeconds))
             ELSE locked_until END`,
      },
      ['failed_logins', 'locked_until'],
      policy as unknown as Record<string, unknown>,
    );
    return { failedLogins: Number(row?.failed_logins ?? 0), lockedUntil: (row?.locked_until as Date | null) ?? null };
  }

  async resetLoginFailures(id: string): Promise<void> {
    await this.updateWhere({ id }, { failedLogins: 0, lockedUntil: null });
  }

  async updatePassword(id: string, passwordHash: string): Promise<void> {
    await this.updateWhere({ id }, { passwordHash, failedLogins: 0, lockedUntil: null, updatedAt: new Date() });
  }

  /** Accepting an invitation proves the address: the user becomes active and verified. */
  async activateInvited(id: string, values: { name: string; passwordHash: string }): Promise<boolean> {
    const now = new Date();
    const changed = await this.updateWhere(
      { id, status: UserStatus.INVITED, deletedAt: IsNull() },
      { ...values, status: UserStatus.ACTIVE, emailVerifiedAt: now, updatedAt: now },
    );
    return changed === 1;
  }
}
