import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiKeyAuthenticator } from '../../src/core/auth/api-key-authenticator.js';
import { bearer, newTenant, newUser, superAdmin, type Account } from '../helpers/factories.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

describe('API keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const createKey = async (owner: Account, payload: object = { name: 'test key' }) => {
    const res = await t.http({ method: 'POST', url: '/api/v1/api-keys', headers: bearer(owner.accessToken), payload });
    return res;
  };
  const me = (headers: Record<string, string>) => t.http({ method: 'GET', url: '/api/v1/auth/me', headers });

  it('shows the key once, stores only a digest and a prefix, and lists without secrets', async () => {
    const tenant = await newTenant(t);
    const res = await createKey(tenant.admin, { name: 'deploys' });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created.key).toMatch(/^atr_live_[A-Za-z0-9_-]{32}[0-9a-f]{6}$/);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    const [row] = await t.dataSource.query(`SELECT * FROM api_keys WHERE id = $1`, [created.id]);
    expect(JSON.stringify(row)).not.toContain(created.key);
    expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
    const list = await t.http({ method: 'GET', url: '/api/v1/api-keys', headers: bearer(tenant.admin.accessToken) });
    expect(list.json()).toEqual([expect.objectContaining({ id: created.id, prefix: created.prefix, name: 'deploys' })]);
    expect(list.body).not.toContain(created.key);
    expect(list.body).not.toContain(row.key_hash);
  });

  it('authenticates with Authorization: Bearer and X-API-Key, and me describes the key', async () => {
    const tenant = await newTenant(t);
    const member = await newUser(t, tenant, 'member');
    const { key, prefix, id } = (
      await createKey(member, { name: 'cli', scopes: ['profile:read', 'tenant:read', 'keys:read'] })
    ).json();
    for (const headers of [bearer(key), { 'x-api-key': key }]) {
      const res = await me(headers);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        kind: 'user',
        user: { id: member.id },
        tenant: { id: tenant.id },
        apiKey: { id, prefix },
        permissions: ['keys:read', 'profile:read', 'tenant:read'],
      });
    }
    const access = t.logs.entries.filter((e) => e.context === 'HTTP' && e.keyPrefix === prefix);
    expect(access.length).toBeGreaterThanOrEqual(2);
    expect(access[0]).toMatchObject({ tenantId: tenant.id });
    expect(JSON.stringify(t.logs.entries)).not.toContain(key);
  });

  it('refuses malformed, unknown, revoked and expired keys, and keys in the query string', async () => {
    const tenant = await newTenant(t);
    const { key, id } = (await createKey(tenant.admin)).json();
    const tampered = `${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`;
    expect((await me({ 'x-api-key': tampered })).json().code).toBe('API_KEY_MALFORMED');
    expect((await me({ 'x-api-key': 'atr_live_short' })).json().code).toBe('API_KEY_MALFORMED');
    const other = (await createKey(tenant.admin)).json();
    await t.dataSource.query(`DELETE FROM api_keys WHERE id = $1`, [other.id]);
    t.app.get(ApiKeyAuthenticator);
    const unknown = await me({ 'x-api-key': other.key });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().code).toBe('API_KEY_INVALID');

    expect((await me({ 'x-api-key': key })).statusCode).toBe(200);
    const revoke = await t.http({
      method: 'DELETE',
      url: `/api/v1/api-keys/${id}`,
      headers: bearer(tenant.admin.accessToken),
    });
    expect(revoke.statusCode).toBe(204);
    const revoked = await me({ 'x-api-key': key });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json().code).toBe('API_KEY_REVOKED');

    const soon = new Date(Date.now() + 1500).toISOString();
    const expiring = (await createKey(tenant.admin, { name: 'short', expiresAt: soon })).json();
    expect((await me({ 'x-api-key': expiring.key })).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    const expired = await me({ 'x-api-key': expiring.key });
    expect(expired.statusCode).toBe(401);
    expect(expired.json().code).toBe('API_KEY_EXPIRED');

    const inQuery = await t.http({ method: 'GET', url: `/api/v1/auth/me?api_key=${expiring.key}` });
    expect(inQuery.statusCode).toBe(400);
    expect(inQuery.json().code).toBe('API_KEY_IN_QUERY');
    expect((await createKey(tenant.admin, { name: 'past', expiresAt: '2020-01-01T00:00:00Z' })).statusCode).toBe(400);
  });

  it('limits a key to its scopes within what its owner holds now', async () => {
    const tenant = await newTenant(t);
    const member = await newUser(t, tenant, 'member');
    const escalate = await createKey(member, { name: 'too much', scopes: ['users:write'] });
    expect(escalate.statusCode).toBe(403);
    expect(escalate.json().code).toBe('SCOPE_NOT_HELD');

    const readOnly = (await createKey(member, { name: 'ro', scopes: ['tenant:read'] })).json();
    const keys = await t.http({ method: 'GET', url: '/api/v1/api-keys', headers: { 'x-api-key': readOnly.key } });
    expect(keys.statusCode).toBe(403);
    expect(
      (await t.http({ method: 'GET', url: '/api/v1/tenants/current', headers: { 'x-api-key': readOnly.key } }))
        .statusCode,
    ).toBe(200);

    const second = await newUser(t, tenant, 'tenant_admin');
    const adminKey = (await createKey(second, { name: 'admin' })).json();
    expect(
      (await t.http({ method: 'GET', url: '/api/v1/users', headers: { 'x-api-key': adminKey.key } })).statusCode,
    ).toBe(200);
    await t.http({
      method: 'PATCH',
      url: `/api/v1/users/${second.id}`,
      headers: bearer(tenant.admin.accessToken),
      payload: { role: 'viewer' },
    });
    expect(
      (await t.http({ method: 'GET', url: '/api/v1/users', headers: { 'x-api-key': adminKey.key } })).statusCode,
    ).toBe(403);

    await t.http({
      method: 'PATCH',
      url: `/api/v1/users/${second.id}`,
      headers: bearer(tenant.admin.accessToken),
      payload: { status: 'disabled' },
    });
    const disabled = await me({ 'x-api-key': adminKey.key });
    expect(disabled.statusCode).toBe(401);
  });

  it("hides other users' and tenants' keys (404) and lets tenant admins list every key with ?all=true", async () => {
    const tenant = await newTenant(t);
    const member = await newUser(t, tenant, 'member');
    const otherMember = await newUser(t, tenant, 'member');
    const memberKey = (await createKey(member)).json();
    const peek = await t.http({
      method: 'GET',
      url: `/api/v1/api-keys/${memberKey.id}`,
      headers: bearer(otherMember.accessToken),
    });
    expect(peek.statusCode).toBe(404);
    const all = await t.http({
      method: 'GET',
      url: '/api/v1/api-keys?all=true',
      headers: bearer(tenant.admin.accessToken),
    });
    expect(all.json().map((k: { id: string }) => k.id)).toContain(memberKey.id);
    expect(all.json().some((k: { kind: string }) => k.kind === 'tenant')).toBe(true);
    expect(
      (await t.http({ method: 'GET', url: '/api/v1/api-keys?all=true', headers: bearer(member.accessToken) }))
        .statusCode,
    ).toBe(403);
  });

  it('records last use without a write per request', async () => {
    const tenant = await newTenant(t);
    const { key, id } = (await createKey(tenant.admin)).json();
    for (let i = 0; i < 5; i++) expect((await me({ 'x-api-key': key })).statusCode).toBe(200);
    const [before] = await t.dataSource.query(`SELECT last_used_at FROM api_keys WHERE id = $1`, [id]);
    expect(before.last_used_at).toBeNull();
    await t.app.get(ApiKeyAuthenticator).flushLastUsed();
    const [after] = await t.dataSource.query(`SELECT last_used_at FROM api_keys WHERE id = $1`, [id]);
    expect(new Date(after.last_used_at).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe('the tenant key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const me = (key: string) => t.http({ method: 'GET', url: '/api/v1/auth/me', headers: { 'x-api-key': key } });

  async function tenantWithKey() {
    const root = await superAdmin(t);
    const res = await t.http({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: bearer(root.accessToken),
      payload: {
        name: `App ${Math.random()}`,
        admin: { email: `a${Date.now()}${Math.random()}@example.test`, name: 'A', password: 'tenant key admin pw' },
      },
    });
    expect(res.statusCode).toBe(201);
    return { root, tenantId: res.json().tenant.id as string, key: res.json().apiKey as string };
  }

  it('is returned once with the tenant and acts as the tenant app', async () => {
    const { tenantId, key } = await tenantWithKey();
    const res = await me(key);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      kind: 'tenant_app',
      user: null,
      tenant: { id: tenantId },
      permissions: [
        'generation:use',
        'knowledge:read',
        'plans:read',
        'profile:read',
        'tenant:read',
        'usage:read',
        'usage:write',
      ],
    });
    expect((await t.http({ method: 'GET', url: '/api/v1/users', headers: { 'x-api-key': key } })).statusCode).toBe(403);
    expect(
      (await t.http({ method: 'POST', url: '/api/v1/auth/logout-all', headers: { 'x-api-key': key } })).statusCode,
    ).toBe(403);
  });

  it('regenerates: the old key is refused at once, or after the grace period', async () => {
    const { root, tenantId, key } = await tenantWithKey();
    const regen = (graceSeconds: number) =>
      t.http({
        method: 'POST',
        url: `/api/v1/tenants/${tenantId}/regenerate-api-key`,
        headers: bearer(root.accessToken),
        payload: { graceSeconds },
      });
    const first = await regen(0);
    expect(first.statusCode).toBe(200);
    expect((await me(key)).statusCode).toBe(401);
    expect((await me(first.json().key)).statusCode).toBe(200);

    const second = await regen(3600);
    expect((await me(first.json().key)).statusCode).toBe(200);
    expect((await me(second.json().key)).statusCode).toBe(200);
    const [old] = await t.dataSource.query(`SELECT expires_at FROM api_keys WHERE prefix = $1`, [first.json().prefix]);
    expect(new Date(old.expires_at).getTime()).toBeGreaterThan(Date.now() + 3500_000);
    expect((await regen(7 * 24 * 3600 + 1)).statusCode).toBe(400);
  });

  it('stops working while the tenant is suspended, and only its admins or super admins regenerate it', async () => {
    const { root, tenantId, key } = await tenantWithKey();
    await t.http({
      method: 'POST',
      url: `/api/v1/tenants/${tenantId}/suspend`,
      headers: bearer(root.accessToken),
      payload: { reason: 'x' },
    });
    const suspended = await me(key);
    expect(suspended.statusCode).toBe(403);
    expect(suspended.json().code).toBe('TENANT_SUSPENDED');
    await t.http({ method: 'POST', url: `/api/v1/tenants/${tenantId}/reactivate`, headers: bearer(root.accessToken) });
    expect((await me(key)).statusCode).toBe(200);

    const other = await newTenant(t);
    const foreign = await t.http({
      method: 'POST',
      url: `/api/v1/tenants/${tenantId}/regenerate-api-key`,
      headers: bearer(other.admin.accessToken),
      payload: {},
    });
    expect(foreign.statusCode).toBe(404);
    const member = await newUser(t, other, 'member');
    const own = await t.http({
      method: 'POST',
      url: `/api/v1/tenants/${other.id}/regenerate-api-key`,
      headers: bearer(member.accessToken),
      payload: {},
    });
    expect(own.statusCode).toBe(403);
    expect((await me(key)).statusCode).toBe(200);
  });
});
