import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { PNG } from 'pngjs';
import { KeyHealth } from '../../src/modules/gateway/key-health.js';
import { grant, newPlan, subscribe, wallet } from '../helpers/billing.js';
import {
  type Account,
  bearer,
  newTenant,
  superAdmin,
  type TenantFixture,
  tenantKey,
  unique,
} from '../helpers/factories.js';
import { type FakeAnthropic, startFakeAnthropic } from '../helpers/fake-anthropic.js';
import { type FakeGemini, startFakeGemini } from '../helpers/fake-gemini.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const engine = process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite';

describe(`gateway providers: Anthropic and Gemini-native (${engine})`, () => {
  let t: TestApp;
  let anthropic: FakeAnthropic;
  let gemini: FakeGemini;
  let root: Account;
  let baseURL: string;
  let tenant: TenantFixture;
  let app: OpenAI;
  let appKey: string;

  beforeAll(async () => {
    anthropic = await startFakeAnthropic();
    gemini = await startFakeGemini();
    t = await createTestApp({ GATEWAY_TIMEOUT_MS: '3000' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseURL = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}/api/v1`;
    root = await superAdmin(t);
    tenant = await newTenant(t);
    await subscribe(t, tenant, (await newPlan(t)).code);
    await grant(t, tenant, 100_000_000);
    appKey = (await tenantKey(t, tenant)).key;
    app = new OpenAI({ apiKey: appKey, baseURL, maxRetries: 0 });
  });
  afterAll(async () => {
    await t.close();
    await anthropic.close();
    await gemini.close();
  });
  beforeEach(() => {
    anthropic.reset();
    gemini.reset();
  });

  const admin = (method: 'POST' | 'GET', url: string, payload?: object) =>
    t.http({ method, url: `/api/v1${url}`, headers: bearer(root.accessToken), ...(payload && { payload }) });

  async function provider(kind: 'anthropic' | 'gemini', baseUrl: string, keys: string[]) {
    const created = (await admin('POST', '/providers', { name: `${kind}-${unique()}`, kind, baseUrl })).json();
    for (const key of keys)
      expect((await admin('POST', `/providers/${created.id}/keys`, { key })).statusCode).toBe(201);
    return created as { id: string };
  }

  async function route(task: string, providerId: string, model: string, prices: object = {}) {
    const alias = `${task}-${unique()}`;
    const res = await admin('POST', '/model-routes', { alias, task, targets: [{ providerId, model }], ...prices });
    expect(res.statusCode).toBe(201);
    return alias;
  }

  it('serves OpenAI-shaped chat from Anthropic through the SDK, streamed and not, metered by its usage', async () => {
    const up = await provider('anthropic', anthropic.url, ['ak-one-0001']);
    const alias = await route('chat', up.id, 'claude-test', {
      inputPerMTokMicros: 1_000_000,
      outputPerMTokMicros: 2_000_000,
    });
    const before = await wallet(t, tenant.id);
    const completion = await app.chat.completions.create({
      model: alias,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hello claude' },
      ],
      max_tokens: 50,
    });
    expect(completion.model).toBe(alias);
    expect(completion.choices[0].message.content).toBe('Fake reply to: hello claude');
    const sent = anthropic.requests.at(-1)!;
    expect(sent.path).toBe('/v1/messages');
    expect(sent.apiKey).toBe('ak-one-0001');
    expect(sent.body).toMatchObject({
      model: 'claude-test',
      system: [{ type: 'text', text: 'Be brief.' }],
      max_tokens: 50,
    });
    const usage = completion.usage!;
    const cost = usage.prompt_tokens * 1 + usage.completion_tokens * 2;
    expect(before.balance - (await wallet(t, tenant.id)).balance).toBe(cost);

    const stream = await app.chat.completions.create({
      model: alias,
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let streamedUsage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) streamedUsage = chunk.usage;
    }
    expect(text).toBe('Fake reply to: stream please');
    expect(streamedUsage?.completion_tokens).toBeGreaterThan(0);
    const [record] = await t.dataSource.query(
      `SELECT status, stream, output_tokens FROM generations WHERE tenant_id = $1 AND model = $2 AND stream`,
      [tenant.id, alias],
    );
    expect(record).toEqual({ status: 'succeeded', stream: true, output_tokens: streamedUsage!.completion_tokens });

    // Embeddings are not Anthropic's: refused as such, nothing charged.
    const embeddingAlias = await route('embedding', up.id, 'claude-test');
    const refused = await t.http({
      method: 'POST',
      url: '/api/v1/embeddings',
      headers: bearer(appKey),
      payload: { model: embeddingAlias, input: 'x' },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().code).toBe('PROVIDER_REJECTED');
  });

  it('moves past an Anthropic key that answers 429 and disables one that answers 401 until the probe heals it', async () => {
    const up = await provider('anthropic', anthropic.url, ['ak-busy-aaaa', 'ak-bad-bbbb', 'ak-good-cccc']);
    const alias = await route('chat', up.id, 'claude-test');
    anthropic.behave('ak-busy-aaaa', { kind: 'status', status: 429, retryAfterSeconds: 30 });
    anthropic.behave('ak-bad-bbbb', { kind: 'status', status: 401 });
    for (let i = 0; i < 3; i++) {
      const answer = await app.chat.completions.create({
        model: alias,
        messages: [{ role: 'user', content: `hi ${i}` }],
      });
      expect(answer.choices[0].message.content).toBe(`Fake reply to: hi ${i}`);
    }
    const keys = (await admin('GET', `/providers/${up.id}/keys`)).json() as {
      masked: string;
      state: string;
      coolingUntil: string | null;
    }[];
    const byLast4 = Object.fromEntries(keys.map((k) => [k.masked, k]));
    expect(byLast4['…bbbb'].state).toBe('disabled');
    expect(byLast4['…aaaa'].state).toBe('cooling');
    expect(new Date(byLast4['…aaaa'].coolingUntil!).getTime()).toBeGreaterThan(Date.now() + 20_000);
    expect(byLast4['…cccc']).toMatchObject({ state: 'active', coolingUntil: null });
    expect(new Set(anthropic.requests.map((r) => r.apiKey))).toEqual(
      new Set(['ak-busy-aaaa', 'ak-bad-bbbb', 'ak-good-cccc']),
    );
    anthropic.reset();
    await t.app.get(KeyHealth).probeDisabled();
    const healed = (await admin('GET', `/providers/${up.id}/keys`)).json() as { masked: string; state: string }[];
    expect(healed.find((k) => k.masked === '…bbbb')?.state).toBe('active');
    expect(anthropic.requests.filter((r) => r.path === '/v1/models').map((r) => r.apiKey)).toEqual(['ak-bad-bbbb']);
  });

  it('makes images on a Gemini-native upstream with @google/genai and stores them as media', async () => {
    const up = await provider('gemini', gemini.url, ['AIzaFakeKey000000001']);
    const alias = await route('image', up.id, 'gemini-2.5-flash-image', { perImageMicros: 30_000 });
    const before = await wallet(t, tenant.id);
    const answer = await app.images.generate({ model: alias, prompt: 'a red kite', n: 2, response_format: 'b64_json' });
    expect(answer.data).toHaveLength(2);
    for (const image of answer.data!) {
      const png = PNG.sync.read(Buffer.from(image.b64_json!, 'base64'));
      expect(png.width).toBeGreaterThan(0);
    }
    const calls = gemini.requests.filter((r) => r.path.endsWith(':generateContent'));
    expect(calls).toHaveLength(2);
    expect(calls[0].path).toContain('gemini-2.5-flash-image');
    expect(calls[0].apiKey).toBe('AIzaFakeKey000000001');
    expect(before.balance - (await wallet(t, tenant.id)).balance).toBe(60_000);
    const stored = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM media WHERE tenant_id = $1 AND model = $2`,
      [tenant.id, alias],
    );
    expect(stored).toEqual([{ n: 2 }]);

    // A refused key is skipped for the next, and the SDK's error never shows the key.
    gemini.behave('AIzaFakeKey000000001', { kind: 'status', status: 500 }, 5);
    const failed = await t.http({
      method: 'POST',
      url: '/api/v1/images/generations',
      headers: bearer(appKey),
      payload: { model: alias, prompt: 'fails' },
    });
    expect(failed.statusCode).toBe(502);
    expect(failed.body).not.toContain('AIzaFakeKey');
  });
});
