import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { ProbeModule } from '../helpers/probe.module.js';

describe('HTTP pipeline: errors, request ids, access log', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ BODY_LIMIT_BYTES: '2048' }, [ProbeModule]);
  });
  afterAll(() => t.close());

  const valid = { name: 'a', count: 1, nested: { flag: true } };

  it('accepts a valid body and turns nested objects into class instances', async () => {
    const res = await t.http({ method: 'POST', url: '/api/v1/probe/echo', payload: valid });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ ...valid, nestedIsInstance: true });
  });

  it('answers an unknown route with 404 problem details', async () => {
    const res = await t.http({ method: 'GET', url: '/api/v1/does-not-exist' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
      type: expect.any(String),
      title: expect.any(String),
    });
  });

  it('keeps routes outside the /api/v1 prefix only for health, docs and metrics', async () => {
    expect((await t.http({ method: 'GET', url: '/probe/slow' })).statusCode).toBe(404);
    expect((await t.http({ method: 'GET', url: '/api/v1/health/live' })).statusCode).toBe(404);
    expect((await t.http({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });

  it('answers an invalid body with 400 VALIDATION_FAILED listing each field', async () => {
    const res = await t.http({
      method: 'POST',
      url: '/api/v1/probe/echo',
      payload: { name: '', count: 'false', nested: { flag: 'false' }, extra: 1 },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body).toMatchObject({ code: 'VALIDATION_FAILED', status: 400, requestId: res.headers['x-request-id'] });
    const fields = body.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(['count', 'extra', 'name', 'nested.flag']);
  });

  it('never coerces the string "false" into a boolean or number', async () => {
    const res = await t.http({
      method: 'POST',
      url: '/api/v1/probe/echo',
      payload: { ...valid, nested: { flag: 'false' } },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ field: 'nested.flag', messages: [expect.stringContaining('boolean')] }]);
  });

  it('answers malformed JSON with 400 MALFORMED_JSON', async () => {
    const res = await t.http({
      method: 'POST',
      url: '/api/v1/probe/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": "a",',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'MALFORMED_JSON', status: 400 });
  });

  it('answers a body over BODY_LIMIT_BYTES with 413', async () => {
    const res = await t.http({
      method: 'POST',
      url: '/api/v1/probe/echo',
      payload: { ...valid, name: 'x'.repeat(4096) },
    });
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
  });

  it('answers an unsupported content type with 415', async () => {
    const res = await t.http({
      method: 'POST',
      url: '/api/v1/probe/echo',
      headers: { 'content-type': 'application/xml' },
      payload: '<name>a</name>',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', status: 415 });
  });

  it('answers an unexpected error with a generic 500 and logs the stack, never sending it', async () => {
    const res = await t.http({ method: 'GET', url: '/api/v1/probe/boom' });
    expect(res.statusCode).toBe(500);
    const body = res.json();
    expect(body).toMatchObject({ code: 'INTERNAL_ERROR', status: 500 });
    expect(res.body).not.toMatch(/password_hash|SELECT|relation|at .*\.ts/);
    const logged = t.logs.entries.find((e) => e.requestId === body.requestId && e.level === 'error');
    expect(logged).toBeDefined();
    expect(String(logged!.stack)).toContain('probe.module');
  });

  it('echoes a sane incoming X-Request-Id and uses it in every log line of the request', async () => {
    const res = await t.http({
      method: 'GET',
      url: '/api/v1/probe/boom',
      headers: { 'x-request-id': 'abc-123.trace:1' },
    });
    expect(res.headers['x-request-id']).toBe('abc-123.trace:1');
    expect(res.json().requestId).toBe('abc-123.trace:1');
    const lines = t.logs.entries.filter((e) => e.requestId === 'abc-123.trace:1');
    expect(lines.map((l) => l.level).sort()).toEqual(['error', 'info']);
  });

  it('replaces an insane X-Request-Id with a generated one', async () => {
    const res = await t.http({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'bad id\twith <script>' },
    });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes one access line per request with method, route, status and duration', async () => {
    const res = await t.http({ method: 'GET', url: '/health/live?x=1' });
    const id = res.headers['x-request-id'];
    const access = t.logs.entries.filter((e) => e.requestId === id && e.context === 'HTTP');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({
      method: 'GET',
      route: '/health/live',
      status: 200,
      durationMs: expect.any(Number),
    });
  });

  it('never logs authorization headers, passwords, tokens or keys', async () => {
    const secret = 'sk-super-secret-value-1234567890';
    await t.http({
      method: 'POST',
      url: '/api/v1/probe/echo',
      headers: { authorization: `Bearer ${secret}`, 'x-api-key': secret },
      payload: { ...valid, password: secret, token: secret },
    });
    expect(JSON.stringify(t.logs.entries)).not.toContain(secret);
  });
});
