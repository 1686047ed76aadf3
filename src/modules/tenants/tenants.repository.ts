import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type Repository } from 'typeorm';
import { Tenant, TenantStatus } from './tenant.entity.js';

export interface TenantFilter {
  status?: TenantStatus;
  search?: string;
  limit: number;
  offset: number;
}

/** The tenants table is the platform's directory, not tenant-owned data: only platform-level code reaches it. */
@Injectable()
export class TenantsRepository {
  constructor(@InjectRepository(Tenant) private readonly tenants: Repository<Tenant>) {}

  findById(id: string): Promise<Tenant | null> {
    return this.tenants.findOne({ where: { id } });
  }

  async slugTaken(slug: string): Promise<boolean> {
    return (await this.tenants.count({ where: { slug } })) > 0;
  }

  create(values: Pick<Tenant, 'name' | 'slug'>): Promise<Tenant> {
    return this.tenants.save(
      this.tenants.create({ ...values, status: TenantStatus.ACTIVE, statusReason: null, settings: {} }),
    );
  }

  async update(
    id: string,
    patch: Partial<Pick<Tenant, 'name' | 'slug' | 'settings' | 'status' | 'statusReason' | 'deletedAt'>>,
  ) {
    await this.tenants.update({ id }, { ...patch, updatedAt: new Date() } as Parameters<
      Repository<Tenant>['update']
    >[1]);
  }

  async purge(id: string): Promise<void> {
    await this.tenants.delete({ id });
  }

  list(filter: TenantFilter): Promise<[Tenant[], number]> {
    const qb = this.tenants.createQueryBuilder('t');
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
  }
}
