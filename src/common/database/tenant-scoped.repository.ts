import type { FindManyOptions, FindOptionsWhere, ObjectLiteral, Repository, SelectQueryBuilder } from 'typeorm';
import type { RequestContext } from '../context/request-context.js';

type Scoped<T> = FindOptionsWhere<T>;

/**
 * Base of every repository over a tenant-owned table. Each read, insert, update
 * and delete carries the tenant of the request context; with no tenant set,
 * every method throws (fail closed). Subclasses add named methods.
 */
export abstract class TenantScopedRepository<T extends ObjectLiteral & { tenantId: string }> {
  protected constructor(
    protected readonly repository: Repository<T>,
    protected readonly context: RequestContext,
  ) {}

  protected get tenantId(): string {
    return this.context.tenantId;
  }

  protected scope(where: Scoped<T> = {}): Scoped<T> {
    return { ...where, tenantId: this.tenantId } as Scoped<T>;
  }

  protected async findOne(where: Scoped<T>): Promise<T | null> {
    return this.repository.findOne({ where: this.scope(where) });
  }

  protected async find(
    options: Omit<FindManyOptions<T>, 'where'> & { where?: Scoped<T> | Scoped<T>[] } = {},
  ): Promise<T[]> {
    const where = Array.isArray(options.where) ? options.where.map((w) => this.scope(w)) : this.scope(options.where);
    return this.repository.find({ ...options, where });
  }

  protected async count(where: Scoped<T> = {}): Promise<number> {
    return this.repository.count({ where: this.scope(where) });
  }

  protected async insertOne(values: Omit<Partial<T>, 'tenantId'>): Promise<T> {
    const entity = this.repository.create({ ...values, tenantId: this.tenantId } as unknown as T);
    return this.repository.save(entity);
  }

  /** Updates the rows matching `where` inside the tenant; returns how many changed. */
  protected async updateWhere(where: Scoped<T>, patch: Partial<T>): Promise<number> {
    const { tenantId: _ignored, ...safePatch } = patch as Partial<T> & { tenantId?: string };
    const result = await this.repository.update(this.scope(where), safePatch as never);
    return result.affected ?? 0;
  }

  protected async deleteWhere(where: Scoped<T>): Promise<number> {
    const result = await this.repository.delete(this.scope(where));
    return result.affected ?? 0;
  }

  protected queryBuilder(alias: string): SelectQueryBuilder<T> {
    return this.repository.createQueryBuilder(alias).where(`${alias}.tenant_id = :scopeTenantId`, {
      scopeTenantId: this.tenantId,
    });
  }
}
