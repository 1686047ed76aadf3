import { randomBytes } from 'node:crypto';
import { expect } from '@jest/globals';
import { SUPER_ADMIN, type TestApp } from './test-app.js';

export type TenantRoleName = 'tenant_admin' | 'member' | 'viewer';

export interface Account {
  id: string;
  email: string;
  password: string;
  role: TenantRoleName | 'super_admin';
  accessToken: string;
  refreshToken: string;
}

export interface TenantFixture {
  id: string;
  slug: string;
  admin: Account;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const unique = () => randomBytes(4).toString('hex');

export async function login(t: TestApp, email: string, password: string, tenant?: string) {
  const res = await t.http({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password, tenant } });
  expect(res.statusCode).toBe(200);
  return res.json() as { accessToken: string; refreshToken: string; user: { id: string; role: string } };
}

export async function superAdmin(t: TestApp): Promise<Account> {
  const tokens = await login(t, SUPER_ADMIN.email, SUPER_ADMIN.password);
  return {
    id: tokens.user.id,
    email: SUPER_ADMIN.email,
    password: SUPER_ADMIN.password,
    role: 'super_admin',
    ...tokens,
  };
}

/** A new tenant created by the super admin, with its first admin signed in. */
export async function newTenant(t: TestApp, name = `Tenant ${unique()}`): Promise<TenantFixture> {
  const root = await superAdmin(t);
  const email = `admin-${unique()}@example.test`;
  const password = `pw-${unique()}-${unique()}`;
  const res = await t.http({
    method: 'POST',
    url: '/api/v1/tenants',
    headers: bearer(root.accessToken),
    payload: { name, admin: { email, name: 'Admin', password } },
  });
  expect(res.statusCode).toBe(201);
  const { tenant, adminId } = res.json();
  const tokens = await login(t, email, password, tenant.slug);
  return { id: tenant.id, slug: tenant.slug, admin: { id: adminId, email, password, role: 'tenant_admin', ...tokens } };
}

/** A user created by the tenant's admin, signed in. */
export async function newUser(t: TestApp, tenant: TenantFixture, role: TenantRoleName): Promise<Account> {
  const email = `${role}-${unique()}@example.test`;
  const password = `pw-${unique()}-${unique()}`;
  const res = await t.http({
    method: 'POST',
    url: '/api/v1/users',
    headers: bearer(tenant.admin.accessToken),
    payload: { email, name: role, role, password },
  });
  expect(res.statusCode).toBe(201);
  const tokens = await login(t, email, password, tenant.slug);
  return { id: res.json().id, email, password, role, ...tokens };
}

export async function userRow(t: TestApp, id: string) {
  const [row] = await t.dataSource.query(`SELECT * FROM users WHERE id = $1`, [id]);
  return row as Record<string, unknown> | undefined;
}

export async function tenantRow(t: TestApp, id: string) {
  const [row] = await t.dataSource.query(`SELECT * FROM tenants WHERE id = $1`, [id]);
  return row as Record<string, unknown> | undefined;
}
