import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bearer, newTenant, superAdmin } from '../helpers/factories.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

describe('health', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('reports liveness without touching dependencies', async () => {
    const res = await t.http({ method: 'GET', url: '/health/live' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok' });
  });

  it('reports readiness to anyone, and which dependency is up (and versions) only to super admins', async () => {
    const anonymous = await t.http({ method: 'GET', url: '/health/ready' });
    expect(anonymous.statusCode).toBe(200);
    expect(anonymous.json()).toEqual({ status: 'ok' });

    const tenant = await newTenant(t);
    const asTenantAdmin = await t.http({
      method: 'GET',
      url: '/health/ready',
      headers: bearer(tenant.admin.accessToken),
    });
    expect(asTenantAdmin.json()).toEqual({ status: 'ok' });
    const badToken = await t.http({ method: 'GET', url: '/health/ready', headers: bearer('not.a.token') });
    expect([badToken.statusCode, badToken.json()]).toEqual([200, { status: 'ok' }]);

    const root = await superAdmin(t);
    const res = await t.http({ method: 'GET', url: '/health/ready', headers: bearer(root.accessToken) });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.details.database.status).toBe('up');
    expect(body.database).toMatchObject({
      engine: process.env.TEST_DATABASE_URL ? 'postgresql' : 'pglite',
      version: expect.any(String),
      rowLevelSecurity: true,
      vectorSearch: expect.stringMatching(/^(pgvector|float4\[\] \(exact\))$/),
    });
    // PGlite ships pgvector; a PostgreSQL server has it only where the extension is installed.
    if (!process.env.TEST_DATABASE_URL) expect(body.database.vectorSearch).toBe('pgvector');
    if (process.env.REDIS_URL) expect(body.details.redis.status).toBe('up');
    else expect(body.details.redis).toBeUndefined();
  });

  it('serves Prometheus metrics outside the API prefix, to super admins only', async () => {
    await t.http({ method: 'GET', url: '/health/live' });
    expect((await t.http({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const tenant = await newTenant(t);
    const denied = await t.http({ method: 'GET', url: '/metrics', headers: bearer(tenant.admin.accessToken) });
    expect(denied.statusCode).toBe(403);
    const root = await superAdmin(t);
    const res = await t.http({ method: 'GET', url: '/metrics', headers: bearer(root.accessToken) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toMatch(
      /atrium_http_request_duration_seconds_count\{method="GET",route="\/health\/live",status="200"\} \d+/,
    );
  });

  it('serves Swagger UI at /docs and the OpenAPI document at /docs-json', async () => {
    const ui = await t.http({ method: 'GET', url: '/docs' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger-ui');
    const doc = await t.http({ method: 'GET', url: '/docs-json' });
    expect(doc.statusCode).toBe(200);
    const spec = doc.json();
    expect(spec.components.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      'api-key': { type: 'apiKey', in: 'header', name: 'X-API-Key' },
    });
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/health/live', '/health/ready', '/metrics']));
  });

  it('serves exactly the committed openapi.json', async () => {
    const doc = await t.http({ method: 'GET', url: '/docs-json' });
    expect(doc.json()).toEqual(JSON.parse(readFileSync('openapi.json', 'utf8')));
  });
});

describe('metrics with METRICS_TOKEN set', () => {
  it('answers to that bearer token (compared in constant time) and to super admins, nobody else', async () => {
    const token = 'scraper-token-0123456789abcdef';
    const t = await createTestApp({ METRICS_TOKEN: token });
    try {
      expect((await t.http({ method: 'GET', url: '/metrics', headers: bearer(token) })).statusCode).toBe(200);
      expect((await t.http({ method: 'GET', url: '/metrics', headers: bearer(`${token}x`) })).statusCode).toBe(401);
      expect((await t.http({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
      const root = await superAdmin(t);
      expect((await t.http({ method: 'GET', url: '/metrics', headers: bearer(root.accessToken) })).statusCode).toBe(
        200,
      );
    } finally {
      await t.close();
    }
  });
});

describe('readiness with a dependency down', () => {
  it('answers 503 with Retry-After when Redis is configured but unreachable; details only for super admins', async () => {
    const t = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const anonymous = await t.http({ method: 'GET', url: '/health/ready' });
      expect(anonymous.statusCode).toBe(503);
      expect(anonymous.headers['retry-after']).toBe('5');
      expect(anonymous.json().details).toBeUndefined();
      const root = await superAdmin(t);
      const res = await t.http({ method: 'GET', url: '/health/ready', headers: bearer(root.accessToken) });
      expect(res.statusCode).toBe(503);
      const body = res.json();
      expect(body.details.redis.status).toBe('down');
      expect(body.details.database.status).toBe('up');
    } finally {
      await t.close();
    }
  });

  it('answers 503 when the database is gone', async () => {
    const t = await createTestApp();
    try {
      const root = await superAdmin(t);
      // Resolved once while the database is up: the principal cache then answers for it.
      await t.http({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(root.accessToken) });
      await t.dataSource.destroy();
      const res = await t.http({ method: 'GET', url: '/health/ready', headers: bearer(root.accessToken) });
      expect(res.statusCode).toBe(503);
      expect(res.json().details.database.status).toBe('down');
      const live = await t.http({ method: 'GET', url: '/health/live' });
      expect(live.statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
