import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
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
import { type FakeOpenAI, startFakeOpenAI, videoBytes } from '../helpers/fake-openai.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const engine = process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite';
const PRICE_PER_SECOND = 100_000;

describe(`video jobs on an OpenAI upstream (${engine})`, () => {
  let t: TestApp;
  let fake: FakeOpenAI;
  let root: Account;
  let baseURL: string;
  let alias: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    t = await createTestApp({ GATEWAY_TIMEOUT_MS: '3000', JOB_POLL_INTERVAL_MS: '50' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseURL = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}/api/v1`;
    root = await superAdmin(t);
    const admin = async (url: string, payload: object) => {
      const res = await t.http({ method: 'POST', url: `/api/v1${url}`, headers: bearer(root.accessToken), payload });
      expect(res.statusCode).toBe(201);
      return res.json();
    };
    const provider = await admin('/providers', { name: `oai-${unique()}`, kind: 'openai', baseUrl: fake.url });
    await admin(`/providers/${provider.id}/keys`, { key: `sk-video-${unique()}` });
    alias = `sora-${unique()}`;
    await admin('/model-routes', {
      alias,
      task: 'video',
      targets: [{ providerId: provider.id, model: 'sora-2' }],
      perVideoSecondMicros: PRICE_PER_SECOND,
    });
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  /** A tenant on a plan without rate limits, with credits, and a member's API client on Atrium. */
  async function member(): Promise<{ tenant: TenantFixture; user: Account; client: OpenAI }> {
    const tenant = await newTenant(t);
    await subscribe(t, tenant, (await newPlan(t)).code);
    await grant(t, tenant, 10_000_000);
    const user = await newUser(t, tenant, 'member');
    const client = new OpenAI({ apiKey: (await personalKey(t, user)).key, baseURL, maxRetries: 0 });
    return { tenant, user, client };
  }

  // Atrium's video object also names the media the finished video is stored as.
  const finished = (client: OpenAI, id: string) =>
    eventually(
      `video ${id} finished`,
      async () => {
        const video = (await client.videos.retrieve(id)) as OpenAI.Video & { media_id: string | null };
        return video.status === 'completed' || video.status === 'failed' ? video : undefined;
      },
      { withinMs: 20_000, everyMs: 50 },
    );

  const upstreamOf = async (tenantId: string, id: string): Promise<string> => {
    const [row] = await t.dataSource.query(`SELECT upstream_id FROM video_jobs WHERE tenant_id = $1 AND id = $2`, [
      tenantId,
      id,
    ]);
    return row.upstream_id;
  };

  it('starts the video upstream, polls it until completed, stores its bytes as media and bills its seconds', async () => {
    const { tenant, user, client } = await member();
    fake.configureVideos({ pendingPolls: 2 });
    const before = await wallet(t, tenant.id);
    const job = await client.videos.create({
      model: alias as OpenAI.VideoModel,
      prompt: 'a lighthouse at dusk',
      seconds: '8',
      size: '1280x720',
    });
    expect(job).toMatchObject({ object: 'video', status: 'queued', progress: 0, seconds: '8', size: '1280x720' });

    const done = await finished(client, job.id);
    expect(done).toMatchObject({ id: job.id, status: 'completed', progress: 100, error: null });

    // One upstream video, started with the request's parameters (the SDK's form), polled until it completed.
    const starts = fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/videos');
    expect(starts).toHaveLength(1);
    expect(starts[0].headers['content-type']).toMatch(/^multipart\/form-data/);
    expect(starts[0].body).toEqual({ model: 'sora-2', prompt: 'a lighthouse at dusk', seconds: '8', size: '1280x720' });
    const upstreamId = await upstreamOf(tenant.id, job.id);
    expect(upstreamId).toMatch(/^video_/);
    const paths = fake.requests.filter((r) => r.method === 'GET').map((r) => r.path);
    expect(paths).toEqual([
      `/v1/videos/${upstreamId}`,
      `/v1/videos/${upstreamId}`,
      `/v1/videos/${upstreamId}`,
      `/v1/videos/${upstreamId}/content`,
    ]);

    const video = await client.videos.downloadContent(job.id);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    const bytes = Buffer.from(await video.arrayBuffer());
    expect(bytes.equals(videoBytes(upstreamId))).toBe(true);
    expect(bytes.toString('latin1', 4, 8)).toBe('ftyp');

    const media = await t.dataSource.query(
      `SELECT id, type, content_type, seconds, size_bytes, user_id FROM media WHERE tenant_id = $1`,
      [tenant.id],
    );
    expect(media.map((m: Record<string, unknown>) => ({ ...m, size_bytes: Number(m.size_bytes) }))).toEqual([
      {
        id: done.media_id,
        type: 'video',
        content_type: 'video/mp4',
        seconds: 8,
        size_bytes: bytes.length,
        user_id: user.id,
      },
    ]);
    const after = await wallet(t, tenant.id);
    expect(before.balance - after.balance).toBe(8 * PRICE_PER_SECOND);
    expect(after.reserved).toBe(0);
    const events = await t.dataSource.query(
      `SELECT quantity, cost_micros, user_id FROM usage_events WHERE tenant_id = $1 AND meter = 'videos'`,
      [tenant.id],
    );
    expect(events.map((e: Record<string, unknown>) => [Number(e.quantity), Number(e.cost_micros), e.user_id])).toEqual([
      [1, 8 * PRICE_PER_SECOND, user.id],
    ]);
    const [hold] = await t.dataSource.query(`SELECT status FROM reservations WHERE tenant_id = $1`, [tenant.id]);
    expect(hold.status).toBe('committed');
  });

  it('retries a start the upstream answered with a 503, and completes and bills one video', async () => {
    const { tenant, client } = await member();
    fake.configureVideos({ pendingPolls: 0 });
    fake.behaveAll({ kind: 'status', status: 503 }, 1);
    const before = await wallet(t, tenant.id);
    const job = await client.videos.create({ model: alias as OpenAI.VideoModel, prompt: 'rain on a window' });

    const done = await finished(client, job.id);
    expect(done).toMatchObject({ status: 'completed', error: null });
    // The refused start made no video upstream; the retried one made the only one.
    expect(fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/videos')).toHaveLength(2);
    const upstreamId = await upstreamOf(tenant.id, job.id);
    expect(fake.requests.filter((r) => r.method === 'GET').map((r) => r.path)).toEqual([
      `/v1/videos/${upstreamId}`,
      `/v1/videos/${upstreamId}/content`,
    ]);
    expect(await t.dataSource.query(`SELECT type FROM media WHERE tenant_id = $1`, [tenant.id])).toEqual([
      { type: 'video' },
    ]);
    const events = await t.dataSource.query(`SELECT 1 FROM usage_events WHERE tenant_id = $1 AND meter = 'videos'`, [
      tenant.id,
    ]);
    expect(events).toHaveLength(1);
    // The default length, 4 seconds.
    expect(before.balance - (await wallet(t, tenant.id)).balance).toBe(4 * PRICE_PER_SECOND);
  });

  it('fails the job when the upstream video fails: the hold is released and nothing is billed or stored', async () => {
    const { tenant, client } = await member();
    fake.configureVideos({ pendingPolls: 1, fail: { code: 'moderation_blocked', message: 'The fake refused it.' } });
    const before = await wallet(t, tenant.id);
    const job = await client.videos.create({ model: alias as OpenAI.VideoModel, prompt: 'something forbidden' });

    const done = await finished(client, job.id);
    expect(done.status).toBe('failed');
    expect(done.error?.code).toBe('PROVIDER_REJECTED');
    expect(done.error?.message).toContain('The fake refused it.');
    expect(fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/videos')).toHaveLength(1);
    expect(fake.requests.some((r) => r.path.endsWith('/content'))).toBe(false);

    const [hold] = await t.dataSource.query(`SELECT status FROM reservations WHERE tenant_id = $1`, [tenant.id]);
    expect(hold.status).toBe('released');
    const after = await wallet(t, tenant.id);
    expect(after.balance).toBe(before.balance);
    expect(after.reserved).toBe(0);
    expect(await t.dataSource.query(`SELECT 1 FROM media WHERE tenant_id = $1`, [tenant.id])).toEqual([]);
    expect(
      await t.dataSource.query(`SELECT 1 FROM usage_events WHERE tenant_id = $1 AND meter = 'videos'`, [tenant.id]),
    ).toEqual([]);
    const [row] = await t.dataSource.query(`SELECT status, media_id FROM video_jobs WHERE tenant_id = $1`, [tenant.id]);
    expect(row).toEqual({ status: 'failed', media_id: null });
  });

  it('fails a job whose hold was released while it ran: the finished video is not stored, billed or counted', async () => {
    const { tenant, user, client } = await member();
    fake.configureVideos({ pendingPolls: 1_000 });
    const before = await wallet(t, tenant.id);
    const job = await client.videos.create({ model: alias as OpenAI.VideoModel, prompt: 'a quiet harbour' });
    await eventually('the upstream video started', async () => (await upstreamOf(tenant.id, job.id)) ?? undefined, {
      withinMs: 10_000,
    });
    const [{ reservation_id: reservationId }] = await t.dataSource.query(
      `SELECT reservation_id FROM video_jobs WHERE tenant_id = $1 AND id = $2`,
      [tenant.id, job.id],
    );
    const released = await t.http({
      method: 'POST',
      url: `/api/v1/usage/reservations/${reservationId}/release`,
      headers: bearer(user.accessToken),
    });
    expect(released.statusCode).toBe(200);
    fake.finishVideos();

    const done = await finished(client, job.id);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'RESERVATION_SETTLED' } });
    // The upstream finished and its bytes were fetched, but nothing of the completion stayed.
    expect(fake.requests.some((r) => r.path.endsWith('/content'))).toBe(true);
    expect(await t.dataSource.query(`SELECT 1 FROM media WHERE tenant_id = $1`, [tenant.id])).toEqual([]);
    expect(
      await t.dataSource.query(`SELECT 1 FROM usage_events WHERE tenant_id = $1 AND meter = 'videos'`, [tenant.id]),
    ).toEqual([]);
    expect(await wallet(t, tenant.id)).toMatchObject({ balance: before.balance, reserved: 0 });
    const [row] = await t.dataSource.query(`SELECT status, media_id FROM video_jobs WHERE tenant_id = $1`, [tenant.id]);
    expect(row).toEqual({ status: 'failed', media_id: null });
    const [generation] = await t.dataSource.query(`SELECT status, error_code FROM generations WHERE tenant_id = $1`, [
      tenant.id,
    ]);
    expect(generation).toEqual({ status: 'failed', error_code: 'RESERVATION_SETTLED' });
  });
});
