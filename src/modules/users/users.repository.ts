import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type Repository } from 'typeorm';
import { Role, type TenantRole } from '../../common/auth/permissions.js';
import { TenantScopedRepository } from '../../common/database/tenant-scoped.repository.js';
import { RequestContext } from '../../common/context/request-context.js';
import { User, UserStatus } from './user.entity.js';

export interface UserFilter {
  role?: TenantRole;
  status?: UserStatus;
  search?: string;
  limit: number;
  offset: number;
}

/** Users of the current tenant; deleted (soft) users are invisible here. */
@Injectable()
export class UsersRepository extends TenantScopedRepository<User> {
  constructor(@InjectRepository(User) repository: Repository<User>, context: RequestContext) {
    super(repository, context);
  }

  findById(id: string): Promise<User | null> {
    return this.findOne({ id, deletedAt: IsNull() });
  }

  async emailTaken(email: string): Promise<boolean> {
    const n = await this.queryBuilder('u')
      .andWhere('lower(u.email) = lower(:email)', { email })
      .andWhere('u.deleted_at IS NULL')
      .getCount();
    return n > 0;
  }

  async list(filter: UserFilter): Promise<[User[], number]> {
    const qb = this.queryBuilder('u').andWhere('u.deleted_at IS NULL');
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

  /** Revokes every access token of the user (checked on each request). */
  async bumpTokenVersion(id: string): Promise<void> {
    await this.repository.increment(this.scope({ id }), 'tokenVersion', 1);
  }

  async softDelete(id: string): Promise<void> {
    await this.updateWhere({ id, deletedAt: IsNull() }, { deletedAt: new Date(), updatedAt: new Date() });
    await this.bumpTokenVersion(id);
  }

  async hardDelete(id: string): Promise<void> {
    await this.deleteWhere({ id });
  }

  countActiveAdmins(): Promise<number> {
    return this.count({ role: Role.TENANT_ADMIN, status: UserStatus.ACTIVE, deletedAt: IsNull() });
  }

  /** Users of the tenant by role and status (deleted excluded). */
  async countByRoleAndStatus(): Promise<{ role: string; status: string; count: number }[]> {
    const rows = await this.queryBuilder('u')
      .andWhere('u.deleted_at IS NULL')
      .select('u.role', 'role')
      .addSelect('u.status', 'status')
      .addSelect('count(*)::int', 'count')
      .groupBy('u.role')
      .addGroupBy('u.status')
      .getRawMany<{ role: string; status: string; count: number }>();
    return rows;
  }
}
