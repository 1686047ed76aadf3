import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { LightMyRequestResponse } from 'fastify';
import { ROLE_PERMISSIONS, Role, TENANT_APP_PERMISSIONS, type Permission } from '../../src/core/auth/permissions.js';
import {
  apiOperations,
  bearer,
  newTenant,
  newUser,
  personalKey,
  superAdmin,
  tenantKey,
  xApiKey,
  type Account,
  type ApiOperation,
  type TenantFixture,
} from '../helpers/factories.js';
import { newPlan, subscribe } from '../helpers/billing.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

type Headers = Record<string, string>;

/** Parameters that name a row: every path parameter, and query parameters that carry an id (`?tenantId=`). */
const idParameters = (op: ApiOperation) =>
  op.parameters
    .filter((p) => p.in === 'path' || (p.in === 'query' && (p.schema?.format === 'uuid' || /Id$/.test(p.name))))
    .map((p) => p.name)
    .sort();

/** The URL of `op` with its path parameters filled in and the given query parameters appended. */
function urlOf(op: ApiOperation, values: Record<string, string>): string {
  const inPath = new Set(op.parameters.filter((p) => p.in === 'path').map((p) => p.name));
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (values[name] === undefined) throw new Error(`${op.route}: no value for {${name}}`);
    return encodeURIComponent(values[name]);
  });
  const query = new URLSearchParams(Object.entries(values).filter(([name]) => !inPath.has(name))).toString();
  return query ? `${path}?${query}` : path;
}

const answer = (res: LightMyRequestResponse) => ({
  status: res.statusCode,
  code: res.statusCode >= 400 ? (res.json() as { code?: string }).code : undefined,
});

/** What a parameter names; each side of the walk has one row of each kind. */
type Kind =
  | 'tenant'
  | 'user'
  | 'apiKey'
  | 'reservation'
  | 'media'
  | 'video'
  | 'knowledgeBase'
  | 'document'
  | 'plan'
  | 'meter'
  | 'provider'
  | 'providerKey'
  | 'modelRoute';
interface Case {
  params: Record<string, Kind>;
  /**
   * The id names a row of the platform catalog (a plan, a meter, a provider, its key, a model route), the same
   * for every tenant: there is no
   * other tenant's row to ask for, so the walk leaves it out; the role matrix covers who may call it.
   */
  catalog?: true;
  /** Further query parameters, e.g. the most destructive variant of a route. */
  query?: Record<string, string>;
  /** A valid body, so that the request gets past validation to the id check. */
  body?: object;
}
const newMember = () => ({
  email: `intruder-${randomUUID()}@example.test`,
  name: 'Intruder',
  role: 'tenant_admin',
  password: 'a-long-and-unusual-passphrase',
});
// One case per route with an id parameter; the suite fails when a route or parameter appears without one.
const CASES: Record<string, Case> = {
  'GET /api/v1/tenants/{id}': { params: { id: 'tenant' } },
  'PATCH /api/v1/tenants/{id}': { params: { id: 'tenant' }, body: { name: 'Taken over', settings: { pwned: true } } },
  'DELETE /api/v1/tenants/{id}': { params: { id: 'tenant' }, query: { hard: 'true' } },
  'POST /api/v1/tenants/{id}/suspend': { params: { id: 'tenant' }, body: { reason: 'hostile' } },
  'POST /api/v1/tenants/{id}/reactivate': { params: { id: 'tenant' } },
  'GET /api/v1/tenants/{id}/statistics': { params: { id: 'tenant' } },
  'POST /api/v1/tenants/{id}/regenerate-api-key': { params: { id: 'tenant' }, body: { graceSeconds: 0 } },
  'GET /api/v1/users': { params: { tenantId: 'tenant' } },
  'POST /api/v1/users': { params: { tenantId: 'tenant' }, body: newMember() },
  'POST /api/v1/users/bulk': {
    params: { tenantId: 'tenant' },
    body: { users: [{ email: `bulk-${randomUUID()}@example.test`, role: 'tenant_admin' }] },
  },
  'GET /api/v1/users/{id}': { params: { id: 'user', tenantId: 'tenant' } },
  'PATCH /api/v1/users/{id}': {
    params: { id: 'user', tenantId: 'tenant' },
    body: { name: 'Taken over', role: 'tenant_admin', status: 'disabled' },
  },
  'DELETE /api/v1/users/{id}': { params: { id: 'user', tenantId: 'tenant' }, query: { hard: 'true' } },
  'POST /api/v1/users/{id}/verify': { params: { id: 'user', tenantId: 'tenant' } },
  'GET /api/v1/users/{id}/permissions': { params: { id: 'user', tenantId: 'tenant' } },
  'GET /api/v1/api-keys/{id}': { params: { id: 'apiKey' } },
  'DELETE /api/v1/api-keys/{id}': { params: { id: 'apiKey' } },
  'GET /api/v1/tenants/{id}/subscription': { params: { id: 'tenant' } },
  'PUT /api/v1/tenants/{id}/subscription': { params: { id: 'tenant' }, body: { planCode: 'free' } },
  'GET /api/v1/tenants/{id}/quota-defaults': { params: { id: 'tenant' } },
  'PUT /api/v1/tenants/{id}/quota-defaults': {
    params: { id: 'tenant' },
    body: { quotas: [{ meter: 'images', period: 'day', limit: 0 }] },
  },
  'GET /api/v1/tenants/{id}/credits': { params: { id: 'tenant' } },
  'GET /api/v1/tenants/{id}/credits/ledger': { params: { id: 'tenant' } },
  'POST /api/v1/tenants/{id}/credits/grants': {
    params: { id: 'tenant' },
    body: { amountMicros: 1_000_000, reason: 'hostile', idempotencyKey: 'hostile-grant' },
  },
  'POST /api/v1/tenants/{id}/credits/adjustments': {
    params: { id: 'tenant' },
    body: { amountMicros: -1, reason: 'hostile', idempotencyKey: 'hostile-adjustment' },
  },
  'GET /api/v1/tenants/{id}/statements': { params: { id: 'tenant' } },
  'GET /api/v1/users/{id}/quotas': { params: { id: 'user', tenantId: 'tenant' } },
  'PUT /api/v1/users/{id}/quotas': {
    params: { id: 'user', tenantId: 'tenant' },
    body: { quotas: [{ meter: 'images', period: 'day', limit: 0 }] },
  },
  'GET /api/v1/usage/quotas': { params: { userId: 'user', tenantId: 'tenant' } },
  'GET /api/v1/usage/summary': { params: { userId: 'user', tenantId: 'tenant' } },
  'GET /api/v1/usage/leaderboard': { params: { tenantId: 'tenant' }, query: { meter: 'images' } },
  'GET /api/v1/usage/costs': { params: { tenantId: 'tenant' } },
  'POST /api/v1/usage/reservations': {
    params: { tenantId: 'tenant' },
    body: { meter: 'images', quantity: 1, idempotencyKey: 'hostile-reservation' },
  },
  'POST /api/v1/usage/events': {
    params: { tenantId: 'tenant' },
    body: { events: [{ id: 'hostile-event', meter: 'images', quantity: 1 }] },
  },
  'GET /api/v1/usage/reservations/{id}': { params: { id: 'reservation', tenantId: 'tenant' } },
  'POST /api/v1/usage/reservations/{id}/commit': {
    params: { id: 'reservation', tenantId: 'tenant' },
    body: { costMicros: 0 },
  },
  'POST /api/v1/usage/reservations/{id}/release': { params: { id: 'reservation', tenantId: 'tenant' } },
  'GET /api/v1/models': { params: { tenantId: 'tenant' } },
  'POST /api/v1/chat/completions': {
    params: { tenantId: 'tenant' },
    body: { model: 'local-chat', messages: [{ role: 'user', content: 'hostile' }] },
  },
  'POST /api/v1/embeddings': {
    params: { tenantId: 'tenant' },
    body: { model: 'local-embedding', input: 'hostile' },
  },
  'POST /api/v1/images/generations': {
    params: { tenantId: 'tenant' },
    body: { model: 'local-image', prompt: 'hostile', size: '64x64' },
  },
  'POST /api/v1/images/edits': { params: { tenantId: 'tenant' } },
  'GET /api/v1/media': { params: { tenantId: 'tenant', userId: 'user' } },
  'GET /api/v1/media/stats': { params: { tenantId: 'tenant', userId: 'user' } },
  'GET /api/v1/media/{id}': { params: { id: 'media', tenantId: 'tenant' } },
  'GET /api/v1/media/{id}/content': { params: { id: 'media', tenantId: 'tenant' } },
  'DELETE /api/v1/media/{id}': { params: { id: 'media', tenantId: 'tenant' } },
  'GET /api/v1/media/{id}/file': {
    params: { id: 'media', tenant: 'tenant' },
    query: { expires: '9999999999', signature: 'forged-signature-of-43-characters-0123456789' },
  },
  'POST /api/v1/videos': {
    params: { tenantId: 'tenant' },
    body: { model: 'local-video', prompt: 'hostile', size: '64x64' },
  },
  'GET /api/v1/videos': { params: { tenantId: 'tenant' } },
  'GET /api/v1/videos/{id}': { params: { id: 'video', tenantId: 'tenant' } },
  'GET /api/v1/videos/{id}/content': { params: { id: 'video', tenantId: 'tenant' } },
  'GET /api/v1/knowledge/bases': { params: { tenantId: 'tenant' } },
  'POST /api/v1/knowledge/bases': { params: { tenantId: 'tenant' }, body: { name: 'hostile' } },
  'GET /api/v1/knowledge/bases/{id}': { params: { id: 'knowledgeBase', tenantId: 'tenant' } },
  'PUT /api/v1/knowledge/bases/{id}': {
    params: { id: 'knowledgeBase', tenantId: 'tenant' },
    body: { name: 'hostile' },
  },
  'DELETE /api/v1/knowledge/bases/{id}': { params: { id: 'knowledgeBase', tenantId: 'tenant' } },
  'GET /api/v1/knowledge/bases/{id}/documents': { params: { id: 'knowledgeBase', tenantId: 'tenant' } },
  'POST /api/v1/knowledge/bases/{id}/documents': {
    params: { id: 'knowledgeBase', tenantId: 'tenant' },
    body: { title: 'hostile', text: 'hostile' },
  },
  'POST /api/v1/knowledge/bases/{id}/documents/upload': { params: { id: 'knowledgeBase', tenantId: 'tenant' } },
  'GET /api/v1/knowledge/bases/{id}/statistics': { params: { id: 'knowledgeBase', tenantId: 'tenant' } },
  'GET /api/v1/knowledge/documents/{id}': { params: { id: 'document', tenantId: 'tenant' } },
  'DELETE /api/v1/knowledge/documents/{id}': { params: { id: 'document', tenantId: 'tenant' } },
  'POST /api/v1/knowledge/documents/{id}/reprocess': { params: { id: 'document', tenantId: 'tenant' } },
  'POST /api/v1/knowledge/search': { params: { tenantId: 'tenant' }, body: { query: 'hostile' } },
  'GET /api/v1/plans/{id}': { params: { id: 'plan' }, catalog: true },
  'PATCH /api/v1/plans/{id}': { params: { id: 'plan' }, catalog: true },
  'DELETE /api/v1/plans/{id}': { params: { id: 'plan' }, catalog: true },
  'PATCH /api/v1/meters/{code}': { params: { code: 'meter' }, catalog: true },
  'GET /api/v1/providers/{id}': { params: { id: 'provider' }, catalog: true },
  'PATCH /api/v1/providers/{id}': { params: { id: 'provider' }, catalog: true },
  'DELETE /api/v1/providers/{id}': { params: { id: 'provider' }, catalog: true },
  'GET /api/v1/providers/{id}/keys': { params: { id: 'provider' }, catalog: true },
  'POST /api/v1/providers/{id}/keys': { params: { id: 'provider' }, catalog: true },
  'DELETE /api/v1/providers/{id}/keys/{keyId}': { params: { id: 'provider', keyId: 'providerKey' }, catalog: true },
  'GET /api/v1/model-routes/{id}': { params: { id: 'modelRoute' }, catalog: true },
  'PATCH /api/v1/model-routes/{id}': { params: { id: 'modelRoute' }, catalog: true },
  'DELETE /api/v1/model-routes/{id}': { params: { id: 'modelRoute' }, catalog: true },
};

/** A provider with one key and a model route to it (platform rows, created by the super admin). */
async function gatewayCatalog(
  t: TestApp,
): Promise<Pick<Record<Kind, string>, 'provider' | 'providerKey' | 'modelRoute'>> {
  const root = bearer((await superAdmin(t)).accessToken);
  const post = async (url: string, payload: object) => {
    const res = await t.http({ method: 'POST', url, headers: root, payload });
    expect(res.statusCode).toBe(201);
    return res.json().id as string;
  };
  const provider = await post('/api/v1/providers', {
    name: `p-${randomUUID()}`,
    kind: 'openai',
    baseUrl: 'http://127.0.0.1:9/v1',
  });
  return {
    provider,
    providerKey: await post(`/api/v1/providers/${provider}/keys`, { key: `sk-${randomUUID()}` }),
    modelRoute: await post('/api/v1/model-routes', {
      alias: `m-${randomUUID()}`,
      task: 'chat',
      targets: [{ providerId: provider, model: 'm' }],
    }),
  };
}

/** A reservation of `caller` in its tenant (1 image, nothing estimated). */
async function reservationOf(t: TestApp, caller: Headers): Promise<string> {
  const res = await t.http({
    method: 'POST',
    url: '/api/v1/usage/reservations',
    headers: caller,
    payload: { meter: 'images', quantity: 1, idempotencyKey: randomUUID() },
  });
  expect(res.statusCode).toBe(201);
  return res.json().id as string;
}

/** An image and a video made by `caller` in its tenant (the local models), by id. */
async function mediaOf(t: TestApp, caller: Headers): Promise<{ media: string; video: string }> {
  const image = await t.http({
    method: 'POST',
    url: '/api/v1/images/generations',
    headers: caller,
    payload: { model: 'local-image', prompt: 'a picture', size: '64x64', response_format: 'b64_json' },
  });
  expect(image.statusCode).toBe(200);
  const video = await t.http({
    method: 'POST',
    url: '/api/v1/videos',
    headers: caller,
    payload: { model: 'local-video', prompt: 'a film', size: '64x64', seconds: 1 },
  });
  expect(video.statusCode).toBe(202);
  return { media: image.json().data[0].media_id as string, video: video.json().id as string };
}

/** A knowledge base of `caller`'s tenant with one text document, by id. */
async function knowledgeOf(t: TestApp, caller: Headers): Promise<{ knowledgeBase: string; document: string }> {
  const base = await t.http({
    method: 'POST',
    url: '/api/v1/knowledge/bases',
    headers: caller,
    payload: { name: 'Handbook' },
  });
  expect(base.statusCode).toBe(201);
  const document = await t.http({
    method: 'POST',
    url: `/api/v1/knowledge/bases/${base.json().id}/documents`,
    headers: caller,
    payload: { title: 'Secret handbook', text: 'A secret of the handbook' },
  });
  expect(document.statusCode).toBe(201);
  return { knowledgeBase: base.json().id as string, document: document.json().id as string };
}

describe('access control', () => {
  let t: TestApp;
  let ops: ApiOperation[];
  beforeAll(async () => {
    t = await createTestApp();
    ops = await apiOperations(t);
  });
  afterAll(() => t.close());

  it('declares who may call every route (a diff here is a permission change)', () => {
    const table = ops.map((op) => `${op.route} -> ${op.permission}`).sort();
    expect(table).not.toContainEqual(expect.stringContaining('(undeclared)'));
    expect(table).toMatchSnapshot();
  });

  describe('cross-tenant isolation', () => {
    it('has a case for every id parameter of every route', () => {
      const declared = Object.fromEntries(
        ops.filter((op) => idParameters(op).length > 0).map((op) => [op.route, idParameters(op)]),
      );
      const covered = Object.fromEntries(Object.entries(CASES).map(([r, c]) => [r, Object.keys(c.params).sort()]));
      expect(covered).toEqual(declared);
    });

    type Side = Record<Kind, string>;
    let a: TenantFixture;
    let aSide: Side;
    let bSide: Side;
    /** Everything that identifies tenant A; none of it may appear in an answer to tenant B. */
    let aSecrets: string[];
    const PRINCIPALS = ["B's admin (JWT)", "B's admin (personal key, all scopes)", "B's tenant key"] as const;
    let principals: Record<(typeof PRINCIPALS)[number], Headers>;
    let before: Record<string, string[]>;

    /** Tenant A's rows, exactly (as PostgreSQL renders them), in a stable order. */
    async function rowsOfA(): Promise<Record<string, string[]>> {
      const rows = async (table: string, column: string) =>
        (
          (await t.dataSource.query(`SELECT row_to_json(r)::text AS row FROM "${table}" r WHERE ${column} = $1`, [
            a.id,
          ])) as { row: string }[]
        )
          .map((r) => r.row)
          .sort();
      return {
        tenants: await rows('tenants', 'id'),
        users: await rows('users', 'tenant_id'),
        api_keys: await rows('api_keys', 'tenant_id'),
        one_time_tokens: await rows('one_time_tokens', 'tenant_id'),
        mail_outbox: await rows('mail_outbox', 'tenant_id'),
        auth_sessions: await rows('auth_sessions', 'tenant_id'),
        subscriptions: await rows('subscriptions', 'tenant_id'),
        wallets: await rows('wallets', 'tenant_id'),
        ledger_entries: await rows('ledger_entries', 'tenant_id'),
        quota_defaults: await rows('quota_defaults', 'tenant_id'),
        user_quotas: await rows('user_quotas', 'tenant_id'),
        quota_counters: await rows('quota_counters', 'tenant_id'),
        reservations: await rows('reservations', 'tenant_id'),
        usage_events: await rows('usage_events', 'tenant_id'),
        usage_daily: await rows('usage_daily', 'tenant_id'),
        generations: await rows('generations', 'tenant_id'),
        media: await rows('media', 'tenant_id'),
        video_jobs: await rows('video_jobs', 'tenant_id'),
        knowledge_bases: await rows('knowledge_bases', 'tenant_id'),
        kb_documents: await rows('kb_documents', 'tenant_id'),
      };
    }

    beforeAll(async () => {
      a = await newTenant(t);
      // A plan without rate limits: setting up makes more calls a minute than the free plan allows.
      await subscribe(t, a, (await newPlan(t)).code);
      const aMember = await newUser(t, a, 'member');
      const aKey = await personalKey(t, aMember);
      // An invitation gives A a one-time token and an outbox mail to guard as well.
      const invited = await t.http({
        method: 'POST',
        url: '/api/v1/users',
        headers: bearer(a.admin.accessToken),
        payload: { email: `invited-${randomUUID()}@example.test`, name: 'Invited', role: 'viewer' },
      });
      expect(invited.statusCode).toBe(201);
      // Billing rows of A: credits, quota settings (so reservations hold counters), a reservation and an event.
      const aAdmin = bearer(a.admin.accessToken);
      const root = bearer((await superAdmin(t)).accessToken);
      const setup = [
        {
          method: 'POST',
          url: `/api/v1/tenants/${a.id}/credits/grants`,
          headers: root,
          payload: { amountMicros: 5_000_000, reason: 'credits of A', idempotencyKey: randomUUID() },
        },
        {
          method: 'PUT',
          url: `/api/v1/tenants/${a.id}/quota-defaults`,
          headers: aAdmin,
          payload: { quotas: [{ meter: 'images', period: 'day', limit: 100 }] },
        },
        {
          method: 'PUT',
          url: `/api/v1/users/${aMember.id}/quotas`,
          headers: aAdmin,
          payload: { quotas: [{ meter: 'images', period: 'day', limit: 50 }] },
        },
        {
          method: 'POST',
          url: '/api/v1/usage/events',
          headers: bearer(aMember.accessToken),
          payload: { events: [{ id: randomUUID(), meter: 'images', quantity: 2, model: 'a-model' }] },
        },
        {
          method: 'POST',
          url: '/api/v1/chat/completions',
          headers: aAdmin,
          payload: { model: 'local-chat', messages: [{ role: 'user', content: 'A secret of A' }] },
        },
      ] as const;
      for (const request of setup) expect((await t.http(request)).statusCode).toBe(200);
      const catalog = { plan: (await newPlan(t)).id, meter: 'images', ...(await gatewayCatalog(t)) };
      aSide = {
        tenant: a.id,
        user: aMember.id,
        apiKey: aKey.id,
        reservation: await reservationOf(t, bearer(aMember.accessToken)),
        ...(await mediaOf(t, bearer(aMember.accessToken))),
        ...(await knowledgeOf(t, bearer(aMember.accessToken))),
        ...catalog,
      };
      aSecrets = [a.id, a.slug, a.admin.id, a.admin.email, aMember.id, aMember.email, aKey.id, invited.json().id];

      const b = await newTenant(t);
      await subscribe(t, b, (await newPlan(t)).code);
      const bMember = await newUser(t, b, 'member');
      bSide = {
        tenant: b.id,
        user: bMember.id,
        apiKey: (await personalKey(t, bMember)).id,
        reservation: await reservationOf(t, bearer(bMember.accessToken)),
        ...(await mediaOf(t, bearer(bMember.accessToken))),
        ...(await knowledgeOf(t, bearer(bMember.accessToken))),
        ...catalog,
      };
      // The personal key is sent as a bearer value, the tenant key in X-API-Key: both ways keys are accepted.
      principals = {
        "B's admin (JWT)": bearer(b.admin.accessToken),
        "B's admin (personal key, all scopes)": bearer((await personalKey(t, b.admin)).key),
        "B's tenant key": xApiKey((await tenantKey(t, b)).key),
      };

      before = await rowsOfA();
      for (const [table, rows] of Object.entries(before))
        expect({ table, empty: rows.length === 0 }).toEqual({ table, empty: false });
    });

    const leaked = (text: string) => aSecrets.filter((secret) => text.includes(secret));

    it.each(PRINCIPALS)(
      "as %s: another tenant's id answers like an id that does not exist, and changes nothing",
      async (who) => {
        const headers = principals[who];
        const call = (op: ApiOperation, c: Case, values: Record<string, string>) =>
          t.http({
            method: op.method,
            url: urlOf(op, { ...values, ...c.query }),
            headers,
            ...(c.body && { payload: c.body }),
          });
        let calls = 0;
        for (const op of ops.filter((o) => CASES[o.route] && !CASES[o.route].catalog)) {
          const c = CASES[op.route];
          const names = Object.keys(c.params);
          // Each id parameter foreign on its own (the others B's own), and then all of them at once.
          const variants = names.length > 1 ? [...names.map((n) => [n]), names] : [names];
          for (const foreignNames of variants) {
            const label = `${op.route} with foreign ${foreignNames.join(', ')}`;
            const ids = (foreign: (kind: Kind) => string) =>
              Object.fromEntries(
                names.map((n) => [n, foreignNames.includes(n) ? foreign(c.params[n]) : bSide[c.params[n]]]),
              );
            const foreign = await call(
              op,
              c,
              ids((kind) => aSide[kind]),
            );
            const missing = await call(
              op,
              c,
              ids(() => randomUUID()),
            );
            calls += 2;
            expect({ label, ...answer(foreign) }).toEqual({ label, ...answer(missing) });
            expect({ label, refused: [403, 404].includes(foreign.statusCode) }).toEqual({ label, refused: true });
            // `instance` is the request's own path, which names A's id; nothing else may.
            const { instance: _path, ...problem } = foreign.json() as Record<string, unknown>;
            expect({ label, leaked: leaked(JSON.stringify(problem)) }).toEqual({ label, leaked: [] });
            if (answer(foreign).code === 'PERMISSION_DENIED') {
              // Refused for the route itself, so B's own ids get the same answer.
              const own = await call(
                op,
                c,
                ids((kind) => bSide[kind]),
              );
              calls += 1;
              expect({ label, ...answer(own) }).toEqual({ label, status: 403, code: 'PERMISSION_DENIED' });
            }
          }
        }
        // Lists and the other reads without an id must not mention A either.
        for (const op of ops.filter((o) => o.method === 'GET' && idParameters(o).length === 0)) {
          const res = await t.http({ method: 'GET', url: op.path, headers });
          calls += 1;
          expect({ route: op.route, serverError: res.statusCode >= 500 }).toEqual({
            route: op.route,
            serverError: false,
          });
          expect({ route: op.route, leaked: leaked(res.body) }).toEqual({ route: op.route, leaked: [] });
        }
        expect(calls).toBeGreaterThan(Object.keys(CASES).length * 2);
        expect(await rowsOfA()).toEqual(before);
      },
    );
  });

  describe('role matrix', () => {
    const JWT_ROLES = [Role.VIEWER, Role.MEMBER, Role.TENANT_ADMIN] as const;
    const holds = (permissions: readonly string[], required: string) =>
      !required.startsWith('super_admin') && permissions.includes(required);

    interface Caller {
      label: string;
      headers: Headers;
      /** The user a `user` parameter names: the caller (or the key's owner), else the tenant's member. */
      self: string;
      superAdmin?: boolean;
      allowed: (required: string) => boolean;
    }

    it('allows each principal exactly the routes its permissions cover, 403 otherwise, and never a 5xx', async () => {
      const outcomes: string[] = [];
      const memberPermissions = ROLE_PERMISSIONS[Role.MEMBER];
      const adminPermissions = ROLE_PERMISSIONS[Role.TENANT_ADMIN];
      for (const op of ops.filter((o) => o.permission !== 'public')) {
        // A fresh tenant per route: some calls (logout-all, deletes, key regeneration) spoil the callers' credentials.
        const tenant = await newTenant(t);
        await subscribe(t, tenant, (await newPlan(t)).code);
        const accounts: Record<(typeof JWT_ROLES)[number], Account> = {
          [Role.VIEWER]: await newUser(t, tenant, 'viewer'),
          [Role.MEMBER]: await newUser(t, tenant, 'member'),
          [Role.TENANT_ADMIN]: tenant.admin,
        };
        const member = accounts[Role.MEMBER];
        const scoped = async (owner: Account, permissions: readonly Permission[], role: Role) =>
          Promise.all(
            permissions.map(async (p): Promise<Caller> => ({
              label: `${role} key [${p}]`,
              headers: bearer((await personalKey(t, owner, [p])).key),
              self: owner.id,
              allowed: (required) => required === p,
            })),
          );
        const [appKey, targetKey, memberKeys, adminKeys, root] = await Promise.all([
          tenantKey(t, tenant),
          personalKey(t, member),
          scoped(member, memberPermissions, Role.MEMBER),
          scoped(tenant.admin, adminPermissions, Role.TENANT_ADMIN),
          superAdmin(t),
        ]);
        // Order matters: the tenant key goes before the admin can regenerate it, the super admin (who may delete
        // the tenant or the member) last.
        const callers: Caller[] = [
          {
            label: 'tenant key',
            headers: xApiKey(appKey.key),
            self: member.id,
            allowed: (required) => holds(TENANT_APP_PERMISSIONS, required),
          },
          ...JWT_ROLES.map((role) => ({
            label: role,
            headers: bearer(accounts[role].accessToken),
            self: accounts[role].id,
            allowed: (required: string) => holds(ROLE_PERMISSIONS[role], required),
          })),
          ...memberKeys,
          ...adminKeys,
          {
            label: Role.SUPER_ADMIN,
            headers: bearer(root.accessToken),
            self: member.id,
            superAdmin: true,
            allowed: () => true,
          },
        ];
        const kinds = Object.values(CASES[op.route]?.params ?? {});
        // A reservation of the member in this tenant (members may settle only their own; others any).
        const reservation = kinds.includes('reservation') ? await reservationOf(t, bearer(member.accessToken)) : '';
        const plan = kinds.includes('plan') ? (await newPlan(t)).id : '';
        const made = kinds.some((k) => k === 'media' || k === 'video')
          ? await mediaOf(t, bearer(member.accessToken))
          : { media: '', video: '' };
        const knowledge = kinds.some((k) => k === 'knowledgeBase' || k === 'document')
          ? await knowledgeOf(t, bearer(member.accessToken))
          : { knowledgeBase: '', document: '' };
        const gateway = kinds.some((k) => ['provider', 'providerKey', 'modelRoute'].includes(k))
          ? await gatewayCatalog(t)
          : { provider: '', providerKey: '', modelRoute: '' };
        for (const caller of callers) {
          const target: Record<Kind, string> = {
            tenant: tenant.id,
            user: caller.self,
            apiKey: targetKey.id,
            reservation,
            ...made,
            ...knowledge,
            plan,
            meter: 'images',
            ...gateway,
          };
          const values: Record<string, string> = {};
          for (const [name, kind] of Object.entries(CASES[op.route]?.params ?? {})) {
            // Only super admins name the tenant; everyone else acts in their own.
            if (op.parameters.some((p) => p.name === name && p.in === 'path') || caller.superAdmin) {
              values[name] = target[kind];
            }
          }
          const res = await t.http({
            method: op.method,
            url: urlOf(op, values),
            headers: caller.headers,
            ...(op.method === 'GET' || op.method === 'DELETE' ? {} : { payload: {} }),
          });
          const seen = { op: op.route, caller: caller.label, status: res.statusCode };
          expect({ ...seen, serverError: res.statusCode >= 500 }).toEqual({ ...seen, serverError: false });
          expect({ ...seen, unauthenticated: res.statusCode === 401 }).toEqual({ ...seen, unauthenticated: false });
          const got = res.statusCode === 403 ? `forbidden (${answer(res).code})` : 'allowed';
          outcomes.push(`${op.route} ${caller.label}: ${got}`);
          expect({ op: op.route, caller: caller.label, got }).toEqual({
            op: op.route,
            caller: caller.label,
            got: caller.allowed(op.permission) ? 'allowed' : 'forbidden (PERMISSION_DENIED)',
          });
        }
      }
      expect(outcomes.length).toBeGreaterThan(ops.length * 15);
      // Some 1,200 requests: seconds alone, far longer beside the other suites.
    }, 180_000);
  });
});
