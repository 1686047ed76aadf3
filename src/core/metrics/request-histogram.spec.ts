import { describe, expect, it } from '@jest/globals';
import { Histogram, type Metric, Registry } from 'prom-client';
import { RequestHistogram } from './request-histogram.js';

const BOUNDS = [0.001, 0.01, 0.1, 1];
const OBSERVATIONS: [string, string, number, number][] = [
  ['GET', '/health/live', 200, 0.0004],
  ['GET', '/health/live', 200, 0.001],
  ['GET', '/health/live', 200, 0.05],
  ['GET', '/health/live', 200, 3],
  ['POST', '/api/v1/auth/login', 401, 0.02],
];

describe('RequestHistogram', () => {
  it("writes exactly what prom-client's own Histogram writes for the same observations", async () => {
    const ours = new Registry();
    const histogram = new RequestHistogram('http_seconds', 'Request durations', BOUNDS, 100);
    ours.registerMetric(histogram as unknown as Metric);
    const theirs = new Registry();
    const reference = new Histogram({
      name: 'http_seconds',
      help: 'Request durations',
      labelNames: ['method', 'route', 'status'],
      buckets: BOUNDS,
      registers: [theirs],
    });
    for (const [method, route, status, seconds] of OBSERVATIONS) {
      histogram.observe(histogram.seriesOf(method, route, status), seconds);
      reference.observe({ method, route, status: String(status) }, seconds);
    }

    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('http_seconds_bucket{le="0.001",method="GET",route="/health/live",status="200"} 2');
    expect(text).toContain('http_seconds_bucket{le="+Inf",method="GET",route="/health/live",status="200"} 4');
    expect(text).toContain('http_seconds_count{method="POST",route="/api/v1/auth/login",status="401"} 1');
  });

  it('keeps the number of label sets bounded: past the limit, new routes share one', async () => {
    const histogram = new RequestHistogram('http_seconds', 'Request durations', BOUNDS, 2);
    for (const route of ['/a', '/b', '/c', '/d']) histogram.observe(histogram.seriesOf('GET', route, 404), 0.002);

    const { values } = await histogram.get();
    const counts = values.filter((v) => v.metricName === 'http_seconds_count');
    expect(counts.map((v) => [v.labels.route, v.value])).toEqual([
      ['/a', 1],
      ['/b', 1],
      ['(other)', 2],
    ]);
    histogram.reset();
    expect((await histogram.get()).values).toEqual([]);
  });
});
