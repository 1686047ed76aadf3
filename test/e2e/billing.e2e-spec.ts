import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MeteringService } from '../../src/modules/billing/metering.service.js';
import { counters, grant, newPlan, postEvents, reserve, subscribe, wallet } from '../helpers/billing.js';
import { bearer, newTenant, newUser, superAdmin, type TenantFixture } from '../helpers/factories.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

describe('billing: catalog and subscriptions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('lists the built-in meters, lets super admins add meters, and refuses bad or duplicate codes', async () => {
    const root = await superAdmin(t);
    const tenant = await newTenant(t);
    const list = await t.http({ method: 'GET', url: '/api/v1/meters', headers: bearer(tenant.admin.accessToken) });
    expect(list.statusCode).toBe(200);
    expect(list.json().map((m: { code: string }) => m.code)).toEqual(
      expect.arrayContaining(['requests', 'input_tokens', 'output_tokens', 'images', 'image_edits', 'videos']),
    );
    expect(list.json()).toHaveLength(11);
    const add = (headers: Record<string, string>, payload: object) =>
      t.http({ method: 'POST', url: '/api/v1/meters', headers, payload });
    expect(
      (await add(bearer(tenant.admin.accessToken), { code: 'stories', name: 'Stories', unit: 'story' })).statusCode,
    ).toBe(403);
    const created = await add(bearer(root.accessToken), { code: 'stories.long', name: 'Stories', unit: 'story' });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ code: 'stories.long', builtIn: false });
    expect((await add(bearer(root.accessToken), { code: 'stories.long', name: 'X', unit: 'x' })).json().code).toBe(
      'METER_EXISTS',
    );
    for (const code of ['Stories', '1abc', 'a b', 'x'.repeat(65), '']) {
      expect((await add(bearer(root.accessToken), { code, name: 'X', unit: 'x' })).statusCode).toBe(400);
    }
    const patched = await t.http({
      method: 'PATCH',
      url: '/api/v1/meters/stories.long',
      headers: bearer(root.accessToken),
      payload: { name: 'Long stories' },
    });
    expect(patched.json()).toMatchObject({ code: 'stories.long', name: 'Long stories', unit: 'story' });
    const [row] = await t.dataSource.query(`SELECT name FROM meters WHERE code = 'stories.long'`);
    expect(row.name).toBe('Long stories');
  });

  it('seeds free and pro, subscribes new tenants to DEFAULT_PLAN with a wallet, and shows it to their admins only', async () => {
    const tenant = await newTenant(t);
    const other = await newTenant(t);
    const member = await newUser(t, tenant, 'member');
    const [subscription] = await t.dataSource.query(
      `SELECT p.code FROM subscriptions s JOIN plans p ON p.id = s.plan_id WHERE s.tenant_id = $1`,
      [tenant.id],
    );
    expect(subscription.code).toBe('free');
    expect(await wallet(t, tenant.id)).toEqual({ balance: 0, reserved: 0, shortfall: 0, ledgerSum: 0 });
    const get = (token: string, id = tenant.id) =>
      t.http({ method: 'GET', url: `/api/v1/tenants/${id}/subscription`, headers: bearer(token) });
    const own = await get(tenant.admin.accessToken);
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ tenantId: tenant.id, plan: { code: 'free', tier: 'free' } });
    expect((await get(member.accessToken)).statusCode).toBe(403);
    expect((await get(other.admin.accessToken)).statusCode).toBe(404);

    const moved = await subscribe(t, tenant, 'pro', 15);
    expect(moved).toMatchObject({ plan: { code: 'pro' }, anchorDay: 15 });
    expect(moved.currentPeriod.start).toMatch(/^\d{4}-\d{2}-15T00:00:00Z$/);
    const plans = await t.http({ method: 'GET', url: '/api/v1/plans', headers: bearer(member.accessToken) });
    expect(plans.json().map((p: { code: string }) => p.code)).toEqual(expect.arrayContaining(['free', 'pro']));
  });

  it('validates plans (unknown meters 422, nothing written), archives them out of the catalog', async () => {
    const root = await superAdmin(t);
    const before = await t.dataSource.query(`SELECT count(*)::int AS n FROM plans`);
    const bad = await t.http({
      method: 'POST',
      url: '/api/v1/plans',
      headers: bearer(root.accessToken),
      payload: {
        code: 'bad',
        name: 'Bad',
        tier: 'x',
        quotas: [{ meter: 'nope', limit: 1, period: 'day', scope: 'user' }],
      },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ code: 'UNKNOWN_METER', meters: ['nope'] });
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM plans`)).toEqual(before);
    for (const [payload, missing] of [
      [{ code: 'no-name', tier: 'pro' }, 'name'],
      [{ code: 'no-tier', name: 'No tier' }, 'tier'],
      [{ code: 'bare' }, 'name'],
    ] as const) {
      const res = await t.http({ method: 'POST', url: '/api/v1/plans', headers: bearer(root.accessToken), payload });
      expect([res.statusCode, res.json().code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(missing);
    }
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM plans`)).toEqual(before);
    const plan = await newPlan(t);
    const tenant = await newTenant(t);
    const archive = await t.http({
      method: 'DELETE',
      url: `/api/v1/plans/${plan.id}`,
      headers: bearer(root.accessToken),
    });
    expect(archive.statusCode).toBe(204);
    const visible = await t.http({
      method: 'GET',
      url: `/api/v1/plans/${plan.id}`,
      headers: bearer(tenant.admin.accessToken),
    });
    expect(visible.statusCode).toBe(404);
    const refused = await t.http({
      method: 'PUT',
      url: `/api/v1/tenants/${tenant.id}/subscription`,
      headers: bearer(root.accessToken),
      payload: { planCode: plan.code },
    });
    expect(refused.json().code).toBe('PLAN_ARCHIVED');
  });
});

describe('billing: quotas, reservations and windows', () => {
  let t: TestApp;
  const clock = new ManualClock();
  beforeAll(async () => {
    t = await createTestApp({}, [], { clock });
  });
  afterAll(() => t.close());

  async function tenantOn(spec: Parameters<typeof newPlan>[1]): Promise<TenantFixture> {
    const tenant = await newTenant(t);
    const plan = await newPlan(t, spec);
    await subscribe(t, tenant, plan.code);
    return tenant;
  }

  it('refuses past the quota with 429 QUOTA_EXCEEDED in the documented form, counting used only on commit', async () => {
    const tenant = await tenantOn({ quotas: [{ meter: 'images', limit: 3, period: 'day', scope: 'user' }] });
    const member = await newUser(t, tenant, 'member');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await reserve(t, member, { meter: 'images', quantity: 1 });
      expect(res.statusCode).toBe(201);
      ids.push(res.json().id);
    }
    const over = await reserve(t, member, { meter: 'images', quantity: 1 });
    expect(over.statusCode).toBe(429);
    const resetsAt = new Date(Math.ceil((clock.now().getTime() + 1) / DAY) * DAY).toISOString().replace('.000Z', 'Z');
    expect(over.json()).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      detail: `Quota exceeded for images. Used: 3/3. Resets at ${resetsAt}`,
      meter: 'images',
      used: 3,
      limit: 3,
      resetsAt,
    });
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(await counters(t, tenant.id, 'images')).toEqual([
      { subjectId: member.id, period: 'day', used: 0, reserved: 3 },
    ]);

    // Release one, commit one (actual quantity 1): used grows only on commit.
    const headers = bearer(member.accessToken);
    expect(
      (await t.http({ method: 'POST', url: `/api/v1/usage/reservations/${ids[0]}/release`, headers })).statusCode,
    ).toBe(200);
    const commit = await t.http({
      method: 'POST',
      url: `/api/v1/usage/reservations/${ids[1]}/commit`,
      headers,
      payload: {},
    });
    expect(commit.statusCode).toBe(200);
    expect(commit.json()).toMatchObject({ quantity: 1, reservation: { status: 'committed' } });
    const again = await t.http({
      method: 'POST',
      url: `/api/v1/usage/reservations/${ids[1]}/commit`,
      headers,
      payload: {},
    });
    expect(again.json().code).toBe('RESERVATION_SETTLED');
    expect(await counters(t, tenant.id, 'images')).toEqual([
      { subjectId: member.id, period: 'day', used: 1, reserved: 1 },
    ]);
    const quotas = await t.http({ method: 'GET', url: '/api/v1/usage/quotas', headers });
    expect(quotas.json()).toEqual([
      { meter: 'images', scope: 'user', period: 'day', limit: 3, used: 1, reserved: 1, remaining: 1, resetsAt },
    ]);
    const [event] = await t.dataSource.query(`SELECT * FROM usage_events WHERE reservation_id = $1`, [ids[1]]);
    expect({ ...event, quantity: Number(event.quantity) }).toMatchObject({
      meter: 'images',
      quantity: 1,
      user_id: member.id,
    });
  });

  it('applies the tightest of plan, tenant default and user quota, and the tenant-wide quota to everyone', async () => {
    const tenant = await tenantOn({
      quotas: [
        { meter: 'images', limit: 50, period: 'day', scope: 'user' },
        { meter: 'videos', limit: 3, period: 'month', scope: 'tenant' },
      ],
    });
    const a = await newUser(t, tenant, 'member');
    const b = await newUser(t, tenant, 'member');
    const admin = bearer(tenant.admin.accessToken);
    const put = (url: string, quotas: object[]) => t.http({ method: 'PUT', url, headers: admin, payload: { quotas } });
    expect(
      (await put(`/api/v1/tenants/${tenant.id}/quota-defaults`, [{ meter: 'images', period: 'day', limit: 10 }]))
        .statusCode,
    ).toBe(200);
    expect((await put(`/api/v1/users/${a.id}/quotas`, [{ meter: 'images', period: 'day', limit: 4 }])).statusCode).toBe(
      200,
    );
    // A user's own quota cannot loosen what the plan or the tenant set.
    expect(
      (await put(`/api/v1/users/${b.id}/quotas`, [{ meter: 'images', period: 'day', limit: 1000 }])).statusCode,
    ).toBe(200);
    expect((await reserve(t, a, { meter: 'images', quantity: 5 })).statusCode).toBe(429);
    expect((await reserve(t, a, { meter: 'images', quantity: 4 })).statusCode).toBe(201);
    expect((await reserve(t, b, { meter: 'images', quantity: 11 })).statusCode).toBe(429);
    expect((await reserve(t, b, { meter: 'images', quantity: 10 })).statusCode).toBe(201);
    // The tenant-scope quota is shared: 2 by a, then only 1 left for b.
    expect((await reserve(t, a, { meter: 'videos', quantity: 2 })).statusCode).toBe(201);
    const shared = await reserve(t, b, { meter: 'videos', quantity: 2 });
    expect(shared.json()).toMatchObject({ code: 'QUOTA_EXCEEDED', scope: 'tenant', used: 2, limit: 3 });
    expect((await reserve(t, b, { meter: 'videos', quantity: 1 })).statusCode).toBe(201);
    const unknown = await put(`/api/v1/users/${a.id}/quotas`, [{ meter: 'nope', period: 'day', limit: 1 }]);
    expect(unknown.statusCode).toBe(422);
    const [override] = await t.dataSource.query(`SELECT quota_limit FROM user_quotas WHERE user_id = $1`, [a.id]);
    expect(Number(override.quota_limit)).toBe(4);
  });

  it('resets windows by computation: a new day starts a new window, with no job and no sleeping', async () => {
    const tenant = await tenantOn({ quotas: [{ meter: 'images', limit: 2, period: 'day', scope: 'user' }] });
    const member = await newUser(t, tenant, 'member');
    expect((await reserve(t, member, { meter: 'images', quantity: 2 })).statusCode).toBe(201);
    expect((await reserve(t, member, { meter: 'images', quantity: 1 })).statusCode).toBe(429);
    const midnight = Math.ceil((clock.now().getTime() + 1) / DAY) * DAY;
    clock.set(new Date(midnight + 1000));
    const next = await reserve(t, member, { meter: 'images', quantity: 2, ttlSeconds: 3600 });
    expect(next.statusCode).toBe(201);
    expect((await reserve(t, member, { meter: 'images', quantity: 1 })).statusCode).toBe(429);
  });

  it('releases expired holds (sweep), refuses committing an expired reservation, and answers replays idempotently', async () => {
    const tenant = await tenantOn({ quotas: [{ meter: 'images', limit: 5, period: 'month', scope: 'user' }] });
    const member = await newUser(t, tenant, 'member');
    const body = { meter: 'images', quantity: 5, ttlSeconds: 60, idempotencyKey: 'same-key' };
    const first = await reserve(t, member, body);
    const replay = await reserve(t, member, body);
    expect(replay.json().id).toBe(first.json().id);
    expect((await reserve(t, member, { ...body, quantity: 4 })).json().code).toBe('IDEMPOTENCY_KEY_REUSED');
    const second = await reserve(t, member, { meter: 'images', quantity: 1, ttlSeconds: 60 });
    expect(second.statusCode).toBe(429);
    clock.advance(2 * MINUTE);
    await t.app.get(MeteringService).sweepExpired();
    const [row] = await t.dataSource.query(`SELECT status FROM reservations WHERE id = $1`, [first.json().id]);
    expect(row.status).toBe('expired');
    expect(await counters(t, tenant.id, 'images')).toEqual([expect.objectContaining({ used: 0, reserved: 0 })]);
    const late = await t.http({
      method: 'POST',
      url: `/api/v1/usage/reservations/${first.json().id}/commit`,
      headers: bearer(member.accessToken),
      payload: {},
    });
    expect(late.json().code).toBe('RESERVATION_SETTLED');
    expect((await reserve(t, member, { meter: 'images', quantity: 5 })).statusCode).toBe(201);
  });

  it('commits at most the reserved quantity, and an expired reservation releases its hold instead of committing', async () => {
    const tenant = await tenantOn({ quotas: [{ meter: 'images', limit: 5, period: 'day', scope: 'user' }] });
    const other = await tenantOn({});
    const member = await newUser(t, tenant, 'member');
    const held = (await reserve(t, member, { meter: 'images', quantity: 3, ttlSeconds: 60 })).json();
    const commit = (id: string, caller: { accessToken: string }, payload: object) =>
      t.http({
        method: 'POST',
        url: `/api/v1/usage/reservations/${id}/commit`,
        headers: bearer(caller.accessToken),
        payload,
      });
    const events = async (id: string) =>
      (await t.dataSource.query(`SELECT quantity FROM usage_events WHERE reservation_id = $1`, [id])).length;

    const above = await commit(held.id, member, { quantity: 4 });
    expect(above.statusCode).toBe(422);
    expect(above.json()).toMatchObject({ code: 'QUANTITY_ABOVE_RESERVED', detail: expect.stringContaining('holds 3') });
    expect((await commit(held.id, other.admin, { quantity: 1 })).statusCode).toBe(404);
    const [still] = await t.dataSource.query(`SELECT status FROM reservations WHERE id = $1`, [held.id]);
    expect(still.status).toBe('held');
    expect(await events(held.id)).toBe(0);
    expect(await counters(t, tenant.id, 'images')).toEqual([
      { subjectId: member.id, period: 'day', used: 0, reserved: 3 },
    ]);

    // The tenant admin commits the member's reservation, using less than it held.
    const done = await commit(held.id, tenant.admin, { quantity: 2, model: 'm-1' });
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ quantity: 2, reservation: { id: held.id, userId: member.id, quantity: 3 } });
    expect(await counters(t, tenant.id, 'images')).toEqual([
      { subjectId: member.id, period: 'day', used: 2, reserved: 0 },
    ]);
    const daily = await t.dataSource.query(
      `SELECT quantity, events, model FROM usage_daily WHERE tenant_id = $1 AND meter = 'images' AND user_id = $2`,
      [tenant.id, member.id],
    );
    expect(
      daily.map((d: Record<string, unknown>) => ({ ...d, quantity: Number(d.quantity), events: Number(d.events) })),
    ).toEqual([{ quantity: 2, events: 1, model: 'm-1' }]);

    // Not swept yet: the commit finds it expired, releases the hold and records nothing.
    const late = (await reserve(t, member, { meter: 'images', quantity: 3, ttlSeconds: 60 })).json();
    clock.advance(2 * MINUTE);
    const refused = await commit(late.id, member, {});
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('RESERVATION_EXPIRED');
    const [expired] = await t.dataSource.query(`SELECT status, settled_at FROM reservations WHERE id = $1`, [late.id]);
    expect(expired.status).toBe('expired');
    expect(new Date(expired.settled_at).getTime()).toBeGreaterThan(new Date(late.expiresAt).getTime());
    expect(await events(late.id)).toBe(0);
    const [counter] = await counters(t, tenant.id, 'images');
    expect(counter).toMatchObject({ used: 2, reserved: 0 });
  });

  it("keeps members to their own reservations; another tenant's reservation is 404", async () => {
    const tenant = await tenantOn({});
    const other = await tenantOn({});
    const a = await newUser(t, tenant, 'member');
    const b = await newUser(t, tenant, 'member');
    const mine = (await reserve(t, a, { meter: 'requests', quantity: 1 })).json();
    const url = `/api/v1/usage/reservations/${mine.id}`;
    expect((await t.http({ method: 'GET', url, headers: bearer(b.accessToken) })).statusCode).toBe(404);
    expect((await t.http({ method: 'GET', url, headers: bearer(other.admin.accessToken) })).statusCode).toBe(404);
    expect(
      (await t.http({ method: 'POST', url: `${url}/commit`, headers: bearer(b.accessToken), payload: {} })).statusCode,
    ).toBe(404);
    expect((await t.http({ method: 'GET', url, headers: bearer(tenant.admin.accessToken) })).statusCode).toBe(200);
    const forOther = await reserve(t, a, { meter: 'requests', quantity: 1, userId: b.id });
    expect(forOther.statusCode).toBe(403);
    const byAdmin = await reserve(t, tenant.admin, { meter: 'requests', quantity: 1, userId: b.id });
    expect(byAdmin.json().userId).toBe(b.id);
    const [row] = await t.dataSource.query(`SELECT status FROM reservations WHERE id = $1`, [mine.id]);
    expect(row.status).toBe('held');
  });
});

describe('billing: credits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('grants once per idempotency key, adjusts either way but never below zero, and keeps balance = ledger', async () => {
    const tenant = await newTenant(t);
    const plan = await newPlan(t);
    await subscribe(t, tenant, plan.code);
    const root = await superAdmin(t);
    const first = await grant(t, tenant, 500, 'topup-1');
    expect(first).toMatchObject({ created: true, credits: { balanceMicros: 500, availableMicros: 500 } });
    const replay = await grant(t, tenant, 500, 'topup-1');
    expect(replay).toMatchObject({ created: false, entries: [], credits: { balanceMicros: 500 } });
    const adjust = (amountMicros: number, idempotencyKey: string) =>
      t.http({
        method: 'POST',
        url: `/api/v1/tenants/${tenant.id}/credits/adjustments`,
        headers: bearer(root.accessToken),
        payload: { amountMicros, reason: 'correction', idempotencyKey },
      });
    expect((await adjust(-200, 'fix-1')).json().credits.balanceMicros).toBe(300);
    const tooMuch = await adjust(-301, 'fix-2');
    expect(tooMuch.json().code).toBe('ADJUSTMENT_EXCEEDS_BALANCE');
    expect(await wallet(t, tenant.id)).toMatchObject({ balance: 300, ledgerSum: 300 });
    expect((await grant(t, tenant, 1, 'by-admin').catch(() => null)) !== null).toBe(true);
    const byTenantAdmin = await t.http({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/credits/grants`,
      headers: bearer(tenant.admin.accessToken),
      payload: { amountMicros: 1, reason: 'self', idempotencyKey: 'self' },
    });
    expect(byTenantAdmin.statusCode).toBe(403);
    const ledger = await t.http({
      method: 'GET',
      url: `/api/v1/tenants/${tenant.id}/credits/ledger`,
      headers: bearer(tenant.admin.accessToken),
    });
    expect(ledger.json().items.map((e: { kind: string; amountMicros: number }) => [e.kind, e.amountMicros])).toEqual([
      ['grant', 1],
      ['adjustment', -200],
      ['grant', 500],
    ]);
  });

  it('grants the plan’s included credits exactly once per period, even when asked in parallel', async () => {
    const tenant = await newTenant(t);
    const plan = await newPlan(t, { includedCreditsMicros: 7000 });
    await subscribe(t, tenant, plan.code);
    const reads = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.http({
          method: 'GET',
          url: `/api/v1/tenants/${tenant.id}/credits`,
          headers: bearer(tenant.admin.accessToken),
        }),
      ),
    );
    expect(reads.every((r) => r.statusCode === 200)).toBe(true);
    const rows = await t.dataSource.query(
      `SELECT kind, amount_micros FROM ledger_entries WHERE tenant_id = $1 AND kind = 'included'`,
      [tenant.id],
    );
    expect(rows.map((r: { kind: string; amount_micros: string }) => [r.kind, Number(r.amount_micros)])).toEqual([
      ['included', 7000],
    ]);
    expect(await wallet(t, tenant.id)).toMatchObject({ balance: 7000, ledgerSum: 7000 });
  });

  it('takes cost above the estimate from what is available, records the rest as a shortfall that blocks until paid', async () => {
    const tenant = await newTenant(t);
    const plan = await newPlan(t);
    await subscribe(t, tenant, plan.code);
    await grant(t, tenant, 100);
    const member = await newUser(t, tenant, 'member');
    const r = await reserve(t, member, { meter: 'requests', quantity: 1, estimatedCostMicros: 40 });
    expect(r.statusCode).toBe(201);
    expect(await wallet(t, tenant.id)).toMatchObject({ balance: 100, reserved: 40 });
    const tooBig = await reserve(t, member, { meter: 'requests', quantity: 1, estimatedCostMicros: 61 });
    expect(tooBig.statusCode).toBe(402);
    expect(tooBig.json()).toMatchObject({ code: 'INSUFFICIENT_CREDITS', availableMicros: 60, requiredMicros: 61 });
    const commit = await t.http({
      method: 'POST',
      url: `/api/v1/usage/reservations/${r.json().id}/commit`,
      headers: bearer(member.accessToken),
      payload: { costMicros: 130 },
    });
    expect(commit.json()).toMatchObject({ costMicros: 130, debitedMicros: 100, shortfallMicros: 30 });
    expect(await wallet(t, tenant.id)).toEqual({ balance: 0, reserved: 0, shortfall: 30, ledgerSum: 0 });
    const blocked = await reserve(t, member, { meter: 'requests', quantity: 1 });
    expect(blocked.statusCode).toBe(402);
    await grant(t, tenant, 50);
    expect(await wallet(t, tenant.id)).toEqual({ balance: 20, reserved: 0, shortfall: 0, ledgerSum: 20 });
    expect((await reserve(t, member, { meter: 'requests', quantity: 1, estimatedCostMicros: 20 })).statusCode).toBe(
      201,
    );
  });
});

describe('billing: usage events, rate limits, reports', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('accepts events once per id (duplicates in a batch or across batches), refusing each bad one on its own', async () => {
    const tenant = await newTenant(t);
    const plan = await newPlan(t, { quotas: [{ meter: 'images', limit: 3, period: 'day', scope: 'user' }] });
    await subscribe(t, tenant, plan.code);
    const member = await newUser(t, tenant, 'member');
    const res = await postEvents(t, member, [
      { id: 'e1', meter: 'images', quantity: 2, model: 'm1' },
      { id: 'e1', meter: 'images', quantity: 2 },
      { id: 'e2', meter: 'images', quantity: 2 },
      { id: 'e3', meter: 'images', quantity: 1, model: 'm1' },
      { id: 'e4', meter: 'requests', quantity: 1, timestamp: '2000-01-01T00:00:00Z' },
    ]);
    expect(res.statusCode).toBe(200);
    expect(res.json().results).toEqual([
      { id: 'e1', result: 'accepted' },
      { id: 'e1', result: 'duplicate' },
      expect.objectContaining({ id: 'e2', result: 'error', code: 'QUOTA_EXCEEDED' }),
      { id: 'e3', result: 'accepted' },
      expect.objectContaining({ id: 'e4', result: 'error', code: 'TIMESTAMP_TOO_OLD' }),
    ]);
    expect(res.json()).toMatchObject({ accepted: 2, duplicates: 1, errors: 2 });
    const again = await postEvents(t, member, [{ id: 'e1', meter: 'images', quantity: 2 }]);
    expect(again.json().results).toEqual([{ id: 'e1', result: 'duplicate' }]);
    const stored = await t.dataSource.query(
      `SELECT event_id FROM usage_events WHERE tenant_id = $1 ORDER BY event_id`,
      [tenant.id],
    );
    expect(stored).toEqual([{ event_id: 'e1' }, { event_id: 'e3' }]);
    const daily = await t.dataSource.query(
      `SELECT meter, model, quantity, events FROM usage_daily WHERE tenant_id = $1 ORDER BY meter, model`,
      [tenant.id],
    );
    expect(
      daily.map((d: { meter: string; model: string; quantity: string; events: string }) => [
        d.meter,
        d.model,
        Number(d.quantity),
        Number(d.events),
      ]),
    ).toEqual([['images', 'm1', 3, 2]]);
    expect(await counters(t, tenant.id, 'images')).toEqual([
      { subjectId: member.id, period: 'day', used: 3, reserved: 0 },
    ]);
    const unknown = await postEvents(t, member, [{ id: 'x', meter: 'nope', quantity: 1 }]);
    expect([unknown.statusCode, unknown.json().code]).toEqual([422, 'UNKNOWN_METER']);
  });

  it("admits a batch's events in order against the credits and quota left, debiting the accepted ones in one entry", async () => {
    const tenant = await newTenant(t);
    const plan = await newPlan(t, { quotas: [{ meter: 'images', limit: 3, period: 'day', scope: 'user' }] });
    await subscribe(t, tenant, plan.code);
    await grant(t, tenant, 25);
    const member = await newUser(t, tenant, 'member');
    // A hold of 5 leaves 20 available.
    expect((await reserve(t, member, { meter: 'requests', quantity: 1, estimatedCostMicros: 5 })).statusCode).toBe(201);
    const res = await postEvents(t, member, [
      { id: 'a', meter: 'images', quantity: 1, costMicros: 10 },
      { id: 'b', meter: 'images', quantity: 1, costMicros: 15 },
      { id: 'c', meter: 'images', quantity: 1, costMicros: 10 },
      { id: 'd', meter: 'requests', quantity: 1, costMicros: 1 },
      { id: 'e', meter: 'images', quantity: 2 },
      { id: 'f', meter: 'images', quantity: 1 },
    ]);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    expect(res.json().results).toEqual([
      { id: 'a', result: 'accepted' },
      {
        id: 'b',
        result: 'error',
        code: 'INSUFFICIENT_CREDITS',
        reason: 'Insufficient credits: 10 micros available, 15 required.',
      },
      { id: 'c', result: 'accepted' },
      {
        id: 'd',
        result: 'error',
        code: 'INSUFFICIENT_CREDITS',
        reason: 'Insufficient credits: 0 micros available, 1 required.',
      },
      {
        id: 'e',
        result: 'error',
        code: 'QUOTA_EXCEEDED',
        reason: `Quota exceeded for images. Used: 2/3. Resets at ${tomorrow}T00:00:00Z`,
      },
      { id: 'f', result: 'accepted' },
    ]);
    expect(await wallet(t, tenant.id)).toEqual({ balance: 5, reserved: 5, shortfall: 0, ledgerSum: 5 });
    const debits = await t.dataSource.query(
      `SELECT amount_micros::int AS amount, balance_after_micros::int AS after, reason FROM ledger_entries
        WHERE tenant_id = $1 AND kind = 'debit'`,
      [tenant.id],
    );
    expect(debits).toEqual([{ amount: -20, after: 5, reason: 'Usage events (3)' }]);
    const stored = await t.dataSource.query(
      `SELECT event_id, api_key_id, client_ip, request_id IS NOT NULL AS has_request FROM usage_events
        WHERE tenant_id = $1 ORDER BY event_id`,
      [tenant.id],
    );
    expect(stored.map((r: { event_id: string }) => r.event_id)).toEqual(['a', 'c', 'f']);
    expect(stored[0]).toMatchObject({ api_key_id: null, client_ip: '127.0.0.1', has_request: true });
    const [daily] = await t.dataSource.query(
      `SELECT sum(quantity)::int AS quantity, sum(cost_micros)::int AS cost, sum(events)::int AS events
         FROM usage_daily WHERE tenant_id = $1`,
      [tenant.id],
    );
    expect(daily).toEqual({ quantity: 3, cost: 20, events: 3 });
    expect(await counters(t, tenant.id, 'images')).toEqual([
      { subjectId: member.id, period: 'day', used: 3, reserved: 0 },
    ]);
  });

  it('debits a postpaid batch as far as the balance goes and records every event', async () => {
    const tenant = await newTenant(t);
    const plan = await newPlan(t, { billingMode: 'postpaid' });
    await subscribe(t, tenant, plan.code);
    await grant(t, tenant, 10);
    const member = await newUser(t, tenant, 'member');
    const res = await postEvents(t, member, [
      { id: 'p1', meter: 'requests', quantity: 1, costMicros: 8 },
      { id: 'p2', meter: 'requests', quantity: 1, costMicros: 8 },
    ]);
    expect(res.json()).toMatchObject({ accepted: 2, errors: 0 });
    expect(await wallet(t, tenant.id)).toEqual({ balance: 0, reserved: 0, shortfall: 0, ledgerSum: 0 });
    const [daily] = await t.dataSource.query(
      `SELECT sum(cost_micros)::int AS cost, sum(events)::int AS events FROM usage_daily WHERE tenant_id = $1`,
      [tenant.id],
    );
    expect(daily).toEqual({ cost: 16, events: 2 });
  });

  it('stores every field of an event exactly, whatever characters its text holds', async () => {
    const tenant = await newTenant(t);
    const member = await newUser(t, tenant, 'member');
    const awkward = 'a,b "quoted" \\ back{slash} NULL \'single\' é 🚀';
    const metadata = { note: awkward, nested: { list: [1, 'two', null], empty: '' } };
    const yesterday = new Date(Date.now() - 86_400_000);
    const id = 'id,"q"\\{x}NULL';
    const res = await postEvents(t, member, [
      {
        id,
        meter: 'requests',
        quantity: 3,
        costMicros: 0,
        model: awkward,
        provider: 'NULL',
        metadata,
        timestamp: yesterday.toISOString(),
      },
      { id: 'plain', meter: 'requests', quantity: 1 },
    ]);
    expect(res.json().results).toEqual([
      { id, result: 'accepted' },
      { id: 'plain', result: 'accepted' },
    ]);
    const rows = await t.dataSource.query(
      `SELECT event_id, user_id, meter, quantity::text, model, provider, metadata, occurred_at
         FROM usage_events WHERE tenant_id = $1 ORDER BY event_id`,
      [tenant.id],
    );
    expect(rows).toEqual([
      {
        event_id: id,
        user_id: member.id,
        meter: 'requests',
        quantity: '3',
        model: awkward,
        provider: 'NULL',
        metadata,
        occurred_at: yesterday,
      },
      {
        event_id: 'plain',
        user_id: member.id,
        meter: 'requests',
        quantity: '1',
        model: null,
        provider: null,
        metadata: null,
        occurred_at: expect.any(Date),
      },
    ]);
    const daily = await t.dataSource.query(
      `SELECT day::text, model, provider, quantity::text FROM usage_daily WHERE tenant_id = $1 ORDER BY quantity`,
      [tenant.id],
    );
    expect(daily).toEqual([
      { day: expect.any(String), model: '', provider: '', quantity: '1' },
      { day: yesterday.toISOString().slice(0, 10), model: awkward, provider: 'NULL', quantity: '3' },
    ]);
  });

  it('refuses bad input with 4xx problem details and writes nothing', async () => {
    const tenant = await newTenant(t);
    await subscribe(t, tenant, (await newPlan(t)).code);
    const member = await newUser(t, tenant, 'member');
    const count = async () =>
      (
        await t.dataSource.query(
          `SELECT (SELECT count(*) FROM usage_events WHERE tenant_id = $1)::int AS e,
                  (SELECT count(*) FROM reservations WHERE tenant_id = $1)::int AS r`,
          [tenant.id],
        )
      )[0];
    const before = await count();
    const events = [
      [{ id: 'a', meter: 'requests', quantity: -1 }],
      [{ id: 'a', meter: 'requests', quantity: 1.5 }],
      [{ id: 'a', meter: 'requests', quantity: 1e300 }],
      [{ id: 'a', meter: 'requests', quantity: '1' }],
      [{ id: '', meter: 'requests', quantity: 1 }],
      [{ id: 'a b', meter: 'requests', quantity: 1 }],
      [{ id: 'a', meter: 'requests', quantity: 1, costMicros: -5 }],
      [{ id: 'a', meter: 'requests', quantity: 1, extra: true }],
      [{ id: 'a', meter: 'requests', quantity: 1, metadata: { big: 'x'.repeat(5000) } }],
      [{ id: 'a', meter: 'requests', quantity: 1, metadata: [1, 2] }],
      [{ id: 'a', meter: 'requests', quantity: 1, userId: 'not-a-uuid' }],
      [{ id: 'a', meter: 'requests', quantity: 1, timestamp: 'yesterday' }],
      [{ id: 'a', meter: 'Requests!', quantity: 1 }],
      [null],
      ['a'],
      Array.from({ length: 1001 }, (_, i) => ({ id: `e${i}`, meter: 'requests', quantity: 1 })),
      [],
    ] as Record<string, unknown>[][];
    for (const batch of events) {
      const res = await postEvents(t, member, batch);
      expect({ status: res.statusCode, type: res.headers['content-type'], code: res.json().code }).toEqual({
        status: 400,
        type: expect.stringMatching(/^application\/problem\+json/),
        code: 'VALIDATION_FAILED',
      });
    }
    const wrongType = await postEvents(t, member, [{ id: 'a', meter: 'requests', quantity: '1', extra: 1 }]);
    expect(wrongType.json().errors).toEqual([
      { field: 'events.0.extra', messages: ['property extra should not exist'] },
      { field: 'events.0.quantity', messages: ['quantity must be integer'] },
    ]);
    const metadata = await postEvents(t, member, [
      { id: 'a', meter: 'requests', quantity: 1 },
      { id: 'b', meter: 'requests', quantity: 1, metadata: { big: 'x'.repeat(5000) } },
    ]);
    expect(metadata.json().errors).toEqual([
      { field: 'events.1.metadata', messages: ['metadata must be an object of at most 4096 bytes as JSON'] },
    ]);
    for (const payload of [{}, { events: {} }, { events: 'x' }, { events: [], more: 1 }, [1]]) {
      const res = await t.http({
        method: 'POST',
        url: '/api/v1/usage/events',
        headers: bearer(member.accessToken),
        payload,
      });
      expect([res.statusCode, res.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    for (const body of [
      { meter: 'requests', quantity: 0 },
      { meter: 'requests', quantity: -3 },
      { meter: 'requests', quantity: 1e20 },
      { meter: 'requests', quantity: 1, ttlSeconds: 3601 },
      { meter: 'requests', quantity: 1, estimatedCostMicros: -1 },
      { meter: 'requests', quantity: 1, userId: 'not-a-uuid' },
    ]) {
      expect((await reserve(t, member, body)).statusCode).toBe(400);
    }
    expect((await reserve(t, member, { meter: 'nope', quantity: 1 })).statusCode).toBe(422);
    expect(await count()).toEqual(before);
  });

  it('rate limits metered routes per caller and per tenant from the plan, with RateLimit headers and Retry-After', async () => {
    const tenant = await newTenant(t);
    const plan = await newPlan(t, { rateLimits: { requestsPerMinute: 2, tenantRequestsPerMinute: 3 } });
    await subscribe(t, tenant, plan.code);
    const a = await newUser(t, tenant, 'member');
    const b = await newUser(t, tenant, 'member');
    const first = await postEvents(t, a, [{ id: 'a1', meter: 'requests', quantity: 1 }]);
    expect(first.headers['ratelimit-policy']).toBe('"caller";q=2;w=60, "tenant";q=3;w=60');
    expect(first.headers['ratelimit']).toMatch(/^"caller";r=1;t=\d+, "tenant";r=2;t=\d+$/);
    expect((await reserve(t, a, { meter: 'requests', quantity: 1 })).statusCode).toBe(201);
    const limited = await postEvents(t, a, [{ id: 'a3', meter: 'requests', quantity: 1 }]);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED', scope: 'caller', limit: 2 });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // The tenant-wide limit (3) is reached by b's first call: a's refused one counted too.
    const tenantWide = await postEvents(t, b, [{ id: 'b1', meter: 'requests', quantity: 1 }]);
    expect(tenantWide.json()).toMatchObject({ code: 'RATE_LIMITED', scope: 'tenant' });
    const stored = await t.dataSource.query(`SELECT event_id FROM usage_events WHERE tenant_id = $1`, [tenant.id]);
    expect(stored).toEqual([{ event_id: 'a1' }]);
  });

  it('reports usage from aggregates: members see their own, admins the tenant, super admins the platform', async () => {
    const tenant = await newTenant(t);
    const plan = await newPlan(t, { charges: [{ meter: 'images', unitPriceMicros: 1000, includedQuantity: 2 }] });
    await subscribe(t, tenant, plan.code);
    const a = await newUser(t, tenant, 'member');
    const b = await newUser(t, tenant, 'member');
    await postEvents(t, a, [
      { id: 'a1', meter: 'images', quantity: 3, model: 'flash', provider: 'gemini', costMicros: 0 },
    ]);
    await postEvents(t, b, [{ id: 'b1', meter: 'images', quantity: 2, model: 'pro', provider: 'openai' }]);
    const get = (url: string, token: string) => t.http({ method: 'GET', url: `/api/v1${url}`, headers: bearer(token) });
    const own = await get('/usage/summary?groupBy=meter', a.accessToken);
    expect(own.json().rows).toEqual([{ key: 'images', quantity: 3, costMicros: 0, events: 1 }]);
    const all = await get('/usage/summary?groupBy=user', tenant.admin.accessToken);
    expect(all.json().rows.map((r: { key: string; quantity: number }) => [r.key, r.quantity])).toEqual([
      [a.id, 3],
      [b.id, 2],
    ]);
    const models = await get('/usage/summary?groupBy=model&meter=images', tenant.admin.accessToken);
    expect(models.json().rows.map((r: { key: string }) => r.key)).toEqual(['flash', 'pro']);
    expect((await get('/usage/leaderboard?meter=images', a.accessToken)).statusCode).toBe(403);
    const board = await get('/usage/leaderboard?meter=images&limit=1', tenant.admin.accessToken);
    expect(board.json().rows).toEqual([{ key: a.id, quantity: 3, costMicros: 0, events: 1 }]);
    const bad = await get('/usage/summary?from=2026-02-30', tenant.admin.accessToken);
    expect(bad.statusCode).toBe(400);
    const statement = await get(`/tenants/${tenant.id}/statements`, tenant.admin.accessToken);
    expect(statement.json()).toMatchObject({
      planCode: plan.code,
      lines: [
        {
          meter: 'images',
          quantity: 5,
          includedQuantity: 2,
          billableQuantity: 3,
          unitPriceMicros: 1000,
          amountMicros: 3000,
        },
      ],
      totalMicros: 3000,
    });
    const statistics = await get(`/tenants/${tenant.id}/statistics`, tenant.admin.accessToken);
    expect(statistics.json().usage).toEqual({
      plan: plan.code,
      periodStart: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T00:00:00Z$/),
      periodEnd: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T00:00:00Z$/),
      events: 2,
      costMicros: 0,
      meters: [{ meter: 'images', quantity: 5, costMicros: 0 }],
      creditsAvailableMicros: 0,
    });
    const root = await superAdmin(t);
    const platform = await get('/admin/usage/summary?groupBy=tenant&meter=images', root.accessToken);
    expect(platform.json().rows).toEqual(
      expect.arrayContaining([{ key: tenant.id, quantity: 5, costMicros: 0, events: 2 }]),
    );
    expect((await get('/admin/usage/summary', tenant.admin.accessToken)).statusCode).toBe(403);
  });
});
