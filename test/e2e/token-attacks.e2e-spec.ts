import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import jwt from 'jsonwebtoken';
import { bearer, newTenant, type TenantFixture } from '../helpers/factories.js';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from '../helpers/test-app.js';

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('access token attacks', () => {
  let t: TestApp;
  let tenant: TenantFixture;
  let claims: Record<string, unknown>;

  beforeAll(async () => {
    t = await createTestApp();
    tenant = await newTenant(t);
    claims = jwt.decode(tenant.admin.accessToken) as Record<string, unknown>;
  });
  afterAll(() => t.close());

  const me = (token: string) => t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(token) });
  const base = () => {
    const { iat: _iat, exp: _exp, ...rest } = claims;
    return rest;
  };

  it('accepts the genuine token', async () => {
    expect((await me(tenant.admin.accessToken)).statusCode).toBe(200);
  });

  const attacks: [string, () => string][] = [
    ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims })}.`],
    [
      'alg none with a signature part',
      () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims })}.${tenant.admin.accessToken.split('.')[2]}`,
    ],
    ['another algorithm (HS512)', () => jwt.sign(base(), TEST_JWT_SECRET, { algorithm: 'HS512', expiresIn: 600 })],
    [
      'a wrong key',
      () => jwt.sign(base(), 'another-secret-of-sufficient-length-1234', { algorithm: 'HS256', expiresIn: 600 }),
    ],
    [
      'an expired token',
      () => jwt.sign({ ...base(), exp: Math.floor(Date.now() / 1000) - 10 }, TEST_JWT_SECRET, { algorithm: 'HS256' }),
    ],
    [
      'a wrong audience',
      () => jwt.sign({ ...base(), aud: 'someone-else' }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: 600 }),
    ],
    [
      'a wrong issuer',
      () => jwt.sign({ ...base(), iss: 'evil' }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: 600 }),
    ],
    [
      'a tampered payload',
      () => {
        const [h, , s] = tenant.admin.accessToken.split('.');
        return `${h}.${b64({ ...claims, knd: 'platform_admin' })}.${s}`;
      },
    ],
    [
      'an old token version',
      () => jwt.sign({ ...base(), ver: -1 }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: 600 }),
    ],
    [
      'another tenant in the claims',
      () =>
        jwt.sign({ ...base(), tid: '00000000-0000-4000-8000-000000000000' }, TEST_JWT_SECRET, {
          algorithm: 'HS256',
          expiresIn: 600,
        }),
    ],
    ['garbage', () => 'not.a.jwt'],
  ];

  it.each(attacks)('refuses %s with 401 TOKEN_INVALID', async (_name, forge) => {
    const res = await me(forge());
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().code).toBe('TOKEN_INVALID');
  });

  it('refuses requests without credentials with 401 UNAUTHENTICATED', async () => {
    const res = await t.http({ method: 'GET', url: '/api/v1/auth/me' });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('UNAUTHENTICATED');
    const basic = await t.http({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: 'Basic abc' } });
    expect(basic.statusCode).toBe(401);
  });
});
