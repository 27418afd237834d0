import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A reading: one value, or values by label set. */
export type Reading = number | Array<{ labels: Record<string, string>; value: number }>;

const GAUGES_NAMED_LIKE_COUNTERS = ['spore_nodejs_active_handles_total', 'spore_nodejs_active_requests_total', 'spore_nodejs_active_resources_total'];

/**
 * The gateway's Prometheus metrics (issue 7). Services keep their own
 * counters (they need them for health and stats anyway); metrics read them at
 * scrape time, so the hot paths pay nothing for being measured.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'spore_' });
    // prom-client also exposes these totals as gauges named like counters, which
    // `promtool check metrics` flags (issue 19). The same figures are the sums of
    // the per-type gauges it keeps (`spore_nodejs_active_handles{type}` etc.).
    for (const name of GAUGES_NAMED_LIKE_COUNTERS) this.registry.removeSingleMetric(name);
    this.httpDuration = new Histogram({
      name: 'spore_http_request_duration_seconds',
      help: 'HTTP request durations by route pattern',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
  }

  /** A gauge whose value is read from a service at scrape time. */
  gauge(name: string, help: string, read: () => Reading, labelNames: string[] = []): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        apply(this, read(), (metric, labels, value) => (labels ? metric.set(labels, value) : metric.set(value)));
      },
    });
  }

  /** A counter kept by a service (monotonic), exposed as a Prometheus counter. */
  counter(name: string, help: string, read: () => Reading, labelNames: string[] = []): void {
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        apply(this, read(), (metric, labels, value) => (labels ? metric.inc(labels, value) : metric.inc(value)));
      },
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

function apply<M extends { reset(): void }>(metric: M, reading: Reading, put: (metric: M, labels: Record<string, string> | null, value: number) => void): void {
  if (typeof reading === 'number') {
    put(metric, null, reading);
    return;
  }
  metric.reset();
  for (const { labels, value } of reading) put(metric, labels, value);
}
