import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, type Metric, Registry } from 'prom-client';
import { RequestHistogram } from './request-histogram.js';

/** Route labels are route patterns (bounded), but a flood of unmatched paths is one label, so this stays small. */
const MAX_SERIES = 10_000;

/** Prometheus metrics of this instance: process defaults plus HTTP request durations. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly requestDuration = new RequestHistogram(
    'atrium_http_request_duration_seconds',
    'HTTP request duration by method, route and status',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    MAX_SERIES,
  );

  /** Metering, by meter and outcome only: tenant ids never become labels (unbounded, and not for scrapers). */
  readonly usageEvents = new Counter({
    name: 'atrium_usage_events_total',
    help: 'Usage recorded, by meter and result (accepted, duplicate, rejected)',
    labelNames: ['meter', 'result'] as const,
    registers: [this.registry],
  });
  readonly quotaRejections = new Counter({
    name: 'atrium_quota_rejections_total',
    help: 'Uses refused because a quota was exhausted, by meter and period',
    labelNames: ['meter', 'period'] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'atrium_rate_limited_total',
    help: 'Requests refused by a rate limit, by scope (caller or tenant)',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  readonly creditsDebited = new Counter({
    name: 'atrium_credits_debited_micros_total',
    help: 'Credits taken from wallets, in micros',
    registers: [this.registry],
  });

  constructor() {
    // A collector in prom-client's histogram format (its typings name only its own metric classes).
    this.registry.registerMetric(this.requestDuration as unknown as Metric);
    collectDefaultMetrics({ register: this.registry });
  }

  observeRequest(method: string, route: string, status: number, durationMs: number): void {
    this.requestDuration.observe(this.requestDuration.seriesOf(method, route, status), durationMs / 1000);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
