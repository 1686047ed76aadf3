import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ObjectLiteral } from 'typeorm';
import { Role } from '../../src/core/auth/permissions.js';
import { RequestContext } from '../../src/core/context/request-context.js';
import {
  SCOPED_REPOSITORIES,
  type TenantBoundQueryBuilder,
  type TenantScopedRepository,
} from '../../src/core/database/tenant-scoped.repository.js';
import { TENANT_ROLE, UnitOfWork } from '../../src/core/database/unit-of-work.js';
import { UsersRepository } from '../../src/core/identity/users.repository.js';
import { type User } from '../../src/core/identity/user.entity.js';
import { newTenant, newUser, type TenantFixture } from '../helpers/factories.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

/** Tables that name a tenant but are not tenant-owned: platform rows (super admins' sign-ins, platform mail). */
const PLATFORM_TABLES_WITH_TENANT = ['auth_sessions', 'mail_outbox'];

describe('data core: tenant scoping, unit of work, row-level security', () => {
  let t: TestApp;
  let a: TenantFixture;
  let b: TenantFixture;
  let uow: UnitOfWork;
  let context: RequestContext;

  beforeAll(async () => {
    t = await createTestApp();
    a = await newTenant(t);
    b = await newTenant(t);
    await newUser(t, a, 'member');
    await newUser(t, b, 'member');
    uow = t.app.get(UnitOfWork);
    context = t.app.get(RequestContext);
  });
  afterAll(() => t.close());

  const tenantTables = () =>
    t.dataSource.entityMetadatas
      .filter((m) => m.columns.some((c) => c.databaseName === 'tenant_id' && !c.isNullable))
      .map((m) => m.tableName)
      .sort();

  it('has a scoped repository for every entity with a tenant column, and each fails closed with no tenant', async () => {
    const withTenant = t.dataSource.entityMetadatas.filter((m) =>
      m.columns.some((c) => c.databaseName === 'tenant_id'),
    );
    const owned = withTenant.filter((m) => !PLATFORM_TABLES_WITH_TENANT.includes(m.tableName));
    expect(owned.map((m) => m.tableName).sort()).toEqual(tenantTables());
    expect(owned.length).toBeGreaterThanOrEqual(3);
    for (const metadata of owned) {
      const repositoryClass = SCOPED_REPOSITORIES.get(metadata.target as never);
      expect({ table: metadata.tableName, scoped: repositoryClass !== undefined }).toEqual({
        table: metadata.tableName,
        scoped: true,
      });
      const repository = t.app.get(repositoryClass as never) as TenantScopedRepository<
        ObjectLiteral & { tenantId: string }
      >;
      // The base's own methods, called as a subclass would: every one must refuse without a tenant.
      const base = repository as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      const calls: [string, unknown[]][] = [
        ['findOne', [{}]],
        ['find', [{}]],
        ['count', [{}]],
        ['insertOne', [{}]],
        ['updateWhere', [{}, {}]],
        ['updateReturning', [{}, {}, ['id']]],
        ['deleteWhere', [{}]],
        ['select', ['x', async (qb: TenantBoundQueryBuilder<ObjectLiteral>) => qb.getMany()]],
      ];
      for (const [method, args] of calls) {
        await expect(base[method].apply(repository, args)).rejects.toThrow(/No tenant in the request context/);
      }
    }
    for (const table of PLATFORM_TABLES_WITH_TENANT) {
      const [column] = await t.dataSource.query(
        `SELECT is_nullable FROM information_schema.columns WHERE table_name = $1 AND column_name = 'tenant_id'`,
        [table],
      );
      expect({ table, nullable: column.is_nullable }).toEqual({ table, nullable: 'YES' });
    }
  });

  it('keeps the tenant condition however the query builder is used afterwards', async () => {
    const users = t.app.get(UsersRepository) as unknown as {
      select<R>(alias: string, build: (qb: TenantBoundQueryBuilder<User>) => Promise<R>): Promise<R>;
    };
    const rowsOf = (build: (qb: TenantBoundQueryBuilder<User>) => TenantBoundQueryBuilder<User>) =>
      context.runInTenant(a.id, () => users.select('u', (qb) => build(qb).getMany()));
    const everyone = 'u.id IS NOT NULL';
    for (const rows of [
      await rowsOf((qb) => qb.where(everyone)),
      await rowsOf((qb) => qb.andWhere('1 = 1').orWhere(everyone)),
      await rowsOf((qb) => qb.where('u.tenant_id = :other', { other: b.id }).orWhere(everyone)),
      await rowsOf((qb) => qb.setParameters({ scopeTenantId: b.id }).where(everyone)),
    ]) {
      expect(rows.length).toBe(2);
      expect(new Set(rows.map((r) => r.tenantId))).toEqual(new Set([a.id]));
    }
    // Counts clone the builder: the clone keeps the condition too.
    const count = await context.runInTenant(a.id, () => users.select('u', (qb) => qb.orWhere(everyone).getCount()));
    expect(count).toBe(2);
    // A bound builder never turns into a write.
    await expect(
      context.runInTenant(a.id, () => users.select('u', async (qb) => qb.delete().execute())),
    ).rejects.toThrow(/only reads/);
  });

  it('backs scoping with row-level security: an unscoped query for a tenant sees only its rows', async () => {
    const all = await t.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE tenant_id IN ($1, $2)`, [
      a.id,
      b.id,
    ]);
    expect(all).toEqual([{ n: 4 }]);
    for (const table of tenantTables()) {
      const seen: { tenant_id: string }[] = await uow.forTenant(a.id, (manager) =>
        manager.query(`SELECT tenant_id FROM "${table}"`),
      );
      expect({ table, tenants: [...new Set(seen.map((r) => r.tenant_id))] }).toEqual({
        table,
        tenants: seen.length > 0 ? [a.id] : [],
      });
    }
    // Writing another tenant's rows through a tenant's role is refused by the policy, not only by the code.
    await expect(
      uow.forTenant(a.id, (manager) =>
        manager.query(
          `INSERT INTO users (tenant_id, email, name, role, status) VALUES ($1, 'x@y.test', 'X', 'member', 'active')`,
          [b.id],
        ),
      ),
    ).rejects.toThrow(/row-level security/);
    const changed = await uow.forTenant(a.id, (manager) =>
      manager.query(`UPDATE users SET name = 'taken' WHERE tenant_id = $1`, [b.id]),
    );
    expect((changed as [unknown[], number])[1]).toBe(0);
    const bNames = await t.dataSource.query(`SELECT name FROM users WHERE tenant_id = $1 AND name = 'taken'`, [b.id]);
    expect(bNames).toEqual([]);
    // The role the policies bind really is in force, and a plain session does not carry it over.
    const [{ role }] = await uow.forTenant(a.id, (manager) => manager.query(`SELECT current_user AS role`));
    expect(role).toBe(TENANT_ROLE);
    const [{ role: after }] = await t.dataSource.query(`SELECT current_user AS role`);
    expect(after).not.toBe(TENANT_ROLE);
  });

  it('enables row-level security, with the tenant policy, on every tenant-owned table', async () => {
    const rows: { relname: string; relrowsecurity: boolean; policies: number }[] = await t.dataSource.query(
      `SELECT c.relname, c.relrowsecurity, (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
         FROM pg_class c WHERE c.relname = ANY($1) ORDER BY c.relname`,
      [tenantTables()],
    );
    expect(rows).toEqual(tenantTables().map((relname) => ({ relname, relrowsecurity: true, policies: 1 })));
  });

  it('joins one transaction across repositories, rolls all of it back on failure, and runs after-commit hooks only on commit', async () => {
    const users = t.app.get(UsersRepository);
    const ran: string[] = [];
    const countA = async () =>
      (await t.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE tenant_id = $1`, [a.id]))[0].n as number;
    const before = await countA();
    await expect(
      context.runInTenant(a.id, () =>
        uow.run(async () => {
          await users.create({
            email: 'rolled-back@example.test',
            name: 'R',
            role: Role.MEMBER,
            status: 'active' as never,
            passwordHash: null,
          });
          uow.afterCommit(() => ran.push('rolled back'));
          throw new Error('abort');
        }),
      ),
    ).rejects.toThrow('abort');
    expect(await countA()).toBe(before);
    await context.runInTenant(a.id, () =>
      uow.run(async () => {
        await users.create({
          email: 'committed@example.test',
          name: 'C',
          role: Role.MEMBER,
          status: 'active' as never,
          passwordHash: null,
        });
        uow.afterCommit(() => ran.push('committed'));
        // Nothing is visible to other connections, and no hook has run, before the commit.
        expect(ran).toEqual([]);
      }),
    );
    expect(ran).toEqual(['committed']);
    expect(await countA()).toBe(before + 1);
  });
  it('runs a one-statement transaction again when PostgreSQL ends it as a deadlock victim', async () => {
    // Two statements that lock the same two rows in opposite orders: on PostgreSQL one of them is
    // rolled back as the deadlock victim and runs again; each adds 1 to both rows exactly once.
    await t.dataSource.query(`CREATE TABLE deadlock_probe (id int PRIMARY KEY, n int NOT NULL)`);
    await t.dataSource.query(`INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)`);
    await t.dataSource.query(`
      CREATE FUNCTION deadlock_probe_bump(first int, second int) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE deadlock_probe SET n = n + 1 WHERE id = first;
        PERFORM pg_sleep(0.3);
        UPDATE deadlock_probe SET n = n + 1 WHERE id = second;
      END $$`);
    const bump = (first: number, second: number) =>
      uow.statement(a.id, (manager) => manager.query(`SELECT deadlock_probe_bump($1, $2)`, [first, second]));
    await Promise.all([bump(1, 2), bump(2, 1)]);
    expect(await t.dataSource.query(`SELECT id, n FROM deadlock_probe ORDER BY id`)).toEqual([
      { id: 1, n: 2 },
      { id: 2, n: 2 },
    ]);
  });
});
