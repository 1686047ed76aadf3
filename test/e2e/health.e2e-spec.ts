import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
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

  it('reports readiness with the database (and Redis when configured) up', async () => {
    const res = await t.http({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.details.database.status).toBe('up');
    if (process.env.REDIS_URL) expect(body.details.redis.status).toBe('up');
    else expect(body.details.redis).toBeUndefined();
  });

  it('serves Prometheus metrics outside the API prefix', async () => {
    await t.http({ method: 'GET', url: '/health/live' });
    const res = await t.http({ method: 'GET', url: '/metrics' });
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

describe('readiness with a dependency down', () => {
  it('answers 503 when Redis is configured but unreachable', async () => {
    const t = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const res = await t.http({ method: 'GET', url: '/health/ready' });
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
      await t.dataSource.destroy();
      const res = await t.http({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(503);
      expect(res.json().details.database.status).toBe('down');
      const live = await t.http({ method: 'GET', url: '/health/live' });
      expect(live.statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
