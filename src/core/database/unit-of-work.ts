import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { AsyncContext } from '../context/async-context.js';

/** The database role tenant-scoped work runs as, so row-level security policies bind (see the RLS migration). */
export const TENANT_ROLE = 'atrium_app';
/** The transaction-local setting the row-level security policies read. */
export const TENANT_SETTING = 'atrium.tenant_id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Failures after which a statement that is its own transaction may simply run again: PostgreSQL
 * rolled it back whole (deadlock_detected, serialization_failure). A deadlock can join, for
 * example, a commit that records a call's tokens (it takes token counters after the wallet) and a
 * usage-event batch on the same token meter (counters, then the wallet).
 */
const RETRYABLE_STATES = new Set(['40P01', '40001']);
const STATEMENT_ATTEMPTS = 3;

function sqlStateOf(err: unknown): string {
  const code = ((err as { driverError?: { code?: unknown } }).driverError ?? (err as { code?: unknown })).code;
  return typeof code === 'string' ? code : '';
}

interface TransactionState {
  manager: EntityManager;
  /** The tenant the policies currently see, or undefined while the transaction runs as the connection's role. */
  tenantId?: string;
  afterCommit: (() => unknown)[];
  finished: boolean;
}

/**
 * The unit of work: one database transaction carried in the request context
 * (AsyncLocalStorage). Repositories reach the database only through it, so
 * everything done inside `run()` joins the same transaction. Work for a tenant
 * runs as TENANT_ROLE with the tenant in a transaction-local setting, so
 * row-level security backs up the scoped repositories. Side effects registered
 * with `afterCommit` run once the outermost transaction has committed, and
 * never when it rolls back.
 */
@Injectable()
export class UnitOfWork {
  private readonly logger = new Logger('UnitOfWork');
  private readonly rowLevelSecurity: boolean;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.rowLevelSecurity = config.database.rowLevelSecurity;
  }

  /** The current transaction's entity manager, or the data source's outside a transaction. */
  get manager(): EntityManager {
    return this.state()?.manager ?? this.dataSource.manager;
  }

  get inTransaction(): boolean {
    return this.state() !== undefined;
  }

  /** Runs `fn` in the current transaction, or in a new one that commits when `fn` resolves. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.state()) return fn();
    const state: TransactionState = { manager: this.dataSource.manager, afterCommit: [], finished: false };
    let result: T;
    try {
      result = await this.dataSource.transaction((manager) => {
        state.manager = manager;
        return AsyncContext.fork({ transaction: state }, fn);
      });
    } finally {
      state.finished = true;
    }
    for (const hook of state.afterCommit) {
      try {
        await hook();
      } catch (err) {
        this.logger.error({
          message: `After-commit hook failed: ${(err as Error).message}`,
          stack: (err as Error).stack,
        });
      }
    }
    return result;
  }

  /** Runs `fn` after the current transaction commits (at once when there is none). */
  afterCommit(fn: () => unknown): void {
    const state = this.state();
    if (state) state.afterCommit.push(fn);
    else void Promise.resolve().then(fn);
  }

  /**
   * Runs `fn` with a manager that sees only `tenantId`'s rows: inside the current
   * transaction (or a new one), as TENANT_ROLE with the tenant setting applied.
   */
  async forTenant<T>(tenantId: string, fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!UUID.test(tenantId)) throw new Error('Tenant-scoped work needs a tenant id (a UUID)');
    if (!this.rowLevelSecurity) return fn(this.manager);
    return this.run(async () => {
      const state = this.state()!;
      if (state.tenantId !== tenantId) {
        await state.manager.query(`SELECT set_config('role', $1, true), set_config($2, $3, true)`, [
          TENANT_ROLE,
          TENANT_SETTING,
          tenantId,
        ]);
        state.tenantId = tenantId;
      }
      return fn(state.manager);
    });
  }

  /**
   * Runs `fn` (one statement that acts as `tenantId` itself, such as a metering
   * function) in the current transaction when there is one, acting as the
   * tenant; otherwise on its own, the statement its own transaction: one round
   * trip, no BEGIN or COMMIT, run again when PostgreSQL rolls it back for a
   * deadlock. `fn` learns whether row-level security applies.
   */
  async statement<T>(
    tenantId: string,
    fn: (manager: EntityManager, rowLevelSecurity: boolean) => Promise<T>,
  ): Promise<T> {
    if (!UUID.test(tenantId)) throw new Error('Tenant-scoped work needs a tenant id (a UUID)');
    if (this.state()) return this.forTenant(tenantId, (manager) => fn(manager, this.rowLevelSecurity));
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(this.dataSource.manager, this.rowLevelSecurity);
      } catch (err) {
        // The statement was its own transaction, and PostgreSQL rolled all of it back: run it again.
        if (attempt >= STATEMENT_ATTEMPTS || !RETRYABLE_STATES.has(sqlStateOf(err))) throw err;
        this.logger.warn(`A statement was rolled back (SQLSTATE ${sqlStateOf(err)}, attempt ${attempt}); retrying it`);
      }
    }
  }

  /**
   * Runs `fn` with a manager that is not limited to a tenant (lookups that must
   * happen before the tenant is known, platform tables). Inside a transaction
   * that acts for a tenant, it switches back to the connection's own role first.
   */
  async unscoped<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    const state = this.state();
    if (state?.tenantId !== undefined) {
      await state.manager.query(`SELECT set_config('role', 'none', true), set_config($1, '', true)`, [TENANT_SETTING]);
      state.tenantId = undefined;
    }
    return fn(this.manager);
  }

  private state(): TransactionState | undefined {
    const state = AsyncContext.current()?.transaction as TransactionState | undefined;
    return state && !state.finished ? state : undefined;
  }
}
