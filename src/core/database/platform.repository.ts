import type { EntityManager, EntityTarget, ObjectLiteral, Repository } from 'typeorm';
import type { UnitOfWork } from './unit-of-work.js';

/**
 * Base of repositories over platform tables, which belong to no single tenant
 * (the tenant directory, platform admins, sign-in sessions, the mail outbox,
 * jobs) and of the one named repository that finds identities before their
 * tenant is known. Their queries are not tenant-scoped, so each method must
 * name what it matches on; they run in the current unit of work.
 */
export abstract class PlatformRepository<T extends ObjectLiteral> {
  readonly #entity: EntityTarget<T>;
  readonly #uow: UnitOfWork;

  protected constructor(entity: EntityTarget<T>, uow: UnitOfWork) {
    this.#entity = entity;
    this.#uow = uow;
  }

  protected run<R>(fn: (repository: Repository<T>, manager: EntityManager) => Promise<R>): Promise<R> {
    return this.#uow.unscoped((manager) => fn(manager.getRepository(this.#entity), manager));
  }

  protected get inTransaction(): boolean {
    return this.#uow.inTransaction;
  }
}
