/** The route label shared by the label sets past the limit. */
const OTHER = '(other)';

/** One line of the exposition, as prom-client's registry reads it. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** The counts of one label set: per bucket (not cumulative), then their sum and count. */
interface Series {
  labels: Record<string, string>;
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram of request durations by method, route and status,
 * registered in a prom-client registry as a collector. prom-client's own
 * Histogram hashes the label set and validates it on every observation; here
 * the caller keeps the series it got once per label set, so observing is a
 * bucket search and three additions. The exposition (names, `le` labels,
 * cumulative buckets, sum and count) is prom-client's histogram format.
 */
export class RequestHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    /** Beyond this many label sets, new ones share the `(other)` route of their method and status
     * (a few more label sets at most: one per method and status). */
    private readonly maxSeries: number,
  ) {}

  /** The series of one label set, created on first use. */
  seriesOf(method: string, route: string, status: number): Series {
    const key = `${method} ${status} ${route}`;
    let series = this.series.get(key);
    if (!series) {
      if (this.series.size >= this.maxSeries && route !== OTHER) return this.seriesOf(method, OTHER, status);
      series = {
        labels: { method, route, status: String(status) },
        buckets: new Float64Array(this.bounds.length + 1),
        sum: 0,
        count: 0,
      };
      this.series.set(key, series);
    }
    return series;
  }

  observe(series: Series, seconds: number): void {
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]) i++;
    series.buckets[i]++;
    series.sum += seconds;
    series.count++;
  }

  /** What prom-client's registry formats: the cumulative buckets, sum and count of every series. */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const { labels, buckets, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += buckets[i];
        values.push({ labels: { le: bound, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...labels }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.series.clear();
  }
}
