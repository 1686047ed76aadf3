import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuthService } from '../../src/modules/auth/auth.service.js';
import { bearer, login, newTenant, newUser, superAdmin, tenantRow, userRow } from '../helpers/factories.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

describe('tenants and users', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, payload?: object) =>
    t.http({ method, url: `/api/v1${url}`, headers: bearer(token), ...(payload ? { payload } : {}) });

  it('bootstraps the configured super admin idempotently', async () => {
    await t.app.get(AuthService).onApplicationBootstrap();
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM platform_admins`)).toEqual([{ n: 1 }]);
    const root = await superAdmin(t);
    const me = await call('GET', '/auth/me', root.accessToken);
    expect(me.json()).toMatchObject({ kind: 'platform_admin', role: 'super_admin', tenant: null });
  });

  it('suspends a tenant: its users get 403 TENANT_SUSPENDED everywhere until reactivation', async () => {
    const root = await superAdmin(t);
    const tenant = await newTenant(t);
    const member = await newUser(t, tenant, 'member');
    const suspend = await call('POST', `/tenants/${tenant.id}/suspend`, root.accessToken, {
      reason: 'Payment overdue',
    });
    expect(suspend.statusCode).toBe(200);
    expect(suspend.json()).toMatchObject({ status: 'suspended', statusReason: 'Payment overdue' });

    for (const [method, url] of [
      ['GET', '/auth/me'],
      ['GET', '/tenants/current'],
      ['GET', '/users'],
      ['GET', `/users/${member.id}`],
    ] as const) {
      for (const token of [tenant.admin.accessToken, member.accessToken]) {
        const res = await call(method, url, token);
        expect({ url, status: res.statusCode, code: res.json().code }).toEqual({
          url,
          status: 403,
          code: 'TENANT_SUSPENDED',
        });
      }
    }
    const relogin = await t.http({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: member.email, password: member.password },
    });
    expect(relogin.json().code).toBe('TENANT_SUSPENDED');

    expect((await call('POST', `/tenants/${tenant.id}/reactivate`, root.accessToken)).json().status).toBe('active');
    expect((await call('GET', '/auth/me', member.accessToken)).statusCode).toBe(200);
  });

  it('soft-deletes a tenant (its tokens stop working) and hard-deletes with every row', async () => {
    const root = await superAdmin(t);
    const soft = await newTenant(t);
    expect((await call('DELETE', `/tenants/${soft.id}`, root.accessToken)).statusCode).toBe(204);
    expect((await call('GET', '/auth/me', soft.admin.accessToken)).statusCode).toBe(401);
    expect((await call('GET', `/tenants/${soft.id}`, root.accessToken)).statusCode).toBe(404);
    expect(await tenantRow(t, soft.id)).toMatchObject({ status: 'deleted', deleted_at: expect.anything() });
    const listed = await call('GET', '/tenants?status=deleted&limit=100', root.accessToken);
    expect(listed.json().items.map((x: { id: string }) => x.id)).toContain(soft.id);

    const hard = await newTenant(t);
    const member = await newUser(t, hard, 'member');
    expect((await call('DELETE', `/tenants/${hard.id}?hard=true`, root.accessToken)).statusCode).toBe(204);
    expect(await tenantRow(t, hard.id)).toBeUndefined();
    expect(await userRow(t, member.id)).toBeUndefined();
    expect(
      await t.dataSource.query(`SELECT count(*)::int AS n FROM auth_sessions WHERE tenant_id = $1`, [hard.id]),
    ).toEqual([{ n: 0 }]);
  });

  it('refuses a common password for a new tenant admin and leaves no tenant behind', async () => {
    const root = await superAdmin(t);
    const res = await call('POST', '/tenants', root.accessToken, {
      name: 'Weak Co',
      slug: 'weak-co',
      admin: { email: 'weak@example.test', name: 'Weak', password: 'password1' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('PASSWORD_REJECTED');
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM tenants WHERE slug = 'weak-co'`)).toEqual([
      { n: 0 },
    ]);
  });

  it('lets a tenant admin rename their tenant but not change its slug', async () => {
    const tenant = await newTenant(t);
    const ok = await call('PATCH', `/tenants/${tenant.id}`, tenant.admin.accessToken, {
      name: 'Renamed',
      settings: { theme: 'dark' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ name: 'Renamed', settings: { theme: 'dark' }, slug: tenant.slug });
    const slug = await call('PATCH', `/tenants/${tenant.id}`, tenant.admin.accessToken, { slug: 'stolen-slug' });
    expect(slug.statusCode).toBe(403);
    const status = await call('PATCH', `/tenants/${tenant.id}`, tenant.admin.accessToken, { status: 'active' });
    expect(status.statusCode).toBe(400);
    expect(await tenantRow(t, tenant.id)).toMatchObject({ slug: tenant.slug, name: 'Renamed' });
  });

  it('reports users by role and status', async () => {
    const tenant = await newTenant(t);
    await newUser(t, tenant, 'member');
    await newUser(t, tenant, 'member');
    const viewer = await newUser(t, tenant, 'viewer');
    await call('PATCH', `/users/${viewer.id}`, tenant.admin.accessToken, { status: 'disabled' });
    const stats = (await call('GET', `/tenants/${tenant.id}/statistics`, tenant.admin.accessToken)).json();
    expect(stats.totalUsers).toBe(4);
    expect(stats.users).toEqual(
      expect.arrayContaining([
        { role: 'tenant_admin', status: 'active', count: 1 },
        { role: 'member', status: 'active', count: 2 },
        { role: 'viewer', status: 'disabled', count: 1 },
      ]),
    );
  });

  it('lists, filters and pages users of the tenant only', async () => {
    const tenant = await newTenant(t);
    const other = await newTenant(t);
    await newUser(t, other, 'member');
    for (let i = 0; i < 3; i++) await newUser(t, tenant, 'member');
    await newUser(t, tenant, 'viewer');
    const all = (await call('GET', '/users?limit=2', tenant.admin.accessToken)).json();
    expect(all).toMatchObject({ total: 5, limit: 2, offset: 0 });
    expect(all.items).toHaveLength(2);
    const page2 = (await call('GET', '/users?limit=2&offset=2', tenant.admin.accessToken)).json();
    expect(page2.items.map((u: { id: string }) => u.id)).not.toEqual(all.items.map((u: { id: string }) => u.id));
    const members = (await call('GET', '/users?role=member', tenant.admin.accessToken)).json();
    expect(members.total).toBe(3);
    expect(members.items.every((u: { tenantId: string }) => u.tenantId === tenant.id)).toBe(true);
    expect((await call('GET', '/users?limit=1000', tenant.admin.accessToken)).statusCode).toBe(400);
    expect((await call('GET', '/users?search=viewer', tenant.admin.accessToken)).json().total).toBe(1);
    expect(JSON.stringify(all)).not.toMatch(/password|token_version|\$2b\$/i);
  });

  it('lets super admins act in a tenant with ?tenantId= and requires it', async () => {
    const root = await superAdmin(t);
    const tenant = await newTenant(t);
    expect((await call('GET', '/users', root.accessToken)).json().code).toBe('TENANT_REQUIRED');
    const listed = await call('GET', `/users?tenantId=${tenant.id}`, root.accessToken);
    expect(listed.json().items.map((u: { id: string }) => u.id)).toEqual([tenant.admin.id]);
    const created = await call('POST', `/users?tenantId=${tenant.id}`, root.accessToken, {
      email: 'by-root@example.test',
      name: 'By Root',
      role: 'viewer',
      password: 'made by the super admin',
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().tenantId).toBe(tenant.id);
    expect(
      (await call('GET', `/users?tenantId=00000000-0000-4000-8000-000000000000`, root.accessToken)).statusCode,
    ).toBe(404);
  });

  it('keeps e-mail unique within a tenant', async () => {
    const tenant = await newTenant(t);
    const payload = { email: 'dup@example.test', name: 'Dup', role: 'member', password: 'first duplicate' };
    expect((await call('POST', '/users', tenant.admin.accessToken, payload)).statusCode).toBe(201);
    const again = await call('POST', '/users', tenant.admin.accessToken, { ...payload, email: 'DUP@example.test' });
    expect(again.statusCode).toBe(409);
    expect(
      await t.dataSource.query(
        `SELECT count(*)::int AS n FROM users WHERE tenant_id = $1 AND lower(email) = 'dup@example.test'`,
        [tenant.id],
      ),
    ).toEqual([{ n: 1 }]);
  });

  it('refuses fields the caller may not set and changes nothing', async () => {
    const tenant = await newTenant(t);
    const member = await newUser(t, tenant, 'member');
    const before = await userRow(t, member.id);
    const own = await call('PATCH', `/users/${member.id}`, member.accessToken, { role: 'tenant_admin' });
    expect(own.statusCode).toBe(403);
    const status = await call('PATCH', `/users/${member.id}`, member.accessToken, { status: 'disabled' });
    expect(status.statusCode).toBe(403);
    const injected = await call('PATCH', `/users/${member.id}`, tenant.admin.accessToken, {
      tenantId: '00000000-0000-4000-8000-000000000000',
    });
    expect(injected.statusCode).toBe(400);
    const create = await call('POST', '/users', member.accessToken, {
      email: 'x@example.test',
      name: 'X',
      role: 'member',
      password: 'member cannot',
    });
    expect(create.statusCode).toBe(403);
    expect(await userRow(t, member.id)).toEqual(before);
    const rename = await call('PATCH', `/users/${member.id}`, member.accessToken, { name: 'New Name' });
    expect(rename.json().name).toBe('New Name');
    const peek = await call('GET', `/users/${tenant.admin.id}`, member.accessToken);
    expect(peek.statusCode).toBe(404);
  });

  it('never removes, disables or demotes the last tenant admin', async () => {
    const tenant = await newTenant(t);
    const id = tenant.admin.id;
    const before = await userRow(t, id);
    expect((await call('PATCH', `/users/${id}`, tenant.admin.accessToken, { role: 'member' })).statusCode).toBe(409);
    expect((await call('PATCH', `/users/${id}`, tenant.admin.accessToken, { status: 'disabled' })).statusCode).toBe(
      409,
    );
    const del = await call('DELETE', `/users/${id}`, tenant.admin.accessToken);
    expect(del.statusCode).toBe(409);
    expect(del.json().code).toBe('LAST_TENANT_ADMIN');
    expect(await userRow(t, id)).toEqual(before);

    const second = await newUser(t, tenant, 'tenant_admin');
    expect((await call('PATCH', `/users/${id}`, second.accessToken, { role: 'member' })).statusCode).toBe(200);
  });

  it('soft-deletes users by default and purges with ?hard=true', async () => {
    const tenant = await newTenant(t);
    const soft = await newUser(t, tenant, 'member');
    const hard = await newUser(t, tenant, 'viewer');
    expect((await call('DELETE', `/users/${soft.id}`, tenant.admin.accessToken)).statusCode).toBe(204);
    expect((await userRow(t, soft.id))!.deleted_at).not.toBeNull();
    expect((await call('GET', '/auth/me', soft.accessToken)).statusCode).toBe(401);
    expect((await call('GET', `/users/${soft.id}`, tenant.admin.accessToken)).statusCode).toBe(404);
    expect((await call('DELETE', `/users/${hard.id}?hard=true`, tenant.admin.accessToken)).statusCode).toBe(204);
    expect(await userRow(t, hard.id)).toBeUndefined();
    // The e-mail of a deleted user can be used again.
    const again = await call('POST', '/users', tenant.admin.accessToken, {
      email: soft.email,
      name: 'Back',
      role: 'member',
      password: 'welcome back again',
    });
    expect(again.statusCode).toBe(201);
    await login(t, soft.email, 'welcome back again', tenant.slug);
  });

  it('reports a user permissions and marks e-mails verified', async () => {
    const tenant = await newTenant(t);
    const viewer = await newUser(t, tenant, 'viewer');
    const perms = (await call('GET', `/users/${viewer.id}/permissions`, viewer.accessToken)).json();
    expect(perms).toEqual({
      role: 'viewer',
      permissions: ['profile:read', 'profile:write', 'tenant:read', 'usage:read', 'plans:read', 'knowledge:read'],
    });
    const verified = await call('POST', `/users/${viewer.id}/verify`, tenant.admin.accessToken);
    expect(verified.json().emailVerified).toBe(true);
    expect((await userRow(t, viewer.id))!.email_verified_at).not.toBeNull();
  });

  it('answers malformed ids with 400 and unknown ids with 404', async () => {
    const tenant = await newTenant(t);
    expect((await call('GET', '/users/not-a-uuid', tenant.admin.accessToken)).statusCode).toBe(400);
    expect(
      (await call('GET', '/users/00000000-0000-4000-8000-000000000000', tenant.admin.accessToken)).statusCode,
    ).toBe(404);
  });
});

describe('tenant-scoped repositories', () => {
  it('fail closed when no tenant is in the request context', async () => {
    const t = await createTestApp();
    try {
      const { UsersRepository } = await import('../../src/core/identity/users.repository.js');
      const users = t.app.get(UsersRepository);
      await expect(users.findById('00000000-0000-4000-8000-000000000000')).rejects.toThrow(/No tenant/);
      await expect(users.emailTaken('a@b.test')).rejects.toThrow(/No tenant/);
    } finally {
      await t.close();
    }
  });
});
