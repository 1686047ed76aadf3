import type { Period } from './entities/plan.entity.js';

export interface Window {
  start: Date;
  end: Date;
}

const DAY_MS = 86_400_000;

function utcMidnight(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}

function addMonths(at: Date, months: number): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + months, at.getUTCDate()));
}

/** When billing periods start: a day of the month (1..28), and for yearly plans a month (0..11) too. */
export interface Anchor {
  day: number;
  month?: number;
  /** 12 for yearly plans, 1 otherwise. */
  months?: number;
}

/** The billing period containing `at`: monthly from the anchor day, or yearly from the anchor day and month. */
export function billingPeriodOf(at: Date, anchor: Anchor): Window {
  const months = anchor.months ?? 1;
  const month = months === 12 ? (anchor.month ?? 0) : at.getUTCMonth();
  let start = new Date(Date.UTC(at.getUTCFullYear(), month, anchor.day));
  if (start > at) start = addMonths(start, -months);
  return { start, end: addMonths(start, months) };
}

/**
 * The quota window of `period` containing `at`. Windows are computed, never
 * stored as jobs: day = 00:00 UTC, week = Monday 00:00 UTC, month = the 1st
 * 00:00 UTC, billing_period = the subscription's anchor day.
 */
export function windowOf(period: Period, at: Date, anchor: Anchor = { day: 1 }): Window {
  switch (period) {
    case 'day': {
      const start = utcMidnight(at);
      return { start, end: new Date(start.getTime() + DAY_MS) };
    }
    case 'week': {
      const midnight = utcMidnight(at);
      const sinceMonday = (midnight.getUTCDay() + 6) % 7;
      const start = new Date(midnight.getTime() - sinceMonday * DAY_MS);
      return { start, end: new Date(start.getTime() + 7 * DAY_MS) };
    }
    case 'month': {
      const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
      return { start, end: addMonths(start, 1) };
    }
    case 'billing_period':
      return billingPeriodOf(at, anchor);
    default: {
      const unknown: never = period;
      throw new Error(`Unknown period ${String(unknown)}`);
    }
  }
}

/** `2026-11-23T00:00:00Z`: seconds precision, as quota messages and headers show it. */
export function isoSeconds(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
