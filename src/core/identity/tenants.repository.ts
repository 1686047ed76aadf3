import { Injectable } from '@nestjs/common';
import { PlatformRepository } from '../database/platform.repository.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import { Tenant, TenantStatus } from './tenant.entity.js';

export interface TenantFilter {
  status?: TenantStatus;
  search?: string;
  limit: number;
  offset: number;
}

/** The tenants table is the platform's directory, not tenant-owned data: only platform-level code reaches it. */
@Injectable()
export class TenantsRepository extends PlatformRepository<Tenant> {
  constructor(uow: UnitOfWork) {
    super(Tenant, uow);
  }

  findById(id: string): Promise<Tenant | null> {
    return this.run((tenants) => tenants.findOne({ where: { id } }));
  }

  /**
   * Locks the tenant's directory row until the unit of work ends: the mutex for
   * changes that must not interleave within one tenant (the one live tenant key).
   */
  async lock(id: string): Promise<Tenant | null> {
    if (!this.inTransaction) throw new Error('Row locks need a unit of work: wrap the caller in UnitOfWork.run');
    return this.run((tenants) => tenants.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } }));
  }

  async slugTaken(slug: string): Promise<boolean> {
    return this.run(async (tenants) => (await tenants.count({ where: { slug } })) > 0);
  }

  create(values: Pick<Tenant, 'name' | 'slug'>): Promise<Tenant> {
    return this.run((tenants) =>
      tenants.save(tenants.create({ ...values, status: TenantStatus.ACTIVE, statusReason: null, settings: {} })),
    );
  }

  async update(
    id: string,
    patch: Partial<Pick<Tenant, 'name' | 'slug' | 'settings' | 'status' | 'statusReason' | 'deletedAt'>>,
  ): Promise<void> {
    await this.run((tenants) =>
      tenants.update({ id }, { ...patch, updatedAt: new Date() } as Parameters<typeof tenants.update>[1]),
    );
  }

  async purge(id: string): Promise<void> {
    await this.run((tenants) => tenants.delete({ id }));
  }

  list(filter: TenantFilter): Promise<[Tenant[], number]> {
    return this.run((tenants) => {
      const qb = tenants.createQueryBuilder('t');
      if (filter.status) qb.andWhere('t.status = :status', { status: filter.status });
      if (filter.search) {
        const pattern = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`).toLowerCase()}%`;
        qb.andWhere('(lower(t.name) LIKE :pattern OR t.slug LIKE :pattern)', { pattern });
      }
      return qb
        .orderBy('t.created_at', 'ASC')
        .addOrderBy('t.id', 'ASC')
        .take(filter.limit)
        .skip(filter.offset)
        .getManyAndCount();
    });
  }
}
