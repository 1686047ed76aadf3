import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { counters, grant, newPlan, postEvents, reserve, subscribe, wallet } from '../helpers/billing.js';
import {
  bearer,
  newTenant,
  newUser,
  superAdmin,
  type Account,
  type TenantFixture,
  unique,
} from '../helpers/factories.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const engine = process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite';
const ROUNDS = 5;

describe(`billing invariants under concurrency (${engine})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  async function tenantOn(spec: Parameters<typeof newPlan>[1]): Promise<{ tenant: TenantFixture; member: Account }> {
    const tenant = await newTenant(t);
    await subscribe(t, tenant, (await newPlan(t, spec)).code);
    return { tenant, member: await newUser(t, tenant, 'member') };
  }

  it('gives exactly min(N, Q) of N concurrent reservations on remaining quota Q (50 on 20, several rounds)', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { tenant, member } = await tenantOn({
        quotas: [
          { meter: 'images', limit: 20, period: 'day', scope: 'user' },
          { meter: 'images', limit: 1000, period: 'month', scope: 'tenant' },
        ],
      });
      const results = await Promise.all(
        Array.from({ length: 50 }, () => reserve(t, member, { meter: 'images', quantity: 1 })),
      );
      const statuses = results.map((r) => r.statusCode);
      expect({
        round,
        created: statuses.filter((s) => s === 201).length,
        refused: statuses.filter((s) => s === 429).length,
      }).toEqual({ round, created: 20, refused: 30 });
      const rows = await counters(t, tenant.id, 'images');
      expect(rows.find((r) => r.period === 'day')).toMatchObject({ used: 0, reserved: 20 });
      expect(rows.find((r) => r.period === 'month')).toMatchObject({ used: 0, reserved: 20 });
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM reservations WHERE tenant_id = $1`, [
        tenant.id,
      ]);
      expect(n).toBe(20);
    }
  });

  it('lets exactly 20 of 50 concurrent debits of 10 through a balance of 200: balance 0, ledger sum = balance', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { tenant, member } = await tenantOn({});
      await grant(t, tenant, 200);
      // Half through reservations (estimate held, then committed), half as usage events with a cost.
      const viaReservations = Array.from({ length: 25 }, async () => {
        const held = await reserve(t, member, { meter: 'requests', quantity: 1, estimatedCostMicros: 10 });
        if (held.statusCode !== 201) return held.statusCode;
        const committed = await t.http({
          method: 'POST',
          url: `/api/v1/usage/reservations/${held.json().id}/commit`,
          headers: bearer(member.accessToken),
          payload: { costMicros: 10 },
        });
        return committed.statusCode === 200 ? 201 : committed.statusCode;
      });
      const viaEvents = Array.from({ length: 25 }, async (_, i) => {
        const res = await postEvents(t, member, [
          { id: `r${round}-e${i}`, meter: 'requests', quantity: 1, costMicros: 10 },
        ]);
        return res.json().results[0].result === 'accepted' ? 201 : 402;
      });
      const outcomes = await Promise.all([...viaReservations, ...viaEvents]);
      expect({
        round,
        ok: outcomes.filter((s) => s === 201).length,
        refused: outcomes.filter((s) => s === 402).length,
      }).toEqual({
        round,
        ok: 20,
        refused: 30,
      });
      expect(await wallet(t, tenant.id)).toEqual({ balance: 0, reserved: 0, shortfall: 0, ledgerSum: 0 });
      const [{ debits }] = await t.dataSource.query(
        `SELECT coalesce(-sum(amount_micros), 0)::bigint AS debits FROM ledger_entries WHERE tenant_id = $1 AND kind = 'debit'`,
        [tenant.id],
      );
      expect(Number(debits)).toBe(200);
    }
  });

  it('counts an event id posted twice (or ten times) in parallel once', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { tenant, member } = await tenantOn({
        quotas: [{ meter: 'images', limit: 100, period: 'day', scope: 'user' }],
      });
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          postEvents(t, member, [{ id: `same-${round}`, meter: 'images', quantity: 3 }]),
        ),
      );
      const outcomes = results.map((r) => r.json().results[0].result).sort();
      expect(outcomes).toEqual(['accepted', ...Array(9).fill('duplicate')]);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM usage_events WHERE tenant_id = $1`, [
        tenant.id,
      ]);
      expect(n).toBe(1);
      expect(await counters(t, tenant.id, 'images')).toEqual([expect.objectContaining({ used: 3, reserved: 0 })]);
      const [daily] = await t.dataSource.query(`SELECT quantity, events FROM usage_daily WHERE tenant_id = $1`, [
        tenant.id,
      ]);
      expect([Number(daily.quantity), Number(daily.events)]).toEqual([3, 1]);
    }
  });

  it('creates one reservation, and holds once, for one idempotency key sent ten times in parallel', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { tenant, member } = await tenantOn({
        quotas: [{ meter: 'images', limit: 100, period: 'day', scope: 'user' }],
      });
      const idempotencyKey = `same-${round}`;
      const results = await Promise.all(
        Array.from({ length: 10 }, () => reserve(t, member, { meter: 'images', quantity: 4, idempotencyKey })),
      );
      expect(results.map((r) => r.statusCode)).toEqual(Array(10).fill(201));
      expect(new Set(results.map((r) => r.json().id)).size).toBe(1);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM reservations WHERE tenant_id = $1`, [
        tenant.id,
      ]);
      expect(n).toBe(1);
      expect(await counters(t, tenant.id, 'images')).toEqual([expect.objectContaining({ used: 0, reserved: 4 })]);
      const other = await reserve(t, member, { meter: 'images', quantity: 5, idempotencyKey });
      expect([other.statusCode, other.json().code]).toEqual([409, 'IDEMPOTENCY_KEY_REUSED']);
    }
  });

  it('never lets parallel commits and releases settle one reservation twice', async () => {
    const { tenant, member } = await tenantOn({
      quotas: [{ meter: 'images', limit: 10, period: 'day', scope: 'user' }],
    });
    await grant(t, tenant, 1000);
    for (let round = 0; round < ROUNDS; round++) {
      const held = await reserve(t, member, { meter: 'images', quantity: 2, estimatedCostMicros: 30 });
      const url = `/api/v1/usage/reservations/${held.json().id}`;
      const headers = bearer(member.accessToken);
      const settled = await Promise.all([
        ...Array.from({ length: 5 }, () => t.http({ method: 'POST', url: `${url}/commit`, headers, payload: {} })),
        ...Array.from({ length: 5 }, () => t.http({ method: 'POST', url: `${url}/release`, headers })),
      ]);
      expect(settled.filter((r) => r.statusCode === 200)).toHaveLength(1);
      expect(settled.filter((r) => r.statusCode === 409)).toHaveLength(9);
    }
    const state = await wallet(t, tenant.id);
    expect(state.reserved).toBe(0);
    expect(state.balance).toBe(state.ledgerSum);
    expect(await counters(t, tenant.id, 'images')).toEqual([expect.objectContaining({ reserved: 0 })]);
  });
  it('charges embeddings the built-in provider answers in one statement: racing calls take exactly what the quota or the balance allows', async () => {
    // A priced route to the built-in provider: 1 micro per token, and one token per call of input 'x'.
    const root = bearer((await superAdmin(t)).accessToken);
    const provider = await t.http({
      method: 'POST',
      url: '/api/v1/providers',
      headers: root,
      payload: { name: `local-${unique()}`, kind: 'local' },
    });
    const alias = `embed-${unique()}`;
    const route = await t.http({
      method: 'POST',
      url: '/api/v1/model-routes',
      headers: root,
      payload: {
        alias,
        task: 'embedding',
        targets: [{ providerId: provider.json().id, model: 'local-embedding' }],
        inputPerMTokMicros: 1_000_000,
      },
    });
    expect([provider.statusCode, route.statusCode]).toEqual([201, 201]);
    for (let round = 0; round < ROUNDS; round++) {
      // Knowledge search embeds its query on `embedding_tokens`; the embeddings API counts `requests`.
      // Rounds 0, 1 and 4 run out of quota (8), rounds 2 and 3 out of credits (5 micros).
      const viaSearch = round % 2 === 0;
      const meter = viaSearch ? 'embedding_tokens' : 'requests';
      const quotaBound = round % 4 < 2;
      const { tenant, member } = await tenantOn({
        quotas: [{ meter, limit: quotaBound ? 8 : 1000, period: 'day', scope: 'user' }],
      });
      const granted = quotaBound ? 1000 : 5;
      await grant(t, tenant, granted);
      const headers = bearer(member.accessToken);
      if (viaSearch) {
        const base = await t.http({
          method: 'POST',
          url: '/api/v1/knowledge/bases',
          headers,
          payload: { name: 'race', settings: { embeddingModel: alias } },
        });
        expect(base.statusCode).toBe(201);
      }
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          viaSearch
            ? t.http({
                method: 'POST',
                url: '/api/v1/knowledge/search',
                headers,
                payload: { query: 'x', mode: 'vector' },
              })
            : t.http({ method: 'POST', url: '/api/v1/embeddings', headers, payload: { model: alias, input: 'x' } }),
        ),
      );
      const allowed = quotaBound ? 8 : 5;
      expect({ round, statuses: results.map((r) => r.statusCode).sort() }).toEqual({
        round,
        statuses: [...Array(allowed).fill(200), ...Array(20 - allowed).fill(quotaBound ? 429 : 402)],
      });
      expect(await counters(t, tenant.id, meter)).toEqual([
        expect.objectContaining({ period: 'day', used: allowed, reserved: 0 }),
      ]);
      expect(await wallet(t, tenant.id)).toEqual({
        balance: granted - allowed,
        reserved: 0,
        shortfall: 0,
        ledgerSum: granted - allowed,
      });
      // Each call that went through left a committed reservation, its event and its generation; a refused one nothing.
      const [rows] = await t.dataSource.query(
        `SELECT (SELECT array_agg(DISTINCT status) FROM reservations WHERE tenant_id = $1) AS statuses,
                (SELECT count(*)::int FROM reservations WHERE tenant_id = $1) AS reservations,
                (SELECT count(*)::int FROM usage_events WHERE tenant_id = $1 AND meter = $2) AS events,
                (SELECT count(*)::int FROM generations WHERE tenant_id = $1 AND status = 'succeeded') AS generations,
                (SELECT sum(quantity)::int FROM usage_daily WHERE tenant_id = $1 AND meter = $2) AS daily`,
        [tenant.id, meter],
      );
      expect({ ...rows, statuses: [rows.statuses].flat() }).toEqual({
        statuses: ['committed'],
        reservations: allowed,
        events: allowed,
        generations: allowed,
        daily: allowed,
      });
    }
  });
});
