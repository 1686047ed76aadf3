import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { KeyHealth } from '../../src/modules/gateway/key-health.js';
import { grant, newPlan, type PlanSpec, subscribe, wallet } from '../helpers/billing.js';
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
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const engine = process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite';
const IN_PRICE = 2_000_000; // micros per million input tokens: 2 micros a token
const OUT_PRICE = 10_000_000; // 10 micros an output token

describe(`generation gateway (${engine})`, () => {
  let t: TestApp;
  let fake: FakeOpenAI;
  let root: Account;
  let baseURL: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    t = await createTestApp({ GATEWAY_TIMEOUT_MS: '3000' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseURL = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}/api/v1`;
    root = await superAdmin(t);
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  const admin = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    t.http({ method, url: `/api/v1${url}`, headers: bearer(root.accessToken), ...(payload && { payload }) });

  /** An upstream provider on the fake with `keys`, and a chat route (priced) to it for `tiers`. */
  async function upstream(keys: string[], route: { tiers?: string[]; defaultFor?: string[]; task?: string } = {}) {
    const provider = (
      await admin('POST', '/providers', { name: `up-${unique()}`, kind: 'openai', baseUrl: fake.url })
    ).json();
    for (const key of keys)
      expect((await admin('POST', `/providers/${provider.id}/keys`, { key })).statusCode).toBe(201);
    const alias = `chat-${unique()}`;
    const created = await admin('POST', '/model-routes', {
      alias,
      task: 'chat',
      targets: [{ providerId: provider.id, model: route.task === 'embedding' ? 'fake-embedding' : 'fake-chat' }],
      inputPerMTokMicros: IN_PRICE,
      outputPerMTokMicros: OUT_PRICE,
      ...route,
    });
    expect(created.statusCode).toBe(201);
    return { provider, alias, route: created.json() };
  }

  async function tenantOnTier(tier: string, credits = 1_000_000, spec: PlanSpec = {}): Promise<TenantFixture> {
    const tenant = await newTenant(t);
    const plan = await newPlan(t, spec);
    expect((await admin('PATCH', `/plans/${plan.id}`, { tier })).statusCode).toBe(200);
    await subscribe(t, tenant, plan.code);
    if (credits > 0) await grant(t, tenant, credits);
    return tenant;
  }

  const chat = (token: string, payload: object) =>
    t.http({ method: 'POST', url: '/api/v1/chat/completions', headers: bearer(token), payload });

  it('keeps provider keys sealed: masked in every answer, encrypted at rest, never logged', async () => {
    const secret = `sk-test-${unique()}${unique()}wxyz`;
    const { provider } = await upstream([secret]);
    const keys = await admin('GET', `/providers/${provider.id}/keys`);
    expect(keys.json()).toEqual([expect.objectContaining({ masked: '…wxyz', state: 'active', requests: 0 })]);
    expect(JSON.stringify(keys.json())).not.toContain(secret);
    const [row] = await t.dataSource.query(`SELECT sealed_key FROM provider_keys WHERE provider_id = $1`, [
      provider.id,
    ]);
    expect(row.sealed_key).toMatch(/^v1\./);
    expect(row.sealed_key).not.toContain(secret.slice(0, 12));
    const again = await admin('POST', `/providers/${provider.id}/keys`, { key: secret });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('PROVIDER_KEY_EXISTS');
    expect((await admin('GET', `/providers/${provider.id}`)).json()).toMatchObject({ keys: 1, kind: 'openai' });
    expect(JSON.stringify(t.logs.entries)).not.toContain(secret);
    // A route targets it: it cannot go; without the route it can, keys and all.
    const routes = (await admin('GET', '/model-routes')).json();
    const mine = routes.find((r: { targets: { providerId: string }[] }) => r.targets[0].providerId === provider.id);
    expect((await admin('DELETE', `/providers/${provider.id}`)).json().code).toBe('PROVIDER_IN_USE');
    expect((await admin('DELETE', `/model-routes/${mine.id}`)).statusCode).toBe(204);
    expect((await admin('DELETE', `/providers/${provider.id}`)).statusCode).toBe(204);
    expect(await t.dataSource.query(`SELECT 1 FROM provider_keys WHERE provider_id = $1`, [provider.id])).toEqual([]);
  });

  it('lists the models a tier may use, picks its default for auto, and refuses others with 403 MODEL_NOT_ALLOWED', async () => {
    const tier = `t${unique()}`;
    const open = await upstream(['sk-open-0001'], { defaultFor: [tier] });
    const premium = await upstream(['sk-prem-0001'], { tiers: ['premium'] });
    const tenant = await tenantOnTier(tier);
    const models = await t.http({ method: 'GET', url: '/api/v1/models', headers: bearer(tenant.admin.accessToken) });
    const ids = models.json().data.map((m: { id: string }) => m.id);
    expect(ids).toContain(open.alias);
    expect(ids).not.toContain(premium.alias);
    const auto = await chat(tenant.admin.accessToken, {
      model: 'auto',
      messages: [{ role: 'user', content: 'hi there' }],
    });
    expect(auto.statusCode).toBe(200);
    expect(auto.json().model).toBe(open.alias);
    expect(fake.requests.at(-1)?.apiKey).toBe('sk-open-0001');
    const refused = await chat(tenant.admin.accessToken, {
      model: premium.alias,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({
      code: 'MODEL_NOT_ALLOWED',
      error: { type: 'permission_error', code: 'model_not_allowed', message: expect.stringContaining(premium.alias) },
    });
    expect(
      (await chat(tenant.admin.accessToken, { model: 'nope', messages: [{ role: 'user', content: 'x' }] })).statusCode,
    ).toBe(404);
  });

  it('works with the official openai SDK, streamed and not, with a tenant key and a personal key, metering every call', async () => {
    const { alias } = await upstream([`sk-sdk-${unique()}`]);
    const tenant = await tenantOnTier(`t${unique()}`);
    const member = await newUser(t, tenant, 'member');
    const appKey = await tenantKey(t, tenant);
    const memberKey = await personalKey(t, member);
    const before = await wallet(t, tenant.id);

    const sdk = new OpenAI({ baseURL, apiKey: appKey.key, maxRetries: 0 });
    const completion = await sdk.chat.completions.create({
      model: alias,
      messages: [{ role: 'user', content: 'tell me a story' }],
    });
    expect(completion.choices[0].message.content).toBe('Fake reply to: tell me a story');
    expect(completion.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 7 });
    expect(fake.requests.at(-1)?.body.model).toBe('fake-chat');

    const personal = new OpenAI({ baseURL, apiKey: memberKey.key, maxRetries: 0 });
    const stream = await personal.chat.completions.create({
      model: alias,
      messages: [{ role: 'user', content: 'stream it please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Fake reply to: stream it please');
    expect(usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 6 });
    expect(fake.requests.at(-1)?.body.stream_options).toEqual({ include_usage: true });

    // Metered: two committed requests, each its price (2 micros per input token, 10 per output token).
    const costs = [4 * 2 + 7 * 10, 3 * 2 + 6 * 10];
    const events = await t.dataSource.query(
      `SELECT meter, quantity, cost_micros, model, provider, user_id, api_key_id FROM usage_events
        WHERE tenant_id = $1 AND reservation_id IS NOT NULL AND meter = 'requests' ORDER BY occurred_at`,
      [tenant.id],
    );
    expect(
      events.map((e: Record<string, unknown>) => ({
        ...e,
        quantity: Number(e.quantity),
        cost_micros: Number(e.cost_micros),
      })),
    ).toEqual([
      {
        meter: 'requests',
        quantity: 1,
        cost_micros: costs[0],
        model: alias,
        provider: expect.any(String),
        user_id: null,
        api_key_id: appKey.id,
      },
      {
        meter: 'requests',
        quantity: 1,
        cost_micros: costs[1],
        model: alias,
        provider: expect.any(String),
        user_id: member.id,
        api_key_id: memberKey.id,
      },
    ]);
    // The tokens of each call, on their own meters, linked to the call's reservation and at no cost of their own.
    const tokens = await t.dataSource.query(
      `SELECT t.meter, t.quantity, t.cost_micros, t.user_id, t.api_key_id FROM usage_events t
         JOIN usage_events r ON r.tenant_id = t.tenant_id AND r.reservation_id = t.reservation_id AND r.meter = 'requests'
        WHERE t.tenant_id = $1 AND t.meter IN ('input_tokens', 'output_tokens') ORDER BY r.occurred_at, t.meter`,
      [tenant.id],
    );
    expect(tokens.map((e: Record<string, unknown>) => [e.meter, Number(e.quantity), Number(e.cost_micros)])).toEqual([
      ['input_tokens', 4, 0],
      ['output_tokens', 7, 0],
      ['input_tokens', 3, 0],
      ['output_tokens', 6, 0],
    ]);
    expect(tokens.map((e: Record<string, unknown>) => [e.user_id, e.api_key_id])).toEqual([
      [null, appKey.id],
      [null, appKey.id],
      [member.id, memberKey.id],
      [member.id, memberKey.id],
    ]);
    const after = await wallet(t, tenant.id);
    expect(after).toEqual({
      ...before,
      balance: before.balance - costs[0] - costs[1],
      ledgerSum: before.ledgerSum - costs[0] - costs[1],
    });
    const generations = await t.dataSource.query(
      `SELECT status, stream, input_tokens, output_tokens, cost_micros, model, provider_model FROM generations
        WHERE tenant_id = $1 ORDER BY created_at`,
      [tenant.id],
    );
    expect(generations.map((g: Record<string, unknown>) => ({ ...g, cost_micros: Number(g.cost_micros) }))).toEqual([
      {
        status: 'succeeded',
        stream: false,
        input_tokens: 4,
        output_tokens: 7,
        cost_micros: costs[0],
        model: alias,
        provider_model: 'fake-chat',
      },
      {
        status: 'succeeded',
        stream: true,
        input_tokens: 3,
        output_tokens: 6,
        cost_micros: costs[1],
        model: alias,
        provider_model: 'fake-chat',
      },
    ]);
    const held = await t.dataSource.query(`SELECT status FROM reservations WHERE tenant_id = $1`, [tenant.id]);
    expect(held.map((r: { status: string }) => r.status)).toEqual(['committed', 'committed']);
  });

  it('holds chat tokens on token quotas before the call: racing calls never take more than a quota has left', async () => {
    const { alias } = await upstream([`sk-tokens-${unique()}`]);
    const tenant = await tenantOnTier(`t${unique()}`, 1_000_000, {
      quotas: [{ meter: 'output_tokens', limit: 20, period: 'day', scope: 'user' }],
    });
    const member = await newUser(t, tenant, 'member');
    // The fake answers 7 words ("Fake reply to: tell me a story"), one token each, within max_tokens.
    const ask = (token: string, limit: object = { max_tokens: 7 }) =>
      chat(token, { model: alias, messages: [{ role: 'user', content: 'tell me a story' }], ...limit });
    const outputUse = async (userId: string) => {
      const [row] = await t.dataSource.query(
        `SELECT c.used::int, c.reserved::int,
                (SELECT count(*)::int FROM usage_events e
                  WHERE e.tenant_id = c.tenant_id AND e.user_id = c.subject_id AND e.meter = 'output_tokens') AS events,
                (SELECT coalesce(sum(quantity), 0)::int FROM usage_events e
                  WHERE e.tenant_id = c.tenant_id AND e.user_id = c.subject_id AND e.meter = 'output_tokens') AS tokens,
                (SELECT coalesce(sum(quantity), 0)::int FROM usage_daily d
                  WHERE d.tenant_id = c.tenant_id AND d.user_id = c.subject_id AND d.meter = 'output_tokens') AS daily
           FROM quota_counters c WHERE c.tenant_id = $1 AND c.subject_id = $2 AND c.meter = 'output_tokens'`,
        [tenant.id, userId],
      );
      return row;
    };

    // Each call holds its 7 output tokens first: two fit in 20, the third (14 + 7 > 20) is refused before anything
    // is held or called, although 6 tokens are left.
    expect((await ask(member.accessToken)).statusCode).toBe(200);
    expect((await ask(member.accessToken)).statusCode).toBe(200);
    const called = fake.requests.length;
    const refused = await ask(member.accessToken);
    expect(refused.statusCode).toBe(429);
    // A day quota resets at the next 00:00 UTC.
    const resets = refused.json().resetsAt as string;
    expect(resets).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00Z$/);
    expect(Date.parse(resets) - Date.now()).toBeLessThanOrEqual(86_400_000);
    expect(refused.json()).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      detail: `Quota exceeded for output_tokens. Used: 14/20. Resets at ${resets}`,
      meter: 'output_tokens',
      used: 14,
      requested: 7,
      limit: 20,
      error: { code: 'quota_exceeded' },
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // A call that sets no limit holds the default (4096 a choice), which does not fit either.
    const unlimited = await ask(member.accessToken, {});
    expect(unlimited.statusCode).toBe(429);
    expect(unlimited.json()).toMatchObject({ meter: 'output_tokens', used: 14, requested: 4096 });
    expect(fake.requests).toHaveLength(called);
    const held = await t.dataSource.query(`SELECT status FROM reservations WHERE tenant_id = $1`, [tenant.id]);
    expect(held.map((r: { status: string }) => r.status)).toEqual(['committed', 'committed']);
    expect(await outputUse(member.id)).toEqual({ used: 14, reserved: 0, events: 2, tokens: 14, daily: 14 });

    const quotas = await t.http({ method: 'GET', url: '/api/v1/usage/quotas', headers: bearer(member.accessToken) });
    expect(quotas.json()).toContainEqual(
      expect.objectContaining({
        meter: 'output_tokens',
        scope: 'user',
        limit: 20,
        used: 14,
        reserved: 0,
        remaining: 6,
      }),
    );
    // The quota is each user's: other members still have all of it. Racing calls each hold before they call, so
    // exactly two of eight pass whatever the order, and the upstream sees exactly two; round after round.
    for (let round = 0; round < 3; round++) {
      const other = await newUser(t, tenant, 'member');
      const before = fake.requests.length;
      const raced = await Promise.all(Array.from({ length: 8 }, () => ask(other.accessToken)));
      expect(raced.filter((r) => r.statusCode === 200)).toHaveLength(2);
      expect(raced.filter((r) => r.statusCode === 429 && r.json().code === 'QUOTA_EXCEEDED')).toHaveLength(6);
      expect(fake.requests.length - before).toBe(2);
      expect(await outputUse(other.id)).toEqual({ used: 14, reserved: 0, events: 2, tokens: 14, daily: 14 });
    }

    // A call that fails gives the tokens it held back.
    fake.behaveAll({ kind: 'status', status: 500, message: 'upstream exploded' });
    expect((await ask(member.accessToken, { max_tokens: 5 })).statusCode).toBe(502);
    expect(await outputUse(member.id)).toEqual({ used: 14, reserved: 0, events: 2, tokens: 14, daily: 14 });
  });

  it('limits a call that sets no output limit to the output it holds while an output-token quota applies', async () => {
    const { alias } = await upstream([`sk-cap-${unique()}`]);
    const capped = await tenantOnTier(`t${unique()}`, 1_000_000, {
      quotas: [{ meter: 'output_tokens', limit: 100_000, period: 'day', scope: 'tenant' }],
    });
    const free = await tenantOnTier(`t${unique()}`);
    const messages = [{ role: 'user', content: 'hello' }];
    const sentBy = async (key: string, payload: object) => {
      const answer = await chat(key, { model: alias, messages, ...payload });
      expect(answer.statusCode).toBe(200);
      return fake.requests.at(-1)!.body as Record<string, unknown>;
    };
    const cappedKey = (await tenantKey(t, capped)).key;
    const freeKey = (await tenantKey(t, free)).key;

    expect(await sentBy(cappedKey, {})).toMatchObject({ max_completion_tokens: 4096 });
    expect(await sentBy(cappedKey, { stream: true })).toMatchObject({ max_completion_tokens: 4096 });
    // The caller's own limit is sent as it is; without an output-token quota nothing is added.
    const own = await sentBy(cappedKey, { max_tokens: 50 });
    expect(own).toMatchObject({ max_tokens: 50 });
    expect(own).not.toHaveProperty('max_completion_tokens');
    expect(await sentBy(freeKey, {})).not.toHaveProperty('max_completion_tokens');
    const [counter] = await t.dataSource.query(
      `SELECT used::int, reserved::int FROM quota_counters WHERE tenant_id = $1 AND meter = 'output_tokens'`,
      [capped.id],
    );
    expect(counter.reserved).toBe(0);
    expect(counter.used).toBeGreaterThan(0);
  });

  it('holds a chat call’s tool definitions as input tokens too', async () => {
    const { alias } = await upstream([`sk-tools-${unique()}`]);
    const tenant = await tenantOnTier(`t${unique()}`, 1_000_000, {
      quotas: [{ meter: 'input_tokens', limit: 60, period: 'day', scope: 'tenant' }],
    });
    const key = (await tenantKey(t, tenant)).key;
    const messages = [{ role: 'user', content: 'hello' }];
    const tool = {
      type: 'function',
      function: {
        name: 'lookup_weather_forecast',
        description:
          'Looks up the weather forecast for a city over the coming days: temperatures, wind and rain for each day.',
        parameters: {
          type: 'object',
          properties: {
            city: { type: 'string', description: 'The city to look the forecast up for' },
            days: { type: 'integer', description: 'How many days ahead, from one to seven' },
          },
          required: ['city'],
        },
      },
    };
    const called = fake.requests.length;
    const refused = await chat(key, { model: alias, messages, max_tokens: 5, tools: [tool] });
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'QUOTA_EXCEEDED', meter: 'input_tokens', used: 0, limit: 60 });
    expect(refused.json().requested).toBeGreaterThan(60);
    expect(fake.requests).toHaveLength(called);
    // The same call without the tool fits.
    expect((await chat(key, { model: alias, messages, max_tokens: 5 })).statusCode).toBe(200);
    expect(fake.requests).toHaveLength(called + 1);
  });

  it('embeds through the official SDK (floats and base64), metering the input tokens; a chat model is refused', async () => {
    const { alias } = await upstream([`sk-emb-${unique()}`], { task: 'embedding' });
    const chatModel = await upstream([`sk-emb-chat-${unique()}`]);
    const tenant = await tenantOnTier(`t${unique()}`);
    const appKey = await tenantKey(t, tenant);
    const sdk = new OpenAI({ baseURL, apiKey: appKey.key, maxRetries: 0 });
    const floats = await sdk.embeddings.create({
      model: alias,
      input: ['red apples', 'green pears'],
      encoding_format: 'float',
    });
    expect(floats.data).toHaveLength(2);
    expect(floats.data[0].embedding).toHaveLength(8);
    expect(floats).toMatchObject({ model: alias, usage: { prompt_tokens: 4 } });
    // The SDK asks for base64 when no format is given, and decodes it to the same floats.
    const decoded = await sdk.embeddings.create({ model: alias, input: ['red apples', 'green pears'] });
    expect(fake.requests.at(-1)?.body.encoding_format).toBe('base64');
    expect(decoded.data.map((d) => d.embedding)).toEqual(floats.data.map((d) => d.embedding));
    const events = await t.dataSource.query(
      `SELECT cost_micros FROM usage_events WHERE tenant_id = $1 AND model = $2`,
      [tenant.id, alias],
    );
    expect(events.map((e: { cost_micros: string }) => Number(e.cost_micros))).toEqual([8, 8]);
    const [generation] = await t.dataSource.query(
      `SELECT task, input_tokens, output_tokens FROM generations WHERE tenant_id = $1 LIMIT 1`,
      [tenant.id],
    );
    expect(generation).toEqual({ task: 'embedding', input_tokens: 4, output_tokens: 0 });
    const wrong = await t.http({
      method: 'POST',
      url: '/api/v1/embeddings',
      headers: bearer(tenant.admin.accessToken),
      payload: { model: chatModel.alias, input: 'x' },
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ code: 'WRONG_TASK', error: { type: 'invalid_request_error' } });
  });

  it('rotates over the pool, cools a 429 key down, disables a 401 key until the probe finds it healed', async () => {
    const keys = [`sk-a-${unique()}`, `sk-b-${unique()}`, `sk-c-${unique()}`];
    const { alias, provider } = await upstream(keys);
    const tenant = await tenantOnTier(`t${unique()}`);
    const ask = () => chat(tenant.admin.accessToken, { model: alias, messages: [{ role: 'user', content: 'x' }] });
    for (let i = 0; i < 6; i++) expect((await ask()).statusCode).toBe(200);
    const used = fake.requests.map((r) => r.apiKey);
    expect(new Set(used.slice(0, 3))).toEqual(new Set(keys));
    expect(used.slice(3)).toEqual(used.slice(0, 3));

    // A 429 with Retry-After: the call moves on to another key, and the limited key rests.
    fake.reset();
    fake.behave(keys[0], { kind: 'status', status: 429, retryAfterSeconds: 120 });
    fake.acceptOnly([keys[0], keys[2]]); // keys[1] is refused (401) from now on
    for (let i = 0; i < 6; i++) expect((await ask()).statusCode).toBe(200);
    const states = (await admin('GET', `/providers/${provider.id}/keys`)).json();
    const byLast4 = (key: string) => states.find((s: { masked: string }) => s.masked === `…${key.slice(-4)}`);
    expect(byLast4(keys[0])).toMatchObject({ state: 'cooling', lastError: expect.stringContaining('429') });
    expect(new Date(byLast4(keys[0]).coolingUntil).getTime()).toBeGreaterThan(Date.now() + 100_000);
    expect(byLast4(keys[1])).toMatchObject({ state: 'disabled' });
    expect(byLast4(keys[2])).toMatchObject({ state: 'active' });
    const tried = fake.requests.map((r) => r.apiKey);
    expect(tried.filter((k) => k === keys[0])).toHaveLength(1);
    expect(tried.filter((k) => k === keys[1])).toHaveLength(1);
    expect(tried.slice(-3)).toEqual([keys[2], keys[2], keys[2]]);

    // The upstream takes keys[1] again: the probe re-enables it.
    fake.acceptOnly(null);
    await t.app.get(KeyHealth).probeDisabled();
    const healed = (await admin('GET', `/providers/${provider.id}/keys`)).json();
    expect(healed.find((s: { masked: string }) => s.masked === `…${keys[1].slice(-4)}`)).toMatchObject({
      state: 'active',
    });
  });

  it('answers 502 PROVIDER_ERROR after at most two retries, releasing the hold and recording the failure', async () => {
    const keys = [`sk-x-${unique()}`, `sk-y-${unique()}`, `sk-z-${unique()}`, `sk-w-${unique()}`];
    const { alias } = await upstream(keys);
    const tenant = await tenantOnTier(`t${unique()}`);
    fake.behaveAll({ kind: 'status', status: 500, message: 'upstream exploded' });
    const res = await chat(tenant.admin.accessToken, { model: alias, messages: [{ role: 'user', content: 'x' }] });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ code: 'PROVIDER_ERROR', error: { type: 'server_error' } });
    expect(fake.requests).toHaveLength(3);
    const [reservation] = await t.dataSource.query(`SELECT status FROM reservations WHERE tenant_id = $1`, [tenant.id]);
    expect(reservation.status).toBe('released');
    expect(await wallet(t, tenant.id)).toMatchObject({ reserved: 0, balance: 1_000_000 });
    const [generation] = await t.dataSource.query(`SELECT status, error_code FROM generations WHERE tenant_id = $1`, [
      tenant.id,
    ]);
    expect(generation).toEqual({ status: 'failed', error_code: 'PROVIDER_ERROR' });
    expect(await t.dataSource.query(`SELECT 1 FROM usage_events WHERE tenant_id = $1`, [tenant.id])).toEqual([]);
  });

  it('charges a client that goes away mid-stream for what was produced, and never retries a started stream', async () => {
    const key = `sk-s-${unique()}`;
    const { alias } = await upstream([key, `sk-s2-${unique()}`]);
    const tenant = await tenantOnTier(`t${unique()}`);
    fake.behaveAll({ kind: 'slow-stream', chunkDelayMs: 150 });
    const words = 'one two three four five six seven eight nine ten eleven twelve';
    // A client that reads the first words, then hangs up (its socket closes).
    const { status, type } = await new Promise<{ status: number; type: string }>((resolve, reject) => {
      const request = httpRequest(
        `${baseURL}/chat/completions`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.admin.accessToken}` },
        },
        (res) => {
          let received = '';
          res.on('data', (chunk: Buffer) => {
            received += chunk.toString();
            if (received.includes('four')) {
              request.destroy();
              resolve({ status: res.statusCode!, type: String(res.headers['content-type']) });
            }
          });
        },
      );
      request.on('error', (err) => (err.message === 'socket hang up' ? undefined : reject(err)));
      request.end(JSON.stringify({ model: alias, stream: true, messages: [{ role: 'user', content: words }] }));
    });
    expect(status).toBe(200);
    expect(type).toContain('text/event-stream');
    // The settlement follows the abort: wait for the generation to be recorded.
    let generation: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !generation; i++) {
      [generation] = await t.dataSource.query(`SELECT * FROM generations WHERE tenant_id = $1`, [tenant.id]);
      if (!generation) await new Promise((r) => setTimeout(r, 50));
    }
    expect(generation).toMatchObject({ status: 'succeeded', stream: true });
    const produced = generation!.output_tokens as number;
    expect(produced).toBeGreaterThan(0);
    expect(produced).toBeLessThan(words.split(' ').length + 3);
    expect(Number(generation!.cost_micros)).toBe((generation!.input_tokens as number) * 2 + produced * 10);
    expect(fake.requests).toHaveLength(1);
    const [reservation] = await t.dataSource.query(`SELECT status FROM reservations WHERE tenant_id = $1`, [tenant.id]);
    expect(reservation.status).toBe('committed');
  });

  it('refuses hostile chat bodies with 400 before anything is held or called', async () => {
    const { alias } = await upstream([`sk-h-${unique()}`]);
    const tenant = await tenantOnTier(`t${unique()}`);
    let deep: object = { role: 'user', content: 'x' };
    for (let i = 0; i < 200; i++) deep = { content: [deep] };
    const bodies: object[] = [
      {},
      { model: alias, messages: [] },
      { model: alias, messages: 'hello' },
      { model: alias, messages: [{ role: 'wizard', content: 'x' }] },
      { model: alias, messages: [{ role: 'user', content: 'x' }], surprise: true },
      { model: alias, messages: [{ role: 'user', content: 'x', extra: 1 }] },
      { model: alias, messages: [{ role: 'user', content: 'x' }], max_tokens: 1e20 },
      { model: alias, messages: [{ role: 'user', content: 'x' }], temperature: '1' },
      { model: alias, messages: [{ role: 'user', content: 'x' }], n: 1000 },
      { model: alias, messages: [{ role: 'user', content: 'x' }], stream: 'yes' },
      { model: 123, messages: [{ role: 'user', content: 'x' }] },
      { model: alias, messages: [deep] },
    ];
    for (const payload of bodies) {
      const res = await chat(tenant.admin.accessToken, payload);
      expect({ payload, status: res.statusCode, type: res.json().error?.type }).toEqual({
        payload,
        status: 400,
        type: 'invalid_request_error',
      });
    }
    const nul = await chat(tenant.admin.accessToken, {
      model: alias,
      messages: [{ role: 'user', content: 'a\u0000b' }],
    });
    expect(nul.statusCode).toBeLessThan(500);
    expect(fake.requests.length).toBeLessThanOrEqual(1);
    const held = await t.dataSource.query(`SELECT count(*)::int AS n FROM reservations WHERE tenant_id = $1`, [
      tenant.id,
    ]);
    expect(held[0].n).toBe(fake.requests.length);
  });
});

describe(`generation gateway, offline (${engine})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('serves chat and embeddings from the built-in local provider when no other is configured', async () => {
    const tenant = await newTenant(t);
    // The free plan allows 2 metered requests a minute: a plan without limits for the calls below.
    await subscribe(t, tenant, (await newPlan(t)).code);
    const models = await t.http({ method: 'GET', url: '/api/v1/models', headers: bearer(tenant.admin.accessToken) });
    expect(models.json().data.map((m: { id: string }) => m.id)).toEqual(
      expect.arrayContaining(['local-chat', 'local-embedding', 'local-image', 'local-video']),
    );
    const plain = await t.http({
      method: 'POST',
      url: '/api/v1/chat/completions',
      headers: bearer(tenant.admin.accessToken),
      payload: { messages: [{ role: 'user', content: 'Hello, local model' }], max_tokens: 5 },
    });
    expect(plain.statusCode).toBe(200);
    expect(plain.json()).toMatchObject({
      model: 'local-chat',
      choices: [{ finish_reason: 'length', message: { role: 'assistant' } }],
      usage: { completion_tokens: 5 },
    });
    const streamed = await t.http({
      method: 'POST',
      url: '/api/v1/chat/completions',
      headers: bearer(tenant.admin.accessToken),
      payload: { messages: [{ role: 'user', content: 'Hello, local model' }], max_tokens: 5, stream: true },
    });
    expect(streamed.statusCode).toBe(200);
    const events = streamed.body.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const text = events
      .slice(0, -1)
      .map((e) => JSON.parse(e.slice('data: '.length)) as OpenAI.ChatCompletionChunk)
      .map((c) => c.choices[0]?.delta?.content ?? '')
      .join('');
    expect(text).toBe(plain.json().choices[0].message.content);
    const rows = await t.dataSource.query(`SELECT status FROM generations WHERE tenant_id = $1`, [tenant.id]);
    expect(rows).toHaveLength(2);

    const embedded = await t.http({
      method: 'POST',
      url: '/api/v1/embeddings',
      headers: bearer(tenant.admin.accessToken),
      payload: { input: ['a local text', 'another local text'], dimensions: 64, encoding_format: 'float' },
    });
    expect(embedded.statusCode).toBe(200);
    const { data, model } = embedded.json() as { data: { embedding: number[] }[]; model: string };
    expect(model).toBe('local-embedding');
    expect(data.map((d) => d.embedding.length)).toEqual([64, 64]);
    expect(Math.hypot(...data[0].embedding)).toBeCloseTo(1, 5);
  });
});
