import { expect } from '@jest/globals';
import { type Account, bearer, superAdmin, type TenantFixture, unique } from './factories.js';
import type { TestApp } from './test-app.js';

export interface PlanSpec {
  billingMode?: 'prepaid' | 'postpaid';
  includedCreditsMicros?: number;
  rateLimits?: { requestsPerMinute?: number; tenantRequestsPerMinute?: number };
  quotas?: { meter: string; limit: number; period: string; scope: string }[];
  charges?: { meter: string; unitPriceMicros: number; includedQuantity: number }[];
  priceMicros?: number;
  interval?: 'month' | 'year';
  /** The routing tier the gateway uses (default `test`). */
  tier?: string;
}

/** A plan of the test's own (no rate limits or included credits unless asked), created by the super admin. */
export async function newPlan(t: TestApp, spec: PlanSpec = {}): Promise<{ id: string; code: string }> {
  const root = await superAdmin(t);
  const code = `plan-${unique()}`;
  const res = await t.http({
    method: 'POST',
    url: '/api/v1/plans',
    headers: bearer(root.accessToken),
    payload: { code, name: code, tier: 'test', billingMode: 'prepaid', includedCreditsMicros: 0, ...spec },
  });
  expect(res.statusCode).toBe(201);
  return { id: res.json().id, code };
}

export async function subscribe(t: TestApp, tenant: TenantFixture, planCode: string, anchorDay?: number) {
  const root = await superAdmin(t);
  const res = await t.http({
    method: 'PUT',
    url: `/api/v1/tenants/${tenant.id}/subscription`,
    headers: bearer(root.accessToken),
    payload: { planCode, ...(anchorDay && { anchorDay }) },
  });
  expect(res.statusCode).toBe(200);
  return res.json();
}

export async function grant(t: TestApp, tenant: TenantFixture, amountMicros: number, key = `grant-${unique()}`) {
  const root = await superAdmin(t);
  const res = await t.http({
    method: 'POST',
    url: `/api/v1/tenants/${tenant.id}/credits/grants`,
    headers: bearer(root.accessToken),
    payload: { amountMicros, reason: 'test credits', idempotencyKey: key },
  });
  expect(res.statusCode).toBe(200);
  return res.json();
}

export function reserve(t: TestApp, caller: Account | string, body: Record<string, unknown>) {
  return t.http({
    method: 'POST',
    url: '/api/v1/usage/reservations',
    headers: bearer(typeof caller === 'string' ? caller : caller.accessToken),
    payload: { idempotencyKey: `r-${unique()}-${unique()}`, ...body },
  });
}

export function postEvents(t: TestApp, caller: Account | string, events: Record<string, unknown>[]) {
  return t.http({
    method: 'POST',
    url: '/api/v1/usage/events',
    headers: bearer(typeof caller === 'string' ? caller : caller.accessToken),
    payload: { events },
  });
}

export async function wallet(t: TestApp, tenantId: string) {
  const [row] = await t.dataSource.query(`SELECT * FROM wallets WHERE tenant_id = $1`, [tenantId]);
  const [{ sum }] = await t.dataSource.query(
    `SELECT coalesce(sum(amount_micros), 0)::bigint AS sum FROM ledger_entries WHERE tenant_id = $1`,
    [tenantId],
  );
  return {
    balance: Number(row.balance_micros),
    reserved: Number(row.reserved_micros),
    shortfall: Number(row.shortfall_micros),
    ledgerSum: Number(sum),
  };
}

export async function counters(t: TestApp, tenantId: string, meter: string) {
  const rows: { subject_id: string; used: string; reserved: string; period: string }[] = await t.dataSource.query(
    `SELECT subject_id, period, used, reserved FROM quota_counters WHERE tenant_id = $1 AND meter = $2`,
    [tenantId, meter],
  );
  return rows.map((r) => ({
    subjectId: r.subject_id,
    period: r.period,
    used: Number(r.used),
    reserved: Number(r.reserved),
  }));
}
