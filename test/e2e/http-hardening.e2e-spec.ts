import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import jwt from 'jsonwebtoken';
import { parallel } from '../helpers/concurrency.js';
import {
  type Account,
  bearer,
  login,
  newTenant,
  newUser,
  superAdmin,
  type TenantFixture,
  unique,
} from '../helpers/factories.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from '../helpers/test-app.js';
import { cloneSharedTemplateDatabase, postgresUrl } from '../helpers/test-database.js';

const engine = postgresUrl() ? 'PostgreSQL' : 'PGlite';
const octet = () => 1 + Math.floor(Math.random() * 253);
/** A random address, so no other test (nor an earlier run sharing Redis) has counted sign-ins for it. */
const address = (first: number) => `${first}.${octet()}.${octet()}.${octet()}`;

type OpenApi = {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>>;
  components: { schemas: Record<string, Schema> };
};
type Schema = { $ref?: string; allOf?: Schema[]; properties?: Record<string, Schema>; minLength?: number };

describe(`HTTP hardening on ${engine}`, () => {
  let t: TestApp;
  let tenant: TenantFixture;
  let root: Account;
  let docs: OpenApi;
  beforeAll(async () => {
    t = await createTestApp();
    tenant = await newTenant(t);
    root = await superAdmin(t);
    docs = (await t.http({ method: 'GET', url: '/docs-json' })).json();
  });
  afterAll(() => t.close());

  const rowCount = async (table: string) =>
    Number((await t.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`))[0].n);

  describe('methods', () => {
    const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
    const concrete = (path: string) => path.replace(/\{[^}]+\}/g, () => randomUUID());

    it('answers 405 with Allow for every method a known path does not take, before authentication', async () => {
      const templates = Object.entries(docs.paths).map(([path, operations]) => ({
        pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
        methods: Object.keys(operations).map((m) => m.toUpperCase()),
      }));
      // What the router answers to at a URL: `/tenants/current` is also `/tenants/{id}`.
      const routed = (url: string) =>
        [...new Set(templates.filter((x) => x.pattern.test(url)).flatMap((x) => x.methods))].sort();
      expect(templates.length).toBeGreaterThan(20);
      for (const path of Object.keys(docs.paths)) {
        const url = concrete(path);
        const allowed = routed(url);
        for (const method of METHODS.filter((m) => !allowed.includes(m))) {
          const res = await t.http({ method, url, payload: method === 'GET' ? undefined : {} });
          expect([`${method} ${path}`, res.statusCode, res.json().code]).toEqual([
            `${method} ${path}`,
            405,
            'METHOD_NOT_ALLOWED',
          ]);
          const allow = String(res.headers.allow).split(', ');
          expect([path, allow.filter((m) => m !== 'HEAD')]).toEqual([path, allowed]);
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        }
      }
    });

    it('writes nothing on a 405, even for a super admin with a valid body', async () => {
      const before = await rowCount('tenants');
      const res = await t.http({
        method: 'PUT',
        url: '/api/v1/tenants',
        headers: bearer(root.accessToken),
        payload: {
          name: 'Wrong Method',
          admin: { email: `m-${unique()}@example.test`, name: 'M', password: 'wrong method pw' },
        },
      });
      expect([res.statusCode, res.headers.allow]).toEqual([405, 'GET, HEAD, POST']);
      expect(await rowCount('tenants')).toBe(before);
    });

    it('answers 404 without Allow for paths that do not exist', async () => {
      for (const [method, url] of [
        ['GET', '/api/v1/nothing-here'],
        ['POST', '/api/v1/auth/login/extra'],
        ['DELETE', `/api/v1/users/${randomUUID()}/nothing`],
        ['GET', '/api/v2/auth/me'],
      ] as const) {
        const res = await t.http({ method, url });
        expect([url, res.statusCode, res.headers.allow]).toEqual([url, 404, undefined]);
        expect(res.json().code).toBe('NOT_FOUND');
      }
    });
  });

  describe('request bodies are JSON only', () => {
    const bodies: [string, string][] = [
      ['text/plain', '{"email":"%EMAIL%","name":"Plain","role":"member","password":"a plain text pw"}'],
      ['text/plain; charset=utf-8', '{"email":"%EMAIL%","name":"Plain","role":"member","password":"a plain text pw"}'],
      ['application/xml', '<user><email>%EMAIL%</email><name>X</name><role>member</role></user>'],
      ['application/x-www-form-urlencoded', 'email=%EMAIL%&name=Form&role=member&password=a+form+password'],
      [
        'multipart/form-data; boundary=x',
        '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\n%EMAIL%\r\n--x--',
      ],
    ];
    const routes: { name: string; request: (email: string) => InjectOptions }[] = [
      {
        name: 'POST /users',
        request: () => ({ method: 'POST', url: '/api/v1/users', headers: bearer(tenant.admin.accessToken) }),
      },
      { name: 'POST /auth/register', request: () => ({ method: 'POST', url: '/api/v1/auth/register' }) },
      {
        name: 'POST /tenants',
        request: () => ({ method: 'POST', url: '/api/v1/tenants', headers: bearer(root.accessToken) }),
      },
      { name: 'POST /auth/login', request: () => ({ method: 'POST', url: '/api/v1/auth/login' }) },
      {
        name: 'PATCH /users/:id',
        request: () => ({
          method: 'PATCH',
          url: `/api/v1/users/${tenant.admin.id}`,
          headers: bearer(tenant.admin.accessToken),
        }),
      },
    ];

    it('answers 415 UNSUPPORTED_MEDIA_TYPE to text, XML, form and multipart bodies, and writes nothing', async () => {
      const before = { users: await rowCount('users'), tenants: await rowCount('tenants') };
      for (const route of routes) {
        for (const [contentType, template] of bodies) {
          const email = `media-${unique()}@example.test`;
          const request = route.request(email);
          const res = await t.http({
            ...request,
            headers: { ...request.headers, 'content-type': contentType },
            payload: template.replace('%EMAIL%', email),
          });
          expect([route.name, contentType, res.statusCode, res.json().code]).toEqual([
            route.name,
            contentType,
            415,
            'UNSUPPORTED_MEDIA_TYPE',
          ]);
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        }
      }
      expect({ users: await rowCount('users'), tenants: await rowCount('tenants') }).toEqual(before);
      const [admin] = await t.dataSource.query(`SELECT name FROM users WHERE id = $1`, [tenant.admin.id]);
      expect(admin.name).toBe('Admin');
    });

    it('answers 415 to a body sent without any content type', async () => {
      const email = `untyped-${unique()}@example.test`;
      const res = await t.http({
        method: 'POST',
        url: '/api/v1/users',
        headers: { ...bearer(tenant.admin.accessToken), 'content-type': '' },
        payload: JSON.stringify({ email, name: 'U', role: 'member', password: 'untyped body pw' }),
      });
      expect([res.statusCode, res.json().code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
      expect(await t.dataSource.query(`SELECT id FROM users WHERE email = $1`, [email])).toEqual([]);
    });

    it('still takes JSON with a charset, and serves routes without a body with no content type at all', async () => {
      const email = `json-${unique()}@example.test`;
      const created = await t.http({
        method: 'POST',
        url: '/api/v1/users',
        headers: { ...bearer(tenant.admin.accessToken), 'content-type': 'application/json; charset=utf-8' },
        payload: JSON.stringify({ email, name: 'J', role: 'member', password: 'json charset pw' }),
      });
      expect(created.statusCode).toBe(201);

      const other = await newTenant(t);
      const member = await newUser(t, other, 'member');
      const key = await t.http({
        method: 'POST',
        url: '/api/v1/api-keys',
        headers: bearer(member.accessToken),
        payload: { name: 'k' },
      });
      const bodiless: [string, InjectOptions, number][] = [
        [
          'resend verification',
          { method: 'POST', url: '/api/v1/auth/resend-verification', headers: bearer(member.accessToken) },
          202,
        ],
        [
          'verify a user',
          { method: 'POST', url: `/api/v1/users/${member.id}/verify`, headers: bearer(other.admin.accessToken) },
          200,
        ],
        [
          'regenerate the tenant key (optional body)',
          {
            method: 'POST',
            url: `/api/v1/tenants/${other.id}/regenerate-api-key`,
            headers: bearer(other.admin.accessToken),
          },
          200,
        ],
        [
          'revoke a key',
          { method: 'DELETE', url: `/api/v1/api-keys/${key.json().id}`, headers: bearer(member.accessToken) },
          204,
        ],
        [
          'delete a user',
          { method: 'DELETE', url: `/api/v1/users/${created.json().id}`, headers: bearer(tenant.admin.accessToken) },
          204,
        ],
        [
          'sign out everywhere',
          { method: 'POST', url: '/api/v1/auth/logout-all', headers: bearer(member.accessToken) },
          204,
        ],
        [
          'reactivate a tenant',
          { method: 'POST', url: `/api/v1/tenants/${other.id}/reactivate`, headers: bearer(root.accessToken) },
          409,
        ],
      ];
      for (const [name, request, status] of bodiless) {
        expect(request.headers?.['content-type']).toBeUndefined();
        const res = await t.http(request);
        expect([name, res.statusCode]).toEqual([name, status]);
      }
      // The 409 above is the tenant's state, not the missing body: suspended first, it reactivates.
      const suspend = await t.http({
        method: 'POST',
        url: `/api/v1/tenants/${other.id}/suspend`,
        headers: bearer(root.accessToken),
        payload: { reason: 'check' },
      });
      expect(suspend.statusCode).toBe(200);
      const reactivated = await t.http({
        method: 'POST',
        url: `/api/v1/tenants/${other.id}/reactivate`,
        headers: bearer(root.accessToken),
      });
      expect([reactivated.statusCode, reactivated.json().status]).toEqual([200, 'active']);
      expect(
        await t.dataSource.query(`SELECT revoked_at IS NOT NULL AS revoked FROM api_keys WHERE id = $1`, [
          key.json().id,
        ]),
      ).toEqual([{ revoked: true }]);
    });
  });

  describe('access tokens', () => {
    const me = (token: string) => t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(token) });
    const claimsOf = () => {
      const { exp: _exp, iat: _iat, ...claims } = jwt.decode(tenant.admin.accessToken) as Record<string, unknown>;
      return claims;
    };
    const sign = (claims: object, options: jwt.SignOptions) =>
      jwt.sign(claims, TEST_JWT_SECRET, { algorithm: 'HS256', ...options });

    it('refuses a validly signed token without exp, or without iat; the same token with both is accepted', async () => {
      const now = Math.floor(Date.now() / 1000);
      const complete = sign({ ...claimsOf(), iat: now, exp: now + 600 }, {});
      expect((await me(complete)).statusCode).toBe(200);
      for (const [name, token] of [
        ['no exp', sign({ ...claimsOf(), iat: now }, {})],
        ['no iat', sign({ ...claimsOf(), exp: now + 600 }, { noTimestamp: true })],
        ['neither', sign(claimsOf(), { noTimestamp: true })],
      ]) {
        // Twice: a refused token must not be remembered as verified either.
        for (let i = 0; i < 2; i++) {
          const res = await me(token);
          expect([name, res.statusCode, res.json().code]).toEqual([name, 401, 'TOKEN_INVALID']);
        }
      }
    });
  });

  describe('blank passwords', () => {
    const BLANK = ['            ', '\t\t\t\t\t\t\t\t', '\n\n\n\n\n\n\n\n', ' \u00a0\u2003\u3000 \u00a0\u2003\u3000 '];

    /** Every request body field that sets a password, from the live OpenAPI document. */
    function passwordFields(): string[] {
      const resolve = (schema: Schema): Schema =>
        schema.$ref ? resolve(docs.components.schemas[schema.$ref.split('/').pop()!]) : schema;
      const walk = (schema: Schema, prefix: string): string[] => {
        const resolved = resolve(schema);
        const parts = [resolved, ...(resolved.allOf ?? []).map(resolve)];
        return parts.flatMap((part) =>
          Object.entries(part.properties ?? {}).flatMap(([name, property]) => {
            const inner = resolve(property);
            if (inner.properties || inner.allOf) return walk(inner, `${prefix}${name}.`);
            return /password/i.test(name) && (inner.minLength ?? 0) >= 8 ? [`${prefix}${name}`] : [];
          }),
        );
      };
      return Object.entries(docs.paths).flatMap(([path, operations]) =>
        Object.entries(operations).flatMap(([method, operation]) => {
          const schema = operation.requestBody?.content['application/json']?.schema;
          return schema ? walk(schema, '').map((field) => `${method.toUpperCase()} ${path} ${field}`) : [];
        }),
      );
    }

    const lastToken = async (to: string) => {
      const [row] = await t.dataSource.query(
        `SELECT body FROM mail_outbox WHERE to_address = $1 ORDER BY created_at DESC LIMIT 1`,
        [to],
      );
      return /atr_ot_[A-Za-z0-9_-]+/.exec(row.body)![0];
    };
    const post = (url: string, payload: object, headers = {}) =>
      t.http({ method: 'POST', url: `/api/v1${url}`, payload, headers });
    const rejected = (res: LightMyRequestResponse) => [res.statusCode, res.json().code];

    /** One case per password-setting field: send a blank password, then show nothing changed. */
    const cases: Record<string, (blank: string) => Promise<void>> = {
      'POST /api/v1/auth/register password': async (blank) => {
        const email = `blank-${unique()}@example.test`;
        expect(rejected(await post('/auth/register', { email, password: blank, name: 'B' }))).toEqual([
          400,
          'PASSWORD_REJECTED',
        ]);
        expect(await t.dataSource.query(`SELECT id FROM users WHERE email = $1`, [email])).toEqual([]);

        // Accepting an invitation sets a password through the same field.
        const invitee = `invitee-${unique()}@example.test`;
        expect(
          (await post('/users', { email: invitee, name: 'I', role: 'member' }, bearer(tenant.admin.accessToken)))
            .statusCode,
        ).toBe(201);
        const invitationToken = await lastToken(invitee);
        const accept = (password: string) =>
          post('/auth/register', { email: invitee, name: 'I', password, invitationToken });
        expect(rejected(await accept(blank))).toEqual([400, 'PASSWORD_REJECTED']);
        expect(await t.dataSource.query(`SELECT status, password_hash FROM users WHERE email = $1`, [invitee])).toEqual(
          [{ status: 'invited', password_hash: null }],
        );
        expect((await accept('an invitee passphrase')).statusCode).toBe(201);
      },
      'POST /api/v1/auth/reset-password password': async (blank) => {
        const user = await newUser(t, tenant, 'member');
        expect((await post('/auth/forgot-password', { email: user.email })).statusCode).toBe(202);
        const token = await lastToken(user.email);
        expect(rejected(await post('/auth/reset-password', { token, password: blank }))).toEqual([
          400,
          'PASSWORD_REJECTED',
        ]);
        await login(t, user.email, user.password);
        // The token was not used up by the refusal.
        expect((await post('/auth/reset-password', { token, password: 'a reset passphrase' })).statusCode).toBe(204);
        await login(t, user.email, 'a reset passphrase');
      },
      'POST /api/v1/auth/change-password newPassword': async (blank) => {
        const user = await newUser(t, tenant, 'viewer');
        const res = await post(
          '/auth/change-password',
          { currentPassword: user.password, newPassword: blank },
          bearer(user.accessToken),
        );
        expect(rejected(res)).toEqual([400, 'PASSWORD_REJECTED']);
        expect(
          (await t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(user.accessToken) })).statusCode,
        ).toBe(200);
        await login(t, user.email, user.password);
      },
      'POST /api/v1/tenants admin.password': async (blank) => {
        const slug = `blank-${unique()}`;
        const res = await post(
          '/tenants',
          { name: 'Blank', slug, admin: { email: `${slug}@example.test`, name: 'B', password: blank } },
          bearer(root.accessToken),
        );
        expect(rejected(res)).toEqual([400, 'PASSWORD_REJECTED']);
        expect(await t.dataSource.query(`SELECT id FROM tenants WHERE slug = $1`, [slug])).toEqual([]);
      },
      'POST /api/v1/users password': async (blank) => {
        const email = `blank-user-${unique()}@example.test`;
        const res = await post(
          '/users',
          { email, name: 'B', role: 'member', password: blank },
          bearer(tenant.admin.accessToken),
        );
        expect(rejected(res)).toEqual([400, 'PASSWORD_REJECTED']);
        expect(await t.dataSource.query(`SELECT id FROM users WHERE email = $1`, [email])).toEqual([]);
      },
    };

    it('covers every route that sets a password', () => {
      expect(passwordFields().sort()).toEqual(Object.keys(cases).sort());
    });

    it.each(Object.keys(cases))('refuses white-space-only passwords on %s (400 PASSWORD_REJECTED)', async (name) => {
      for (const blank of BLANK) {
        expect(blank.length).toBeGreaterThanOrEqual(8);
        await cases[name](blank);
      }
    });
  });
});

describe(`the client address and TRUST_PROXY on ${engine}`, () => {
  const LIMIT = 3;

  async function appWith(trustProxy: string | undefined) {
    return createTestApp({ LOGIN_RATE_LIMIT_PER_MINUTE: String(LIMIT), TRUST_PROXY: trustProxy });
  }
  const attempt = (t: TestApp, remoteAddress: string, forwardedFor?: string) =>
    t.http({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress,
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
      payload: { email: `nobody-${unique()}@example.test`, password: 'not a password' },
    });
  /** The `ip` the access log recorded for each response. */
  const loggedIps = (t: TestApp, responses: LightMyRequestResponse[]) =>
    responses.map((res) => {
      const line = t.logs.entries.find((e) => e.context === 'HTTP' && e.requestId === res.headers['x-request-id']);
      return line?.ip;
    });
  /** 10 attempts at once counted against one address: exactly LIMIT pass, the rest are limited. */
  const expectLimitedTogether = (responses: LightMyRequestResponse[]) =>
    expect(responses.map((r) => r.statusCode).sort()).toEqual([
      ...Array(LIMIT).fill(401),
      ...Array(responses.length - LIMIT).fill(429),
    ]);

  it('ignores X-Forwarded-For when TRUST_PROXY is unset: the socket address is the client', async () => {
    const t = await appWith(undefined);
    try {
      const socket = address(198);
      const responses = await parallel(10, () => attempt(t, socket, address(203)));
      expectLimitedTogether(responses);
      expect(new Set(loggedIps(t, responses))).toEqual(new Set([socket]));
      const limited = responses.find((r) => r.statusCode === 429)!;
      expect(limited.json()).toMatchObject({ code: 'TOO_MANY_LOGIN_ATTEMPTS', limit: LIMIT });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Another socket address has its own count.
      expect((await attempt(t, address(198))).statusCode).toBe(401);
    } finally {
      await t.close();
    }
  });

  it('with TRUST_PROXY=1 counts each forwarded client, and believes no hop beyond the trusted one', async () => {
    const t = await appWith('1');
    try {
      const proxy = address(10);
      const [alice, bob, carol] = [address(198), address(198), address(198)];
      const fromAlice = await parallel(10, () => attempt(t, proxy, alice));
      expectLimitedTogether(fromAlice);
      expect(new Set(loggedIps(t, fromAlice))).toEqual(new Set([alice]));
      const fromBob = await attempt(t, proxy, bob);
      expect([fromBob.statusCode, ...loggedIps(t, [fromBob])]).toEqual([401, bob]);

      // Carol puts a new made-up address in front of hers each time: the proxy's hop is the one that counts.
      const forged = await parallel(10, () => attempt(t, proxy, `${address(203)}, ${carol}`));
      expectLimitedTogether(forged);
      expect(new Set(loggedIps(t, forged))).toEqual(new Set([carol]));
    } finally {
      await t.close();
    }
  });

  it('with TRUST_PROXY as CIDR ranges believes only hops inside them', async () => {
    const second = octet();
    const t = await appWith(`10.${second}.0.0/16, 192.0.2.1`);
    try {
      const edge = `10.${second}.1.1`;
      const inner = `10.${second}.2.2`;
      const dave = address(198);
      // Two trusted hops (the socket and the inner proxy), then Dave; what stands before Dave is his own invention.
      const chained = await parallel(10, () => attempt(t, edge, `${address(203)}, ${dave}, ${inner}`));
      expectLimitedTogether(chained);
      expect(new Set(loggedIps(t, chained))).toEqual(new Set([dave]));

      const eve = address(198);
      expect(loggedIps(t, [await attempt(t, '192.0.2.1', eve)])).toEqual([eve]);

      // A socket outside the ranges is the client itself, whatever it forwards.
      const outsider = address(172);
      const direct = await parallel(10, () => attempt(t, outsider, address(203)));
      expectLimitedTogether(direct);
      expect(new Set(loggedIps(t, direct))).toEqual(new Set([outsider]));
    } finally {
      await t.close();
    }
  });
});

describe(`backing services going away on ${engine}`, () => {
  it('answers 503 SERVICE_UNAVAILABLE with Retry-After while the database is unreachable, not 500 or 401', async () => {
    const database = await cloneSharedTemplateDatabase();
    const proxy = database.url ? await TcpProxy.start(new URL(database.url)) : undefined;
    const t = await createTestApp(proxy ? { DATABASE_URL: proxy.through(database.url!) } : {}, [], { database });
    try {
      const tenant = await newTenant(t);
      // Signed in but never used: the guard must reach the database to resolve it.
      const fresh = await login(t, tenant.admin.email, tenant.admin.password);

      if (proxy) await proxy.cut();
      else await database.overrides.embeddedDatabase!.close();

      const requests: [string, InjectOptions][] = [
        [
          'sign-in',
          {
            method: 'POST',
            url: '/api/v1/auth/login',
            payload: { email: tenant.admin.email, password: tenant.admin.password },
          },
        ],
        ['an authenticated read', { method: 'GET', url: '/api/v1/users', headers: bearer(fresh.accessToken) }],
        ['refresh', { method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: fresh.refreshToken } }],
        ['readiness', { method: 'GET', url: '/health/ready' }],
      ];
      for (const [name, request] of requests) {
        const res = await t.http(request);
        expect([name, res.statusCode, res.json().code]).toEqual([name, 503, 'SERVICE_UNAVAILABLE']);
        if (name !== 'readiness') expect([name, Number(res.headers['retry-after'])]).toEqual([name, 5]);
        expect(res.body).not.toMatch(/ECONNREFUSED|terminated|PGlite|127\.0\.0\.1/);
      }
      expect((await t.http({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);

      if (proxy) {
        // Back again: the pool reconnects, and the same credentials work.
        await proxy.restore();
        expect((await t.http(requests[0][1])).statusCode).toBe(200);
        expect((await t.http(requests[1][1])).statusCode).toBe(200);
      }
    } finally {
      await t.close();
      if (proxy) await proxy.cut();
      await database.drop();
    }
  });

  it('keeps signing in, limiting and revoking in-process when Redis is configured but unreachable', async () => {
    const t = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1', LOGIN_RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const remoteAddress = address(198);
      const tenant = await newTenant(t);
      const member = await newUser(t, tenant, 'member');
      const signIn = () =>
        t.http({
          method: 'POST',
          url: '/api/v1/auth/login',
          remoteAddress,
          payload: { email: member.email, password: member.password },
        });
      const attempts = [await signIn(), await signIn(), await signIn(), await signIn()];
      expect(attempts.map((r) => r.statusCode)).toEqual([200, 200, 200, 429]);

      const me = () =>
        t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(attempts[0].json().accessToken) });
      expect((await me()).statusCode).toBe(200);
      const disable = await t.http({
        method: 'PATCH',
        url: `/api/v1/users/${member.id}`,
        headers: bearer(tenant.admin.accessToken),
        payload: { status: 'disabled' },
      });
      expect(disable.statusCode).toBe(200);
      expect((await me()).statusCode).toBe(401);
    } finally {
      await t.close();
    }
  });
});
