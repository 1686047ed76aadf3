import { describe, expect, it } from '@jest/globals';
import { billingPeriodOf, isoSeconds, windowOf } from './windows.js';

const at = (iso: string) => new Date(iso);
const span = (w: { start: Date; end: Date }) => [isoSeconds(w.start), isoSeconds(w.end)];

describe('quota windows', () => {
  it('days start at 00:00 UTC', () => {
    expect(span(windowOf('day', at('2026-11-22T23:59:59.999Z')))).toEqual([
      '2026-11-22T00:00:00Z',
      '2026-11-23T00:00:00Z',
    ]);
    expect(span(windowOf('day', at('2026-11-23T00:00:00.000Z')))).toEqual([
      '2026-11-23T00:00:00Z',
      '2026-11-24T00:00:00Z',
    ]);
  });

  it('weeks start on Monday 00:00 UTC', () => {
    // 2026-11-22 is a Sunday, 2026-11-23 a Monday.
    expect(span(windowOf('week', at('2026-11-22T12:00:00Z')))).toEqual([
      '2026-11-16T00:00:00Z',
      '2026-11-23T00:00:00Z',
    ]);
    expect(span(windowOf('week', at('2026-11-23T00:00:00Z')))).toEqual([
      '2026-11-23T00:00:00Z',
      '2026-11-30T00:00:00Z',
    ]);
    expect(span(windowOf('week', at('2027-01-01T08:00:00Z')))).toEqual([
      '2026-12-28T00:00:00Z',
      '2027-01-04T00:00:00Z',
    ]);
  });

  it('months start on the 1st 00:00 UTC, across years', () => {
    expect(span(windowOf('month', at('2026-12-31T23:00:00Z')))).toEqual([
      '2026-12-01T00:00:00Z',
      '2027-01-01T00:00:00Z',
    ]);
    expect(span(windowOf('month', at('2027-02-10T00:00:00Z')))).toEqual([
      '2027-02-01T00:00:00Z',
      '2027-03-01T00:00:00Z',
    ]);
  });

  it('billing periods start on the anchor day', () => {
    expect(span(windowOf('billing_period', at('2026-11-14T10:00:00Z'), { day: 15 }))).toEqual([
      '2026-10-15T00:00:00Z',
      '2026-11-15T00:00:00Z',
    ]);
    expect(span(windowOf('billing_period', at('2026-11-15T00:00:00Z'), { day: 15 }))).toEqual([
      '2026-11-15T00:00:00Z',
      '2026-12-15T00:00:00Z',
    ]);
    expect(span(windowOf('billing_period', at('2027-01-03T00:00:00Z'), { day: 28 }))).toEqual([
      '2026-12-28T00:00:00Z',
      '2027-01-28T00:00:00Z',
    ]);
    // Yearly: twelve months from the anchor day of the anchor month (here 10 June).
    expect(span(billingPeriodOf(at('2027-03-01T00:00:00Z'), { day: 10, month: 5, months: 12 }))).toEqual([
      '2026-06-10T00:00:00Z',
      '2027-06-10T00:00:00Z',
    ]);
    expect(span(billingPeriodOf(at('2027-06-10T00:00:00Z'), { day: 10, month: 5, months: 12 }))).toEqual([
      '2027-06-10T00:00:00Z',
      '2028-06-10T00:00:00Z',
    ]);
  });
});
