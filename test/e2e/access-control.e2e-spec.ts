import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ROLE_PERMISSIONS, Role, type Permission } from '../../src/core/auth/permissions.js';
import { bearer, newTenant, newUser, superAdmin, type Account, type TenantFixture } from '../helpers/factories.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
interface Operation {
  method: Method;
  path: string;
  permission: string;
}

/** Every operation of the running app, read from its OpenAPI document (generated from the router). */
async function operations(t: TestApp): Promise<Operation[]> {
  const doc = (await t.http({ method: 'GET', url: '/docs-json' })).json() as {
    paths: Record<string, Record<string, { 'x-required-permission'?: string }>>;
  };
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase() as Method,
      path,
      permission: op['x-required-permission'] ?? '(undeclared)',
    })),
  );
}

const key = (op: Pick<Operation, 'method' | 'path'>) => `${op.method} ${op.path}`;

describe('access control', () => {
  let t: TestApp;
  let ops: Operation[];
  beforeAll(async () => {
    t = await createTestApp();
    ops = await operations(t);
  });
  afterAll(() => t.close());

  it('declares who may call every route (a diff here is a permission change)', () => {
    const table = ops.map((op) => `${key(op)} -> ${op.permission}`).sort();
    expect(table).not.toContainEqual(expect.stringContaining('(undeclared)'));
    expect(table).toMatchSnapshot();
  });

  describe('cross-tenant isolation', () => {
    interface World {
      a: TenantFixture;
      aMember: Account;
      aKeyId: string;
      b: TenantFixture;
      bMember: Account;
      bKeyId: string;
    }
    type Case = { id: (w: World, own: boolean) => string; body?: object };
    const tenantId = (w: World, own: boolean) => (own ? w.b.id : w.a.id);
    const memberId = (w: World, own: boolean) => (own ? w.bMember.id : w.aMember.id);
    const keyId = (w: World, own: boolean) => (own ? w.bKeyId : w.aKeyId);
    // One case per route with an id; the suite fails when a new id route appears without one.
    const CASES: Record<string, Case> = {
      'GET /api/v1/tenants/{id}': { id: tenantId },
      'PATCH /api/v1/tenants/{id}': { id: tenantId, body: { name: 'Taken over', settings: { pwned: true } } },
      'DELETE /api/v1/tenants/{id}': { id: tenantId },
      'POST /api/v1/tenants/{id}/suspend': { id: tenantId, body: { reason: 'hostile' } },
      'POST /api/v1/tenants/{id}/reactivate': { id: tenantId },
      'GET /api/v1/tenants/{id}/statistics': { id: tenantId },
      'GET /api/v1/users/{id}': { id: memberId },
      'PATCH /api/v1/users/{id}': { id: memberId, body: { name: 'Taken over', role: 'tenant_admin' } },
      'DELETE /api/v1/users/{id}': { id: memberId },
      'POST /api/v1/users/{id}/verify': { id: memberId },
      'GET /api/v1/users/{id}/permissions': { id: memberId },
      'POST /api/v1/tenants/{id}/regenerate-api-key': { id: tenantId, body: { graceSeconds: 0 } },
      'GET /api/v1/api-keys/{id}': { id: keyId },
      'DELETE /api/v1/api-keys/{id}': { id: keyId },
    };

    it('has a case for every route with an id parameter', () => {
      const idRoutes = ops
        .filter((op) => op.path.includes('{id}'))
        .map(key)
        .sort();
      expect(idRoutes).toEqual(Object.keys(CASES).sort());
    });

    it("answers 404 for another tenant's ids on every route and changes nothing", async () => {
      const a = await newTenant(t);
      const b = await newTenant(t);
      const aMember = await newUser(t, a, 'member');
      const bMember = await newUser(t, b, 'member');
      const keyOf = async (owner: Account) =>
        (
          await t.http({
            method: 'POST',
            url: '/api/v1/api-keys',
            headers: bearer(owner.accessToken),
            payload: { name: 'k' },
          })
        ).json().id as string;
      const world: World = { a, b, aMember, bMember, aKeyId: await keyOf(aMember), bKeyId: await keyOf(bMember) };
      const snapshot = async () => ({
        tenant: await t.dataSource.query(`SELECT * FROM tenants WHERE id = $1`, [a.id]),
        users: await t.dataSource.query(`SELECT * FROM users WHERE tenant_id = $1 ORDER BY id`, [a.id]),
        keys: await t.dataSource.query(`SELECT * FROM api_keys WHERE tenant_id = $1 ORDER BY id`, [a.id]),
      });
      const before = await snapshot();

      for (const [route, c] of Object.entries(CASES)) {
        const [method, path] = route.split(' ') as [Method, string];
        const call = (own: boolean) =>
          t.http({
            method,
            url: path.replace('{id}', c.id(world, own)),
            headers: bearer(b.admin.accessToken),
            ...(c.body ? { payload: c.body } : {}),
          });
        const res = await call(false);
        if (res.statusCode === 403) {
          // Only for routes B's admin may never call: the answer must not depend on whose id it is.
          expect({ route, code: res.json().code }).toEqual({ route, code: 'PERMISSION_DENIED' });
          expect({ route, status: (await call(true)).statusCode }).toEqual({ route, status: 403 });
        } else {
          expect({ route, status: res.statusCode }).toEqual({ route, status: 404 });
        }
      }
      for (const path of ['/api/v1/users', `/api/v1/users/${world.aMember.id}`]) {
        const res = await t.http({
          method: 'GET',
          url: `${path}?tenantId=${a.id}`,
          headers: bearer(b.admin.accessToken),
        });
        expect({ path, status: res.statusCode }).toEqual({ path, status: 403 });
      }
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('role matrix', () => {
    const roles = [Role.VIEWER, Role.MEMBER, Role.TENANT_ADMIN, Role.SUPER_ADMIN] as const;
    const allowed = (role: Role, permission: string) =>
      permission === 'public' ||
      permission === 'authenticated' ||
      (permission.startsWith('super_admin')
        ? role === Role.SUPER_ADMIN
        : ROLE_PERMISSIONS[role].includes(permission as Permission));

    it('allows each role exactly the routes its permissions cover, and answers 403 otherwise', async () => {
      const outcomes: string[] = [];
      for (const op of ops.filter((o) => o.permission !== 'public')) {
        // A fresh tenant per route: some calls (logout-all, delete) spoil the callers' tokens.
        const tenant = await newTenant(t);
        const accounts: Record<string, Account> = {
          [Role.VIEWER]: await newUser(t, tenant, 'viewer'),
          [Role.MEMBER]: await newUser(t, tenant, 'member'),
          [Role.TENANT_ADMIN]: tenant.admin,
          [Role.SUPER_ADMIN]: await superAdmin(t),
        };
        for (const role of roles) {
          const caller = accounts[role];
          const target = op.path.startsWith('/api/v1/users/')
            ? role === Role.SUPER_ADMIN
              ? accounts.member.id
              : caller.id
            : tenant.id;
          const query =
            role === Role.SUPER_ADMIN && op.path.startsWith('/api/v1/users') ? `?tenantId=${tenant.id}` : '';
          const res = await t.http({
            method: op.method,
            url: `${op.path.replace('{id}', target)}${query}`,
            headers: bearer(caller.accessToken),
            ...(op.method === 'GET' || op.method === 'DELETE' ? {} : { payload: {} }),
          });
          expect({ op: key(op), role, status: res.statusCode }).not.toMatchObject({ status: 401 });
          const got = res.statusCode === 403 ? 'forbidden' : 'allowed';
          outcomes.push(`${key(op)} ${role}: ${got}`);
          expect({ op: key(op), role, got }).toEqual({
            op: key(op),
            role,
            got: allowed(role, op.permission) ? 'allowed' : 'forbidden',
          });
        }
      }
      expect(outcomes.length).toBeGreaterThan(40);
    });
  });
});
