import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import OpenAI, { toFile } from 'openai';
import { PNG } from 'pngjs';
import { localImage } from '../../src/modules/gateway/local/local-models.js';
import { grant, newPlan, subscribe, wallet } from '../helpers/billing.js';
import { parallel, RACE_TEST_TIMEOUT_MS, rounds } from '../helpers/concurrency.js';
import {
  type Account,
  bearer,
  newTenant,
  newUser,
  personalKey,
  superAdmin,
  type TenantFixture,
  tenantKey,
  unique,
} from '../helpers/factories.js';
import { type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const engine = process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite';
const PER_IMAGE = 40_000;
const PNG_SIGNATURE = '89504e470d0a1a0a';

describe(`images and media (${engine})`, () => {
  let t: TestApp;
  let fake: FakeOpenAI;
  let root: Account;
  let baseURL: string;
  let origin: string;
  const clock = new ManualClock(new Date());

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    t = await createTestApp({ GATEWAY_TIMEOUT_MS: '3000', MEDIA_URL_TTL_SECONDS: '600' }, [], { clock });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    baseURL = `${origin}/api/v1`;
    root = await superAdmin(t);
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  const admin = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    t.http({ method, url: `/api/v1${url}`, headers: bearer(root.accessToken), ...(payload && { payload }) });
  const sdk = (apiKey: string) => new OpenAI({ apiKey, baseURL, maxRetries: 0 });
  const get = (token: string, url: string) => t.http({ method: 'GET', url: `/api/v1${url}`, headers: bearer(token) });

  /** A tenant on a plan of its own (no rate limits), with credits and a member. */
  async function tenantWithMember(credits = 10_000_000) {
    const tenant = await newTenant(t);
    await subscribe(t, tenant, (await newPlan(t)).code);
    await grant(t, tenant, credits);
    const member = await newUser(t, tenant, 'member');
    return { tenant, member };
  }

  async function imageRoute(quotas: object[] = []) {
    const provider = (
      await admin('POST', '/providers', { name: `img-${unique()}`, kind: 'openai', baseUrl: fake.url })
    ).json();
    expect((await admin('POST', `/providers/${provider.id}/keys`, { key: `sk-img-${unique()}` })).statusCode).toBe(201);
    const alias = `image-${unique()}`;
    const route = await admin('POST', '/model-routes', {
      alias,
      task: 'image',
      targets: [{ providerId: provider.id, model: 'fake-image' }],
      perImageMicros: PER_IMAGE,
    });
    expect(route.statusCode).toBe(201);
    const plan = await newPlan(t, { quotas: quotas as never });
    return { alias, plan };
  }

  it('makes local PNGs through the openai SDK, stores each as media, and serves them by signed link and to the owner', async () => {
    const { tenant, member } = await tenantWithMember();
    const key = await personalKey(t, member);
    const answer = await sdk(key.key).images.generate({
      model: 'local-image',
      prompt: 'a lighthouse at dusk',
      n: 2,
      size: '128x96' as '1024x1024',
      response_format: 'b64_json',
    });
    expect(answer.data).toHaveLength(2);
    const [first, second] = answer.data!.map((image) => Buffer.from(image.b64_json!, 'base64'));
    expect(first.subarray(0, 8).toString('hex')).toBe(PNG_SIGNATURE);
    expect(PNG.sync.read(first)).toMatchObject({ width: 128, height: 96 });
    expect(first.equals(second)).toBe(false);

    const rows = await t.dataSource.query(`SELECT * FROM media WHERE tenant_id = $1 ORDER BY created_at, id`, [
      tenant.id,
    ]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      user_id: member.id,
      api_key_id: key.id,
      type: 'image',
      model: 'local-image',
      prompt: 'a lighthouse at dusk',
      content_type: 'image/png',
      width: 128,
      height: 96,
      client_ip: '127.0.0.1',
    });
    const ids = (answer.data as unknown as { media_id: string }[]).map((d) => d.media_id).sort();
    expect(rows.map((r: { id: string }) => r.id).sort()).toEqual(ids);

    // As a link: the bytes without credentials; the same bytes to the owner.
    const linked = await sdk(key.key).images.generate({
      model: 'local-image',
      prompt: 'a fox',
      size: '64x64' as '1024x1024',
    });
    const url = linked.data![0].url!;
    expect(url.startsWith(`${origin}/api/v1/media/`)).toBe(true);
    const fetched = await fetch(url);
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await fetched.arrayBuffer());
    expect(bytes.equals(localImage('a fox', 64, 64))).toBe(true);
    const mediaId = (linked.data![0] as unknown as { media_id: string }).media_id;
    const own = await get(member.accessToken, `/media/${mediaId}/content`);
    expect(own.statusCode).toBe(200);
    expect(own.rawPayload.equals(bytes)).toBe(true);

    // A link altered, or for another item, or expired, opens nothing.
    const tampered = new URL(url);
    tampered.searchParams.set('signature', `${tampered.searchParams.get('signature')!.slice(0, -2)}xx`);
    expect((await fetch(tampered)).status).toBe(403);
    const moved = new URL(url.replace(mediaId, ids[0]));
    expect((await fetch(moved)).status).toBe(403);
    const otherTenant = await newTenant(t);
    const swapped = new URL(url);
    swapped.searchParams.set('tenant', otherTenant.id);
    expect((await fetch(swapped)).status).toBe(403);
    clock.advance(601_000);
    const expired = await fetch(url);
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { code: string }).code).toBe('LINK_INVALID');
  });

  it('shows members their own media, tenant admins all of it with e-mail and IP, other tenants nothing', async () => {
    const { tenant, member } = await tenantWithMember();
    const other = await newUser(t, tenant, 'member');
    const make = async (account: Account, prompt: string) =>
      (
        await t.http({
          method: 'POST',
          url: '/api/v1/images/generations',
          headers: bearer(account.accessToken),
          payload: { model: 'local-image', prompt, size: '64x64', response_format: 'b64_json' },
        })
      ).json().data[0].media_id as string;
    const mine = await make(member, 'mine');
    const theirs = await make(other, 'theirs');
    const byAdmin = await make(tenant.admin, 'admin');

    const memberList = (await get(member.accessToken, '/media')).json();
    expect(memberList.items.map((m: { id: string }) => m.id)).toEqual([mine]);
    expect(memberList.items[0]).not.toHaveProperty('clientIp');
    expect((await get(member.accessToken, `/media/${theirs}`)).statusCode).toBe(404);
    expect((await get(member.accessToken, `/media/${theirs}/content`)).statusCode).toBe(404);
    expect((await get(member.accessToken, `/media?userId=${other.id}`)).statusCode).toBe(403);
    const memberDelete = await t.http({
      method: 'DELETE',
      url: `/api/v1/media/${theirs}`,
      headers: bearer(member.accessToken),
    });
    expect(memberDelete.statusCode).toBe(404);

    const adminList = (await get(tenant.admin.accessToken, '/media?type=image')).json();
    expect(adminList.total).toBe(3);
    expect(adminList.items.map((m: { id: string }) => m.id).sort()).toEqual([mine, theirs, byAdmin].sort());
    expect(adminList.items.find((m: { id: string }) => m.id === theirs)).toMatchObject({
      userId: other.id,
      userEmail: other.email,
      clientIp: '127.0.0.1',
    });
    expect((await get(tenant.admin.accessToken, `/media?userId=${other.id}`)).json().total).toBe(1);
    expect((await get(tenant.admin.accessToken, '/media?type=video')).json().total).toBe(0);
    const stats = (await get(tenant.admin.accessToken, '/media/stats')).json();
    expect(stats.byType.image.count).toBe(3);
    expect(stats.total.bytes).toBeGreaterThan(0);
    expect((await get(member.accessToken, '/media/stats')).json().total.count).toBe(1);

    const stranger = await newTenant(t);
    for (const url of [`/media/${mine}`, `/media/${mine}/content`]) {
      expect((await get(stranger.admin.accessToken, url)).statusCode).toBe(404);
    }
    expect((await get(stranger.admin.accessToken, '/media')).json().total).toBe(0);
    const strangerDelete = await t.http({
      method: 'DELETE',
      url: `/api/v1/media/${mine}`,
      headers: bearer(stranger.admin.accessToken),
    });
    expect(strangerDelete.statusCode).toBe(404);

    // The owner deletes: the row and the bytes go; the admin deletes another's.
    expect(
      (await t.http({ method: 'DELETE', url: `/api/v1/media/${mine}`, headers: bearer(member.accessToken) }))
        .statusCode,
    ).toBe(204);
    expect((await get(member.accessToken, `/media/${mine}/content`)).statusCode).toBe(404);
    expect(
      (await t.http({ method: 'DELETE', url: `/api/v1/media/${theirs}`, headers: bearer(tenant.admin.accessToken) }))
        .statusCode,
    ).toBe(204);
    expect(await t.dataSource.query(`SELECT id FROM media WHERE tenant_id = $1`, [tenant.id])).toEqual([
      { id: byAdmin },
    ]);
  });

  it('edits an image through the SDK (meter image_edits), and refuses what is not an image, too large, or not multipart', async () => {
    const { tenant, member } = await tenantWithMember();
    const key = await personalKey(t, member);
    const source = localImage('source', 96, 64);
    const edited = await sdk(key.key).images.edit({
      model: 'local-image',
      image: await toFile(source, 'source.png', { type: 'image/png' }),
      prompt: 'make it warmer',
      response_format: 'b64_json',
    });
    const out = PNG.sync.read(Buffer.from(edited.data![0].b64_json!, 'base64'));
    expect(out).toMatchObject({ width: 96, height: 64 });
    const [row] = await t.dataSource.query(`SELECT prompt, width FROM media WHERE tenant_id = $1`, [tenant.id]);
    expect(row).toEqual({ prompt: 'make it warmer', width: 96 });
    const [event] = await t.dataSource.query(
      `SELECT meter, quantity FROM usage_events WHERE tenant_id = $1 AND meter = 'image_edits'`,
      [tenant.id],
    );
    expect(event).toEqual({ meter: 'image_edits', quantity: expect.anything() });
    expect(Number(event.quantity)).toBe(1);

    const form = (image: Buffer, type = 'image/png', extra: Record<string, string> = {}) => {
      const data = new FormData();
      data.set('image', new Blob([image], { type }), 'x.png');
      data.set('prompt', 'p');
      data.set('model', 'local-image');
      for (const [name, value] of Object.entries(extra)) data.set(name, value);
      return data;
    };
    const post = (body: FormData | string, headers: Record<string, string> = {}) =>
      fetch(`${baseURL}/images/edits`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.key}`, ...headers },
        body,
      });
    const notImage = await post(form(Buffer.from('plain text, not a picture'), 'text/plain'));
    expect(notImage.status).toBe(400);
    const notImageBody = (await notImage.json()) as { code: string; error: { message: string } };
    expect(notImageBody.code).toBe('IMAGE_INVALID');
    expect(notImageBody.error.message).toContain('PNG, JPEG or WebP');
    const tooLarge = await post(form(Buffer.alloc(21 * 1024 * 1024, 1)));
    expect(tooLarge.status).toBe(413);
    const unknownField = await post(form(source, 'image/png', { colour: 'blue' }));
    expect(unknownField.status).toBe(400);
    const badN = await post(form(source, 'image/png', { n: 'many' }));
    expect(badN.status).toBe(400);
    const noImage = new FormData();
    noImage.set('prompt', 'p');
    expect((await post(noImage)).status).toBe(400);
    const json = await post(JSON.stringify({ prompt: 'p' }), { 'content-type': 'application/json' });
    expect(json.status).toBe(415);
    // A JSON route does not take a form.
    const chatForm = new FormData();
    chatForm.set('model', 'local-chat');
    const chat = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}` },
      body: chatForm,
    });
    expect(chat.status).toBe(415);
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM media WHERE tenant_id = $1`, [tenant.id])).toEqual([
      { n: 1 },
    ]);
  });

  it('calls an OpenAI upstream for images and charges the route price per stored image', async () => {
    const { alias, plan } = await imageRoute();
    const { tenant } = await tenantWithMember(1_000_000);
    await subscribe(t, tenant, plan.code);
    const app = await tenantKey(t, tenant);
    const before = await wallet(t, tenant.id);
    const answer = await sdk(app.key).images.generate({ model: alias, prompt: 'upstream please', n: 3 });
    expect(answer.data).toHaveLength(3);
    const sent = fake.requests.filter((r) => r.path === '/v1/images/generations');
    expect(sent).toHaveLength(1);
    expect(sent[0].body).toMatchObject({ model: 'fake-image', prompt: 'upstream please', n: 3 });
    const after = await wallet(t, tenant.id);
    expect(before.balance - after.balance).toBe(3 * PER_IMAGE);
    expect(after.reserved).toBe(0);
    const [generation] = await t.dataSource.query(
      `SELECT task, model, status, cost_micros FROM generations WHERE tenant_id = $1`,
      [tenant.id],
    );
    expect({ ...generation, cost_micros: Number(generation.cost_micros) }).toEqual({
      task: 'image',
      model: alias,
      status: 'succeeded',
      cost_micros: 3 * PER_IMAGE,
    });
    const media = await t.dataSource.query(`SELECT user_id, api_key_id FROM media WHERE tenant_id = $1`, [tenant.id]);
    expect(media).toHaveLength(3);
    expect(media[0]).toEqual({ user_id: null, api_key_id: app.id });

    // An upstream failure stores nothing and charges nothing.
    fake.behaveAll({ kind: 'status', status: 500 }, 10);
    const failed = await t.http({
      method: 'POST',
      url: '/api/v1/images/generations',
      headers: bearer(app.key),
      payload: { model: alias, prompt: 'fails' },
    });
    expect(failed.statusCode).toBe(502);
    expect((await wallet(t, tenant.id)).balance).toBe(after.balance);
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM media WHERE tenant_id = $1`, [tenant.id])).toEqual([
      { n: 3 },
    ]);
  });

  it(
    'stores and counts exactly the quota under 50 parallel generations (quota 20), every round',
    async () => {
      await rounds(async () => {
        const plan = await newPlan(t, { quotas: [{ meter: 'images', limit: 20, period: 'day', scope: 'tenant' }] });
        const tenant: TenantFixture = await newTenant(t);
        await subscribe(t, tenant, plan.code);
        const member = await newUser(t, tenant, 'member');
        const results = await parallel(50, () =>
          t.http({
            method: 'POST',
            url: '/api/v1/images/generations',
            headers: bearer(member.accessToken),
            payload: { model: 'local-image', prompt: `race ${unique()}`, size: '64x64', response_format: 'b64_json' },
          }),
        );
        const statuses = results.map((r) => r.statusCode);
        expect(statuses.filter((s) => s === 200)).toHaveLength(20);
        expect(statuses.filter((s) => s === 429)).toHaveLength(30);
        const refused = results.find((r) => r.statusCode === 429)!.json();
        expect(refused.code).toBe('QUOTA_EXCEEDED');
        expect(refused.detail).toMatch(/^Quota exceeded for images\. Used: 20\/20\. Resets at /);
        const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM media WHERE tenant_id = $1`, [
          tenant.id,
        ]);
        expect(n).toBe(20);
        const [{ counted }] = await t.dataSource.query(
          `SELECT coalesce(sum(quantity), 0)::int AS counted FROM usage_events WHERE tenant_id = $1 AND meter = 'images'`,
          [tenant.id],
        );
        expect(counted).toBe(20);
      }, 3);
    },
    RACE_TEST_TIMEOUT_MS,
  );
});
