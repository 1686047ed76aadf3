import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { grant, newPlan, subscribe, wallet } from '../helpers/billing.js';
import { eventually } from '../helpers/concurrency.js';
import { bearer, newTenant, newUser } from '../helpers/factories.js';
import { type FakeOpenAI, startFakeOpenAI, videoBytes } from '../helpers/fake-openai.js';
import { upstreamRoute } from '../helpers/gateway.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { cloneSharedTemplateDatabase, postgresUrl, type TestDatabase } from '../helpers/test-database.js';

const engine = postgresUrl() ? 'PostgreSQL' : 'PGlite';
const queue = process.env.REDIS_URL ? 'BullMQ' : 'jobs table';
const PRICE_PER_SECOND = 50_000;
/** The test boots two apps one after the other, which on a busy machine takes longer than Jest's default allows. */
const TEST_TIMEOUT_MS = 90_000;
// One SECRETS_KEY for both, as production requires: the second opens the provider key the first sealed.
const ENV = { SECRETS_KEY: 'ab'.repeat(32), GATEWAY_TIMEOUT_MS: '3000', JOB_POLL_INTERVAL_MS: '50' };

/** A video job outlives the instance that started it: the queued poll resumes it on the next instance. */
describe(`video jobs across a restart (${engine}, ${queue})`, () => {
  let database: TestDatabase;
  let fake: FakeOpenAI;
  let first: TestApp | undefined;
  let second: TestApp | undefined;

  beforeAll(async () => {
    database = await cloneSharedTemplateDatabase();
    fake = await startFakeOpenAI();
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await database?.drop();
    await fake?.close();
  });

  it(
    'completes on the next instance a video the stopped one started, without starting it upstream again',
    async () => {
      // Both instances get the same database object, so the same REDIS_PREFIX: one queue.
      first = await createTestApp(ENV, [], { database });
      const i1 = first;
      const alias = await upstreamRoute(i1, fake.url, {
        task: 'video',
        model: 'sora-2',
        prices: { perVideoSecondMicros: PRICE_PER_SECOND },
      });
      const tenant = await newTenant(i1);
      await subscribe(i1, tenant, (await newPlan(i1)).code);
      await grant(i1, tenant, 10_000_000);
      const member = await newUser(i1, tenant, 'member');
      const before = await wallet(i1, tenant.id);

      // The upstream stays in progress for as long as the first instance runs.
      fake.configureVideos({ pendingPolls: 1_000_000 });
      const created = await i1.http({
        method: 'POST',
        url: '/api/v1/videos',
        headers: bearer(member.accessToken),
        payload: { model: alias, prompt: 'a train crossing a bridge', seconds: 4, size: '1280x720' },
      });
      expect(created.statusCode).toBe(202);
      const id: string = created.json().id;
      const started = await eventually(
        `video ${id} started upstream`,
        async () => {
          const [row] = await i1.dataSource.query(
            `SELECT status, upstream_id FROM video_jobs WHERE tenant_id = $1 AND id = $2`,
            [tenant.id, id],
          );
          return row.status === 'in_progress' && row.upstream_id ? row : undefined;
        },
        { withinMs: 15_000, everyMs: 20 },
      );
      await first.close();
      first = undefined;

      // The upstream finishes while no instance runs; the next instance's first poll finds it done.
      fake.finishVideos();
      second = await createTestApp(ENV, [], { database });
      const i2 = second;
      const done = await eventually(
        `video ${id} finished on the second instance`,
        async () => {
          const res = await i2.http({
            method: 'GET',
            url: `/api/v1/videos/${id}`,
            headers: bearer(member.accessToken),
          });
          const video = res.json();
          return video.status === 'completed' || video.status === 'failed' ? video : undefined;
        },
        { withinMs: 20_000, everyMs: 50 },
      );
      expect(done).toMatchObject({ status: 'completed', progress: 100, error: null });

      expect(fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/videos')).toHaveLength(1);
      const [row] = await i2.dataSource.query(
        `SELECT upstream_id, media_id FROM video_jobs WHERE tenant_id = $1 AND id = $2`,
        [tenant.id, id],
      );
      expect(row).toEqual({ upstream_id: started.upstream_id, media_id: done.media_id });
      const content = await i2.http({
        method: 'GET',
        url: `/api/v1/videos/${id}/content`,
        headers: bearer(member.accessToken),
      });
      expect(content.statusCode).toBe(200);
      expect(content.headers['content-type']).toBe('video/mp4');
      expect(content.rawPayload.equals(videoBytes(started.upstream_id))).toBe(true);

      const media = await i2.dataSource.query(`SELECT id, type, content_type FROM media WHERE tenant_id = $1`, [
        tenant.id,
      ]);
      expect(media).toEqual([{ id: done.media_id, type: 'video', content_type: 'video/mp4' }]);
      const events = await i2.dataSource.query(
        `SELECT quantity FROM usage_events WHERE tenant_id = $1 AND meter = 'videos'`,
        [tenant.id],
      );
      expect(events.map((e: { quantity: unknown }) => Number(e.quantity))).toEqual([1]);
      const after = await wallet(i2, tenant.id);
      expect(before.balance - after.balance).toBe(4 * PRICE_PER_SECOND);
      expect(after.reserved).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );
});
