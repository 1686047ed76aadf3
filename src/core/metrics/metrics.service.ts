import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

type Observer = { observe(value: number): void };

/** Route labels are route patterns (bounded), but a flood of unmatched paths is one label, so this stays small. */
const MAX_SERIES = 10_000;

/** Prometheus metrics of this instance: process defaults plus HTTP request durations. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly requestDuration = new Histogram({
    name: 'atrium_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

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

  /** The histogram's child per label set, so a request does not hash its labels again. */
  private readonly series = new Map<string, Observer>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observeRequest(method: string, route: string, status: number, durationMs: number): void {
    const key = `${method} ${status} ${route}`;
    let series = this.series.get(key);
    if (!series) {
      series = this.requestDuration.labels(method, route, String(status));
      if (this.series.size < MAX_SERIES) this.series.set(key, series);
    }
    series.observe(durationMs / 1000);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
