import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { grant, newPlan, subscribe } from '../helpers/billing.js';
import { bearer, newTenant, superAdmin, type TenantFixture, unique } from '../helpers/factories.js';
import { type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { cloneSharedTemplateDatabase, postgresUrl, type TestDatabase } from '../helpers/test-database.js';
import { fingerprintOf } from '../../src/modules/gateway/gateway-admin.service.js';
import { DIRECTORY_REFRESH_MS } from '../../src/modules/gateway/gateway-directory.js';

const engine = postgresUrl() ? 'PostgreSQL' : 'PGlite';

/** Two app instances on one database, as behind a load balancer: one key pool, health shared through the database. */
describe(`the gateway's key pools across two instances (${engine})`, () => {
  let database: TestDatabase;
  let clock: ManualClock;
  let fake: FakeOpenAI;
  let i1: TestApp;
  let i2: TestApp;
  let tenant: TenantFixture;
  beforeAll(async () => {
    database = await cloneSharedTemplateDatabase();
    clock = new ManualClock();
    fake = await startFakeOpenAI();
    // One SECRETS_KEY for both, as production requires: each opens the keys the other sealed.
    const env = { SECRETS_KEY: 'ab'.repeat(32) };
    i1 = await createTestApp(env, [], { database, clock });
    i2 = await createTestApp(env, [], { database, clock });
    tenant = await newTenant(i1);
    // A plan without rate limits (the free plan allows 2 requests a minute).
    await subscribe(i1, tenant, (await newPlan(i1)).code);
    await grant(i1, tenant, 1_000_000);
  });
  afterAll(async () => {
    await i1?.close();
    await i2?.close();
    await database?.drop();
    await fake?.close();
  });

  /** A provider on the fake with `keys` and a route to it, made through instance 1. */
  async function pool(keys: string[]): Promise<string> {
    const root = bearer((await superAdmin(i1)).accessToken);
    const post = async (url: string, payload: object) =>
      (await i1.http({ method: 'POST', url: `/api/v1${url}`, headers: root, payload })).json();
    const provider = await post('/providers', { name: `p-${unique()}`, kind: 'openai', baseUrl: fake.url });
    for (const key of keys) await post(`/providers/${provider.id}/keys`, { key });
    const alias = `m-${unique()}`;
    await post('/model-routes', { alias, task: 'chat', targets: [{ providerId: provider.id, model: 'fake-chat' }] });
    // The other instance reads the new route at its next refresh, at most DIRECTORY_REFRESH_MS away.
    clock.advance(DIRECTORY_REFRESH_MS);
    return alias;
  }

  const ask = (instance: TestApp, model: string) =>
    instance.http({
      method: 'POST',
      url: '/api/v1/chat/completions',
      headers: bearer(tenant.admin.accessToken),
      payload: { model, messages: [{ role: 'user', content: 'hello' }] },
    });

  /** The keys the fake saw from `count` calls through `instance`, each answered. */
  async function keysUsed(instance: TestApp, model: string, count: number): Promise<(string | null)[]> {
    const from = fake.requests.length;
    for (let i = 0; i < count; i++) expect((await ask(instance, model)).statusCode).toBe(200);
    return fake.requests.slice(from).map((r) => r.apiKey);
  }

  it('skips, on the other instance too, a key one instance disabled (401) or cooled down (429), within a refresh', async () => {
    const [a, b, c] = [`sk-a-${unique()}`, `sk-b-${unique()}`, `sk-c-${unique()}`];
    const model = await pool([a, b, c]);
    // Both instances have read the pool and use every key.
    expect(new Set(await keysUsed(i1, model, 3))).toEqual(new Set([a, b, c]));
    expect(new Set(await keysUsed(i2, model, 3))).toEqual(new Set([a, b, c]));

    // Instance 1 finds `a` refused and `b` rate limited; its calls still succeed on the others.
    fake.acceptOnly([b, c]);
    fake.behave(b, { kind: 'status', status: 429, retryAfterSeconds: 600 });
    await keysUsed(i1, model, 3);
    fake.acceptOnly(null);
    fake.reset();

    // Instance 2 reads the pool again within DIRECTORY_REFRESH_MS and skips both from then on.
    clock.advance(DIRECTORY_REFRESH_MS);
    expect(await keysUsed(i2, model, 6)).toEqual([c, c, c, c, c, c]);
    const [row] = await i1.dataSource.query(
      `SELECT state, cooling_until > now() + interval '5 minutes' AS cooling FROM provider_keys WHERE fingerprint = $1`,
      [fingerprintOf(b)],
    );
    expect(row).toEqual({ state: 'active', cooling: true });
    const [disabled] = await i1.dataSource.query(`SELECT state FROM provider_keys WHERE fingerprint = $1`, [
      fingerprintOf(a),
    ]);
    expect(disabled.state).toBe('disabled');
  });

  it('leaves out keys it cannot open (another SECRETS_KEY) instead of failing: 503, never a 500', async () => {
    const model = await pool([`sk-d-${unique()}`]);
    const stranger = await createTestApp({ SECRETS_KEY: 'cd'.repeat(32) }, [], { database, clock });
    try {
      const res = await ask(stranger, model);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'PROVIDER_NOT_CONFIGURED', error: { type: 'server_error' } });
      expect((await ask(i2, model)).statusCode).toBe(200);
    } finally {
      await stranger.close();
    }
  });
});
