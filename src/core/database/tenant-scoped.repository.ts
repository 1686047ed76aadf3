import {
  type DataSource,
  type DeleteQueryBuilder,
  type EntityManager,
  type EntityTarget,
  type FindManyOptions,
  type FindOptionsWhere,
  type InsertQueryBuilder,
  type ObjectLiteral,
  type QueryBuilder,
  type QueryRunner,
  type RelationQueryBuilder,
  type Repository,
  SelectQueryBuilder,
  type UpdateQueryBuilder,
} from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import type { SoftDeleteQueryBuilder } from 'typeorm/query-builder/SoftDeleteQueryBuilder.js';
import type { RequestContext } from '../context/request-context.js';
import type { UnitOfWork } from './unit-of-work.js';
import { queryRows } from './query-rows.js';

/** A `where` of a scoped repository: the tenant is never part of it, the base adds it. */
export type Scoped<T> = Omit<FindOptionsWhere<T>, 'tenantId'>;

/** Every scoped repository class by the entity it guards (read by the fail-closed test). */
export const SCOPED_REPOSITORIES = new Map<EntityTarget<ObjectLiteral>, object>();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function refuse(): never {
  throw new Error('A tenant-scoped query builder only reads; write through the scoped repository methods');
}

/**
 * A select query builder bound to one tenant. The tenant condition is added when
 * the SQL is generated, after every `where`/`orWhere` call, so no later call can
 * remove or widen it: the statement reads `WHERE (<conditions>) AND alias.tenant_id = '<tenant>'`.
 * It survives `clone()` (used by counts); it cannot be turned into a write.
 */
export class TenantBoundQueryBuilder<T extends ObjectLiteral> extends SelectQueryBuilder<T> {
  private boundTenantId?: string;

  constructor(source: DataSource | QueryBuilder<ObjectLiteral>, queryRunner?: QueryRunner) {
    super(source as DataSource, queryRunner);
    if (source instanceof TenantBoundQueryBuilder) this.boundTenantId = source.boundTenantId;
  }

  static of<T extends ObjectLiteral>(
    manager: EntityManager,
    entity: EntityTarget<T>,
    alias: string,
    tenantId: string,
  ): TenantBoundQueryBuilder<T> {
    if (!UUID.test(tenantId)) throw new Error('A tenant-scoped query needs a tenant id (a UUID)');
    const qb = new TenantBoundQueryBuilder<T>(manager.connection, manager.queryRunner);
    qb.boundTenantId = tenantId;
    return qb.select(alias).from(entity, alias) as TenantBoundQueryBuilder<T>;
  }

  protected override createWhereExpression(): string {
    const own = super.createWhereExpression();
    if (!this.boundTenantId) return own;
    // The id was checked to be a UUID, so it is inlined: a later setParameter() cannot change it.
    const tenant = `${this.escape(this.expressionMap.mainAlias!.name)}.${this.escape('tenant_id')} = '${this.boundTenantId}'`;
    const conditions = own.replace(/^ WHERE /, '');
    return conditions ? ` WHERE ( ${conditions} ) AND ${tenant}` : ` WHERE ${tenant}`;
  }

  override insert(): InsertQueryBuilder<T> {
    return refuse();
  }
  override update(): UpdateQueryBuilder<T> {
    return refuse();
  }
  override delete(): DeleteQueryBuilder<T> {
    return refuse();
  }
  override softDelete(): SoftDeleteQueryBuilder<T> {
    return refuse();
  }
  override restore(): SoftDeleteQueryBuilder<T> {
    return refuse();
  }
  override relation(): RelationQueryBuilder<T> {
    return refuse();
  }
}

/**
 * Base of every repository over a tenant-owned table: the only way to reach one.
 * Each read, insert, update and delete carries the tenant of the request
 * context and runs in the unit of work (as the tenant's database role, so
 * row-level security applies too). With no tenant set, every method throws
 * (fail closed). The TypeORM repository stays private to this class;
 * subclasses add named methods on top of the protected ones below.
 */
export abstract class TenantScopedRepository<T extends ObjectLiteral & { tenantId: string }> {
  readonly #entity: EntityTarget<T>;
  readonly #uow: UnitOfWork;
  readonly #context: RequestContext;

  protected constructor(entity: EntityTarget<T>, uow: UnitOfWork, context: RequestContext) {
    this.#entity = entity;
    this.#uow = uow;
    this.#context = context;
    SCOPED_REPOSITORIES.set(entity, new.target);
  }

  /** The tenant this repository acts in (the request context's). Throws when none is set. */
  protected get tenantId(): string {
    return this.#context.tenantId;
  }

  async #run<R>(fn: (repository: Repository<T>, tenantId: string, manager: EntityManager) => Promise<R>): Promise<R> {
    const tenantId = this.#context.tenantId;
    return this.#uow.forTenant(tenantId, (manager) => fn(manager.getRepository(this.#entity), tenantId, manager));
  }

  #scope(where: Scoped<T>, tenantId: string): FindOptionsWhere<T> {
    return { ...where, tenantId } as FindOptionsWhere<T>;
  }

  protected findOne(where: Scoped<T>): Promise<T | null> {
    return this.#run((repo, tenantId) => repo.findOne({ where: this.#scope(where, tenantId) }));
  }

  protected find(options: Omit<FindManyOptions<T>, 'where'> & { where?: Scoped<T> | Scoped<T>[] } = {}): Promise<T[]> {
    return this.#run((repo, tenantId) => {
      const where = options.where ?? ({} as Scoped<T>);
      const scoped = Array.isArray(where) ? where.map((w) => this.#scope(w, tenantId)) : this.#scope(where, tenantId);
      return repo.find({ ...options, where: scoped });
    });
  }

  protected count(where: Scoped<T> = {} as Scoped<T>): Promise<number> {
    return this.#run((repo, tenantId) => repo.count({ where: this.#scope(where, tenantId) }));
  }

  protected insertOne(values: Omit<QueryDeepPartialEntity<T>, 'tenantId'>): Promise<T> {
    return this.#run(async (repo, tenantId) => {
      const entity = repo.create({ ...values, tenantId } as unknown as T);
      return repo.save(entity);
    });
  }

  /** Updates the rows matching `where` inside the tenant; returns how many changed. */
  protected updateWhere(where: Scoped<T>, patch: Omit<QueryDeepPartialEntity<T>, 'tenantId'>): Promise<number> {
    return this.#run(async (repo, tenantId) => {
      const { tenantId: _ignored, ...safe } = patch as QueryDeepPartialEntity<T> & { tenantId?: unknown };
      const result = await repo.update(this.#scope(where, tenantId), safe as unknown as QueryDeepPartialEntity<T>);
      return result.affected ?? 0;
    });
  }

  /**
   * One atomic UPDATE … RETURNING inside the tenant. `set` values may be SQL
   * expressions (functions returning SQL, with `:named` parameters), e.g. a
   * counter that N parallel requests must each increment once.
   */
  protected async updateReturning(
    where: Scoped<T>,
    set: Omit<QueryDeepPartialEntity<T>, 'tenantId'>,
    returning: string[],
    parameters: Record<string, unknown> = {},
  ): Promise<Record<string, unknown>[]> {
    return this.#run(async (repo, tenantId) => {
      const result = await repo
        .createQueryBuilder()
        .update()
        .set(set as QueryDeepPartialEntity<T>)
        .where(this.#scope(where, tenantId))
        .setParameters(parameters)
        .returning(returning)
        .execute();
      return result.raw as Record<string, unknown>[];
    });
  }

  protected deleteWhere(where: Scoped<T>): Promise<number> {
    return this.#run(async (repo, tenantId) => (await repo.delete(this.#scope(where, tenantId))).affected ?? 0);
  }

  /**
   * Locks the matching rows (SELECT … FOR UPDATE) until the unit of work ends,
   * so a check-then-write (the last admin, the one live tenant key) cannot race.
   */
  protected async lock(where: Scoped<T>): Promise<T[]> {
    if (!this.#uow.inTransaction) throw new Error('Row locks need a unit of work: wrap the caller in UnitOfWork.run');
    return this.#run((repo, tenantId) =>
      repo.find({ where: this.#scope(where, tenantId), lock: { mode: 'pessimistic_write' } }),
    );
  }

  /**
   * One SQL statement in the tenant's scope, for what the methods above cannot
   * say (conditional holds, upserts of aggregates): the tenant is always `$1`,
   * the caller's parameters follow from `$2`, and the statement must use `$1`.
   * Row-level security binds it like every other query of this repository.
   */
  protected async query<R = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> {
    if (!/\$1(?!\d)/.test(text)) throw new Error('A tenant-scoped statement must match the tenant ($1)');
    return this.#run((_repo, tenantId, manager) => queryRows<R>(manager, text, [tenantId, ...params]));
  }

  /**
   * One call of a database function that acts as the tenant itself: `$1` is the
   * tenant, `$2` whether row-level security applies (the function then takes the
   * tenant's role and setting, as a unit of work does), the caller's parameters
   * follow from `$3`. Outside a unit of work the call is its own transaction.
   */
  protected async call<R = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> {
    if (!/\(\$1, \$2(?!\d)/.test(text)) throw new Error('A tenant function call must pass the tenant ($1, $2) first');
    const tenantId = this.#context.tenantId;
    return this.#uow.statement(tenantId, (manager, rls) => queryRows<R>(manager, text, [tenantId, rls, ...params]));
  }

  /**
   * One call of a SECURITY DEFINER function that applies the tenant
   * condition itself (where row-level security would keep an index from
   * serving a query): `$1` is the tenant, the caller's parameters follow from
   * `$2`. Outside a unit of work the call is its own transaction.
   */
  protected async callDefiner<R = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> {
    if (!/\(\$1(?!\d)/.test(text)) throw new Error('A tenant function call must pass the tenant ($1) first');
    const tenantId = this.#context.tenantId;
    return this.#uow.statement(tenantId, (manager) => queryRows<R>(manager, text, [tenantId, ...params]));
  }

  /** A read-only query builder bound to the tenant (see TenantBoundQueryBuilder). */
  protected select<R>(alias: string, build: (qb: TenantBoundQueryBuilder<T>) => Promise<R>): Promise<R> {
    return this.#run((_repo, tenantId, manager) =>
      build(TenantBoundQueryBuilder.of(manager, this.#entity, alias, tenantId)),
    );
  }
}
