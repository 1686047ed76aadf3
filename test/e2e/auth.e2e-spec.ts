import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { bearer, login, newTenant, newUser, userRow } from '../helpers/factories.js';

describe('auth', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ LOGIN_MAX_FAILURES: '3', LOGIN_LOCKOUT_SECONDS: '60' });
  });
  afterAll(() => t.close());

  const post = (url: string, payload: object, headers = {}) =>
    t.http({ method: 'POST', url: `/api/v1/auth/${url}`, payload, headers });

  it('registers a new tenant with the caller as tenant admin and signs them in', async () => {
    const res = await post('register', {
      email: 'Founder@Example.test',
      password: 'a long enough secret',
      name: 'Founder',
      tenantName: 'Founders',
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      tokenType: 'Bearer',
      expiresIn: 900,
      user: { email: 'founder@example.test', role: 'tenant_admin' },
    });
    expect(res.body).not.toMatch(/\$2[aby]\$/);
    const me = await t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(body.accessToken) });
    expect(me.json()).toMatchObject({
      kind: 'user',
      role: 'tenant_admin',
      tenant: { name: 'Founders', slug: 'founders' },
    });
    expect(me.json().permissions).toContain('users:write');
    const [row] = await t.dataSource.query(`SELECT password_hash FROM users WHERE email = 'founder@example.test'`);
    expect(row.password_hash).toMatch(/^\$2b\$04\$/);
  });

  it('refuses common passwords and passwords outside 8..128 characters', async () => {
    for (const password of ['password1', 'qwertyuiop', 'short', 'x'.repeat(129)]) {
      const res = await post('register', { email: `p${password.length}@example.test`, password, name: 'P' });
      expect(res.statusCode).toBe(400);
    }
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE email LIKE 'p%@example.test'`)).toEqual(
      [{ n: 0 }],
    );
  });

  it('counts every byte of a long password (nothing past 72 bytes is ignored)', async () => {
    const prefix = 'x'.repeat(80);
    const reg = await post('register', { email: 'long@example.test', password: `${prefix}A`, name: 'Long' });
    expect(reg.statusCode).toBe(201);
    expect((await post('login', { email: 'long@example.test', password: `${prefix}B` })).statusCode).toBe(401);
    expect((await post('login', { email: 'long@example.test', password: `${prefix}A` })).statusCode).toBe(200);
  });

  it('signs into the one tenant account the password opens, and asks for the tenant only when it opens several', async () => {
    const a = await newTenant(t);
    const b = await newTenant(t);
    const c = await newTenant(t);
    const passwords = {
      [a.slug]: 'shared passphrase one',
      [b.slug]: 'shared passphrase one',
      [c.slug]: 'other passphrase',
    };
    for (const tenant of [a, b, c]) {
      const res = await t.http({
        method: 'POST',
        url: '/api/v1/users',
        headers: bearer(tenant.admin.accessToken),
        payload: { email: 'shared@example.test', name: 'Shared', role: 'member', password: passwords[tenant.slug] },
      });
      expect(res.statusCode).toBe(201);
    }
    // The password that opens only C signs into C without naming it.
    const inC = await post('login', { email: 'shared@example.test', password: 'other passphrase' });
    expect(inC.statusCode).toBe(200);
    const meC = await t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(inC.json().accessToken) });
    expect(meC.json().tenant.id).toBe(c.id);

    // The one that opens A and B asks which, and names exactly those two, to its holder only.
    const ambiguous = await post('login', { email: 'shared@example.test', password: 'shared passphrase one' });
    expect(ambiguous.statusCode).toBe(400);
    expect(ambiguous.json().code).toBe('TENANT_REQUIRED');
    expect(
      ambiguous
        .json()
        .tenants.map((x: { slug: string }) => x.slug)
        .sort(),
    ).toEqual([a.slug, b.slug].sort());
    const inA = await login(t, 'shared@example.test', 'shared passphrase one', a.slug);
    const me = await t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(inA.accessToken) });
    expect(me.json().tenant.id).toBe(a.id);
    expect(
      (await post('login', { email: 'shared@example.test', password: 'shared passphrase one', tenant: c.slug }))
        .statusCode,
    ).toBe(401);

    // A wrong password gets the plain 401, exactly as for an e-mail that exists nowhere.
    const wrong = await post('login', { email: 'shared@example.test', password: 'not any of them' });
    const nowhere = await post('login', { email: 'nobody-at-all@example.test', password: 'not any of them' });
    expect([wrong.statusCode, nowhere.statusCode]).toEqual([401, 401]);
    const anonymous = (body: Record<string, unknown>) => ({ ...body, requestId: 0, instance: 0 });
    expect(anonymous(wrong.json())).toEqual(anonymous(nowhere.json()));
  });

  it('answers a wrong password, an unknown e-mail and a locked account the same way, and locks after repeated failures', async () => {
    const tenant = await newTenant(t);
    const strip = (body: Record<string, unknown>) => ({ ...body, requestId: undefined, instance: undefined });
    const wrong = await post('login', { email: tenant.admin.email, password: 'not-the-password' });
    const unknown = await post('login', { email: 'nobody@example.test', password: 'not-the-password' });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(strip(wrong.json())).toEqual(strip(unknown.json()));

    await post('login', { email: tenant.admin.email, password: 'not-the-password' });
    await post('login', { email: tenant.admin.email, password: 'not-the-password' });
    const row = await userRow(t, tenant.admin.id);
    expect(row!.failed_logins).toBe(3);
    expect(new Date(row!.locked_until as string).getTime()).toBeGreaterThan(Date.now() + 50_000);

    const locked = await post('login', { email: tenant.admin.email, password: tenant.admin.password });
    expect(locked.statusCode).toBe(401);
    expect(strip(locked.json())).toEqual(strip(wrong.json()));

    await t.dataSource.query(`UPDATE users SET locked_until = now() - interval '1 second' WHERE id = $1`, [
      tenant.admin.id,
    ]);
    expect((await post('login', { email: tenant.admin.email, password: tenant.admin.password })).statusCode).toBe(200);
    expect((await userRow(t, tenant.admin.id))!.failed_logins).toBe(0);
  });

  it('rotates refresh tokens: each works once, and a reused one revokes the whole sign-in', async () => {
    const tenant = await newTenant(t);
    const first = await post('refresh', { refreshToken: tenant.admin.refreshToken });
    expect(first.statusCode).toBe(200);
    const second = first.json();

    const reuse = await post('refresh', { refreshToken: tenant.admin.refreshToken });
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json().code).toBe('REFRESH_TOKEN_REUSED');
    const afterReuse = await post('refresh', { refreshToken: second.refreshToken });
    expect(afterReuse.statusCode).toBe(401);
  });

  it('lets at most one of 10 parallel refreshes with the same token succeed', async () => {
    const tenant = await newTenant(t);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => post('refresh', { refreshToken: tenant.admin.refreshToken })),
    );
    expect(results.filter((r) => r.statusCode === 200).length).toBeLessThanOrEqual(1);
    expect(results.every((r) => r.statusCode === 200 || r.statusCode === 401)).toBe(true);
  });

  it('logout revokes the sign-in; logout-all also kills access tokens at once', async () => {
    const tenant = await newTenant(t);
    const other = await login(t, tenant.admin.email, tenant.admin.password);
    const out = await post('logout', { refreshToken: tenant.admin.refreshToken }, bearer(tenant.admin.accessToken));
    expect(out.statusCode).toBe(204);
    expect((await post('refresh', { refreshToken: tenant.admin.refreshToken })).statusCode).toBe(401);
    expect((await post('refresh', { refreshToken: other.refreshToken })).statusCode).toBe(200);

    // Logging out ends that sign-in's access token too, not only its refresh token.
    expect(
      (await t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(tenant.admin.accessToken) })).statusCode,
    ).toBe(401);

    const all = await post('logout-all', {}, bearer(other.accessToken));
    expect(all.statusCode).toBe(204);
    const me = await t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(other.accessToken) });
    expect(me.statusCode).toBe(401);
  });

  it('change-password signs out every other session and returns a working sign-in', async () => {
    const tenant = await newTenant(t);
    const elsewhere = await login(t, tenant.admin.email, tenant.admin.password);
    const res = await post(
      'change-password',
      { currentPassword: tenant.admin.password, newPassword: 'a brand new passphrase' },
      bearer(tenant.admin.accessToken),
    );
    expect(res.statusCode).toBe(200);
    const fresh = res.json();
    const me = (token: string) => t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(token) });
    expect((await me(elsewhere.accessToken)).statusCode).toBe(401);
    expect((await me(tenant.admin.accessToken)).statusCode).toBe(401);
    expect((await post('refresh', { refreshToken: elsewhere.refreshToken })).statusCode).toBe(401);
    expect((await me(fresh.accessToken)).statusCode).toBe(200);
    expect((await post('login', { email: tenant.admin.email, password: tenant.admin.password })).statusCode).toBe(401);
    await login(t, tenant.admin.email, 'a brand new passphrase');
  });

  it('disabling a user takes effect on the next request', async () => {
    const tenant = await newTenant(t);
    const member = await newUser(t, tenant, 'member');
    const me = () => t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(member.accessToken) });
    expect((await me()).statusCode).toBe(200);
    const res = await t.http({
      method: 'PATCH',
      url: `/api/v1/users/${member.id}`,
      headers: bearer(tenant.admin.accessToken),
      payload: { status: 'disabled' },
    });
    expect(res.statusCode).toBe(200);
    expect((await me()).statusCode).toBe(401);
    expect((await post('refresh', { refreshToken: member.refreshToken })).statusCode).toBe(401);
  });
});

describe('login rate limit per client address', () => {
  it('answers 429 with Retry-After after LOGIN_RATE_LIMIT_PER_MINUTE attempts', async () => {
    const t = await createTestApp({ LOGIN_RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const remoteAddress = `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.7`;
      const attempt = () =>
        t.http({
          method: 'POST',
          url: '/api/v1/auth/login',
          remoteAddress,
          payload: { email: 'x@example.test', password: 'whatever-123' },
        });
      for (let i = 0; i < 3; i++) expect((await attempt()).statusCode).toBe(401);
      const limited = await attempt();
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.json()).toMatchObject({ code: 'TOO_MANY_LOGIN_ATTEMPTS', limit: 3 });
      const other = await t.http({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress: '10.255.255.1',
        payload: { email: 'x@example.test', password: 'whatever-123' },
      });
      expect(other.statusCode).toBe(401);
    } finally {
      await t.close();
    }
  });

  it('refuses sign-up when SIGNUP_MODE=closed', async () => {
    const t = await createTestApp({ SIGNUP_MODE: 'closed' });
    try {
      const res = await t.http({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { email: 'c@example.test', password: 'closed-signup-pw', name: 'C' },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('SIGNUP_CLOSED');
      expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM tenants`)).toEqual([{ n: 0 }]);
    } finally {
      await t.close();
    }
  });
});
