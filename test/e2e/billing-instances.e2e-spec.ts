import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { counters, grant, newPlan, reserve, subscribe, wallet } from '../helpers/billing.js';
import { eventually, parallel, RACE_TEST_TIMEOUT_MS, rounds } from '../helpers/concurrency.js';
import { bearer, newTenant, newUser, type Account, type TenantFixture } from '../helpers/factories.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { cloneSharedTemplateDatabase, postgresUrl, type TestDatabase } from '../helpers/test-database.js';

const engine = postgresUrl() ? 'PostgreSQL' : 'PGlite';
const redis = process.env.REDIS_URL ? ' and Redis' : '';

/** Two app instances on one database (and one Redis when REDIS_URL is set), as behind a load balancer. */
describe(`billing across two instances (${engine}${redis})`, () => {
  let database: TestDatabase;
  let clock: ManualClock;
  let i1: TestApp;
  let i2: TestApp;
  beforeAll(async () => {
    database = await cloneSharedTemplateDatabase();
    clock = new ManualClock();
    i1 = await createTestApp({}, [], { database, clock });
    i2 = await createTestApp({}, [], { database, clock });
  });
  afterAll(async () => {
    await i1?.close();
    await i2?.close();
    await database?.drop();
  });

  async function tenantOn(spec: Parameters<typeof newPlan>[1]): Promise<{ tenant: TenantFixture; member: Account }> {
    const tenant = await newTenant(i1);
    await subscribe(i1, tenant, (await newPlan(i1, spec)).code);
    return { tenant, member: await newUser(i1, tenant, 'member') };
  }

  it(
    'gives exactly 20 of 50 concurrent reservations on quota 20, spread over both instances',
    async () => {
      await rounds(async (round) => {
        const { tenant, member } = await tenantOn({
          quotas: [{ meter: 'images', limit: 20, period: 'day', scope: 'user' }],
        });
        const results = await parallel(50, (i) =>
          reserve(i % 2 === 0 ? i1 : i2, member, { meter: 'images', quantity: 1 }),
        );
        const statuses = results.map((r) => r.statusCode);
        expect({
          round,
          created: statuses.filter((s) => s === 201).length,
          refused: statuses.filter((s) => s === 429).length,
        }).toEqual({
          round,
          created: 20,
          refused: 30,
        });
        expect(await counters(i1, tenant.id, 'images')).toEqual([expect.objectContaining({ used: 0, reserved: 20 })]);
      }, 5);
    },
    RACE_TEST_TIMEOUT_MS,
  );

  it(
    'lets exactly 20 debits of 10 through a balance of 200 from both instances: balance 0 = ledger sum',
    async () => {
      await rounds(async (round) => {
        const { tenant, member } = await tenantOn({});
        await grant(i1, tenant, 200);
        const outcomes = await parallel(50, async (i) => {
          const app = i % 2 === 0 ? i1 : i2;
          const held = await reserve(app, member, { meter: 'requests', quantity: 1, estimatedCostMicros: 10 });
          if (held.statusCode !== 201) return held.statusCode;
          const committed = await (i % 3 === 0 ? i1 : i2).http({
            method: 'POST',
            url: `/api/v1/usage/reservations/${held.json().id}/commit`,
            headers: bearer(member.accessToken),
            payload: { costMicros: 10 },
          });
          return committed.statusCode;
        });
        expect({
          round,
          ok: outcomes.filter((s) => s === 200).length,
          refused: outcomes.filter((s) => s === 402).length,
        }).toEqual({
          round,
          ok: 20,
          refused: 30,
        });
        expect(await wallet(i1, tenant.id)).toEqual({ balance: 0, reserved: 0, shortfall: 0, ledgerSum: 0 });
      }, 5);
    },
    RACE_TEST_TIMEOUT_MS,
  );

  it('grants the included credits of a period once, though both instances are asked at once', async () => {
    const { tenant } = await tenantOn({ includedCreditsMicros: 5000 });
    const admin = bearer(tenant.admin.accessToken);
    const reads = await parallel(20, (i) =>
      (i % 2 === 0 ? i1 : i2).http({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/credits`, headers: admin }),
    );
    expect(reads.every((r) => r.statusCode === 200 && r.json().balanceMicros === 5000)).toBe(true);
    const [{ n }] = await i1.dataSource.query(
      `SELECT count(*)::int AS n FROM ledger_entries WHERE tenant_id = $1 AND kind = 'included'`,
      [tenant.id],
    );
    expect(n).toBe(1);
  });

  if (process.env.REDIS_URL) {
    it('enforces the tenant rate limit across instances through Redis: exactly the limit passes', async () => {
      const { member } = await tenantOn({ rateLimits: { tenantRequestsPerMinute: 12 } });
      const results = await parallel(30, (i) =>
        reserve(i % 2 === 0 ? i1 : i2, member, { meter: 'requests', quantity: 1 }),
      );
      const statuses = results.map((r) => r.statusCode);
      expect({
        created: statuses.filter((s) => s === 201).length,
        limited: statuses.filter((s) => s === 429).length,
      }).toEqual({
        created: 12,
        limited: 18,
      });
      expect(results.find((r) => r.statusCode === 429)?.json().code).toBe('RATE_LIMITED');
    });
  }

  it('releases a hold that expired while no instance ran, when an instance starts again', async () => {
    const { tenant, member } = await tenantOn({
      quotas: [{ meter: 'images', limit: 5, period: 'day', scope: 'user' }],
    });
    await grant(i1, tenant, 100);
    const held = await reserve(i1, member, { meter: 'images', quantity: 3, estimatedCostMicros: 40, ttlSeconds: 60 });
    expect(held.statusCode).toBe(201);
    expect((await wallet(i1, tenant.id)).reserved).toBe(40);
    // Both instances stop (a deploy, a crash) before the hold expires; time passes; one starts again.
    await i1.close();
    await i2.close();
    clock.advance(61_000);
    i1 = await createTestApp({}, [], { database, clock });
    i2 = await createTestApp({}, [], { database, clock });
    const released = await eventually('the restarted instance releases the expired hold', async () => {
      const [row] = await i1.dataSource.query(`SELECT status FROM reservations WHERE id = $1`, [held.json().id]);
      return row.status === 'expired' ? row : undefined;
    });
    expect(released.status).toBe('expired');
    expect(await counters(i1, tenant.id, 'images')).toEqual([expect.objectContaining({ used: 0, reserved: 0 })]);
    expect(await wallet(i1, tenant.id)).toEqual({ balance: 100, reserved: 0, shortfall: 0, ledgerSum: 100 });
    // The quota is whole again.
    expect((await reserve(i2, member, { meter: 'images', quantity: 5 })).statusCode).toBe(201);
  });
});
