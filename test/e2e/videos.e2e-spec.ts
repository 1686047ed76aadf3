import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { grant, newPlan, subscribe, wallet } from '../helpers/billing.js';
import { eventually } from '../helpers/concurrency.js';
import {
  type Account,
  bearer,
  newTenant,
  newUser,
  personalKey,
  superAdmin,
  type TenantFixture,
  unique,
} from '../helpers/factories.js';
import { type FakeGemini, startFakeGemini } from '../helpers/fake-gemini.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const engine = process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite';
const GIF = 'GIF89a';

describe(`video jobs (${engine})`, () => {
  let t: TestApp;
  let gemini: FakeGemini;
  let root: Account;
  let baseURL: string;

  beforeAll(async () => {
    gemini = await startFakeGemini();
    t = await createTestApp({ GATEWAY_TIMEOUT_MS: '3000', JOB_POLL_INTERVAL_MS: '50' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseURL = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}/api/v1`;
    root = await superAdmin(t);
  });
  afterAll(async () => {
    await t.close();
    await gemini.close();
  });

  const admin = (url: string, payload: object) =>
    t.http({ method: 'POST', url: `/api/v1${url}`, headers: bearer(root.accessToken), payload });
  const get = (token: string, url: string) => t.http({ method: 'GET', url: `/api/v1${url}`, headers: bearer(token) });

  async function tenantOn(quotas: object[] = []): Promise<{ tenant: TenantFixture; member: Account }> {
    const tenant = await newTenant(t);
    await subscribe(t, tenant, (await newPlan(t, { quotas: quotas as never })).code);
    await grant(t, tenant, 10_000_000);
    return { tenant, member: await newUser(t, tenant, 'member') };
  }

  const finished = (token: string, id: string) =>
    eventually(
      `video ${id} finished`,
      async () => {
        const video = (await get(token, `/videos/${id}`)).json();
        return ['completed', 'failed'].includes(video.status) ? video : undefined;
      },
      { withinMs: 15_000, everyMs: 50 },
    );

  it('makes a local video through the openai SDK as a job, stores it as media, and counts it only when done', async () => {
    const { tenant, member } = await tenantOn([{ meter: 'videos', limit: 5, period: 'day', scope: 'user' }]);
    const client = new OpenAI({ apiKey: (await personalKey(t, member)).key, baseURL, maxRetries: 0 });
    const job = await client.videos.create({
      model: 'local-video' as OpenAI.VideoModel,
      prompt: 'waves on a shore',
      seconds: '4',
      size: '128x72' as OpenAI.VideoSize,
    });
    expect(job).toMatchObject({ object: 'video', status: 'queued', progress: 0, seconds: '4', size: '128x72' });

    const done = await finished(member.accessToken, job.id);
    expect(done).toMatchObject({ status: 'completed', progress: 100, error: null });
    const video = await client.videos.downloadContent(job.id);
    const bytes = Buffer.from(await video.arrayBuffer());
    expect(bytes.toString('latin1', 0, 6)).toBe(GIF);
    expect(video.headers.get('content-type')).toBe('image/gif');

    const [media] = await t.dataSource.query(
      `SELECT type, seconds, width, height, user_id, size_bytes FROM media WHERE tenant_id = $1 AND id = $2`,
      [tenant.id, done.media_id],
    );
    expect({ ...media, size_bytes: Number(media.size_bytes) }).toEqual({
      type: 'video',
      seconds: 4,
      width: 128,
      height: 72,
      user_id: member.id,
      size_bytes: bytes.length,
    });
    const events = await t.dataSource.query(
      `SELECT quantity, user_id FROM usage_events WHERE tenant_id = $1 AND meter = 'videos'`,
      [tenant.id],
    );
    expect(events.map((e: { quantity: unknown; user_id: string }) => [Number(e.quantity), e.user_id])).toEqual([
      [1, member.id],
    ]);
    const quota = (await get(member.accessToken, '/usage/quotas')).json();
    expect(quota.find((q: { meter: string }) => q.meter === 'videos')).toMatchObject({ used: 1, reserved: 0 });
    expect((await get(member.accessToken, '/videos')).json()).toMatchObject({ object: 'list', total: 1 });
    const [generation] = await t.dataSource.query(
      `SELECT task, status, user_id FROM generations WHERE tenant_id = $1`,
      [tenant.id],
    );
    expect(generation).toEqual({ task: 'video', status: 'succeeded', user_id: member.id });

    // Another user of the tenant, or another tenant, sees nothing of it.
    const other = await newUser(t, tenant, 'member');
    expect((await get(other.accessToken, `/videos/${job.id}`)).statusCode).toBe(404);
    expect((await get(other.accessToken, `/videos/${job.id}/content`)).statusCode).toBe(404);
    expect((await get(other.accessToken, '/videos')).json().total).toBe(0);
    const stranger = await newTenant(t);
    expect((await get(stranger.admin.accessToken, `/videos/${job.id}`)).statusCode).toBe(404);
    expect((await get(tenant.admin.accessToken, `/videos/${job.id}`)).statusCode).toBe(200);
  });

  it('holds the quota while a job runs, and a failed job releases its hold and counts nothing', async () => {
    const { tenant, member } = await tenantOn([{ meter: 'videos', limit: 1, period: 'day', scope: 'user' }]);
    const start = (size: string) =>
      t.http({
        method: 'POST',
        url: '/api/v1/videos',
        headers: bearer(member.accessToken),
        payload: { model: 'local-video', prompt: 'too big', size },
      });
    const first = await start('4000x4000');
    expect(first.statusCode).toBe(202);
    const failed = await finished(member.accessToken, first.json().id);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'PROVIDER_REJECTED' }, media_id: null });
    const content = await get(member.accessToken, `/videos/${failed.id}/content`);
    expect(content.statusCode).toBe(409);
    expect(content.json().code).toBe('VIDEO_NOT_READY');
    const [hold] = await t.dataSource.query(`SELECT status FROM reservations WHERE tenant_id = $1`, [tenant.id]);
    expect(hold.status).toBe('released');
    expect(
      await t.dataSource.query(`SELECT 1 FROM usage_events WHERE tenant_id = $1 AND meter = 'videos'`, [tenant.id]),
    ).toEqual([]);

    // The quota is free again: one job runs; while it is held, a second is refused.
    const second = await start('64x64');
    expect(second.statusCode).toBe(202);
    const third = await start('64x64');
    const completed = await finished(member.accessToken, second.json().id);
    expect(completed.status).toBe('completed');
    expect(third.statusCode).toBe(429);
    expect(third.json().code).toBe('QUOTA_EXCEEDED');
  });

  it('refuses bad video requests with 400 and writes nothing', async () => {
    const { tenant, member } = await tenantOn();
    for (const payload of [
      {},
      { prompt: 'x', seconds: 0 },
      { prompt: 'x', seconds: '1e3' },
      { prompt: 'x', size: 'big' },
      { prompt: 'x', colour: 'red' },
      { prompt: ['x'] },
    ]) {
      const res = await t.http({
        method: 'POST',
        url: '/api/v1/videos',
        headers: bearer(member.accessToken),
        payload,
      });
      expect([JSON.stringify(payload), res.statusCode]).toEqual([JSON.stringify(payload), 400]);
    }
    expect(await t.dataSource.query(`SELECT 1 FROM video_jobs WHERE tenant_id = $1`, [tenant.id])).toEqual([]);
    expect(await t.dataSource.query(`SELECT 1 FROM reservations WHERE tenant_id = $1`, [tenant.id])).toEqual([]);
  });

  it('runs Veo on a Gemini-native upstream as a long-running operation, polled until done', async () => {
    const provider = (
      await admin('/providers', { name: `gem-${unique()}`, kind: 'gemini', baseUrl: gemini.url })
    ).json();
    expect((await admin(`/providers/${provider.id}/keys`, { key: 'AIzaVideoKey00000001' })).statusCode).toBe(201);
    const alias = `veo-${unique()}`;
    expect(
      (
        await admin('/model-routes', {
          alias,
          task: 'video',
          targets: [{ providerId: provider.id, model: 'veo-3.0-fast-generate-001' }],
          perVideoSecondMicros: 100_000,
        })
      ).statusCode,
    ).toBe(201);
    gemini.configureVideos({ pendingPolls: 2 });
    const { tenant, member } = await tenantOn();
    const before = await wallet(t, tenant.id);
    const created = await t.http({
      method: 'POST',
      url: '/api/v1/videos',
      headers: bearer(member.accessToken),
      payload: { model: alias, prompt: 'a paper boat', seconds: 8, size: '1280x720' },
    });
    expect(created.statusCode).toBe(202);
    const done = await finished(member.accessToken, created.json().id);
    expect(done.status).toBe('completed');
    const started = gemini.requests.find((r) => r.path.endsWith(':predictLongRunning'));
    expect(started?.path).toContain('veo-3.0-fast-generate-001');
    expect(gemini.requests.filter((r) => r.path.includes('/operations/')).length).toBeGreaterThanOrEqual(3);
    const content = await get(member.accessToken, `/videos/${done.id}/content`);
    expect(content.statusCode).toBe(200);
    expect(content.rawPayload.length).toBeGreaterThan(0);
    expect(before.balance - (await wallet(t, tenant.id)).balance).toBe(8 * 100_000);
  });
});
