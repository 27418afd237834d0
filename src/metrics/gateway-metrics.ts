import type * as PromClient from 'prom-client';

/** A reading: one value, or values by label set. */
export type Reading = number | Array<{ labels: Record<string, string>; value: number }>;

type HttpLabels = Record<'method' | 'route' | 'status', string>;

const GAUGES_NAMED_LIKE_COUNTERS = ['spore_nodejs_active_handles_total', 'spore_nodejs_active_requests_total', 'spore_nodejs_active_resources_total'];

/**
 * Request durations kept until prom-client is loaded (the first scrape); at this many it is
 * loaded anyway, so an unscraped gateway keeps at most this many (seconds, labels) pairs.
 */
const MAX_PENDING_OBSERVATIONS = 1000;

interface Loaded {
  prom: typeof PromClient;
  registry: PromClient.Registry;
  httpDuration: PromClient.Histogram<keyof HttpLabels>;
}

/**
 * The gateway's Prometheus metrics (issue 7). Services keep their own
 * counters (they need them for health and stats anyway); metrics read them at
 * scrape time, so the hot paths pay nothing for being measured.
 *
 * prom-client (with @opentelemetry/api, ~2 MiB of heap) is imported at the first scrape, not at
 * start-up (issue 16 §3): until then the gauges and counters are only their definitions, and
 * request durations wait in a short list. The default process metrics (GC, event-loop lag)
 * are therefore collected from the first scrape on.
 */
export class GatewayMetrics {
  private readonly definitions: Array<(prom: typeof PromClient, registry: PromClient.Registry) => void> = [];
  private loading: Promise<Loaded> | undefined;
  private loaded: Loaded | undefined;
  private pending: Array<[HttpLabels, number]> = [];

  /** One HTTP request's duration, s, by route pattern (api/routes/metrics-routes.ts). */
  observeHttpRequest(labels: HttpLabels, seconds: number): void {
    if (this.loaded) {
      this.loaded.httpDuration.observe(labels, seconds);
      return;
    }
    this.pending.push([labels, seconds]);
    if (this.pending.length >= MAX_PENDING_OBSERVATIONS) void this.load();
  }

  /** A gauge whose value is read from a service at scrape time. */
  gauge(name: string, help: string, read: () => Reading, labelNames: string[] = []): void {
    this.define((prom, registry) => {
      new prom.Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          apply(this, read(), (metric, labels, value) => (labels ? metric.set(labels, value) : metric.set(value)));
        },
      });
    });
  }

  /** A counter kept by a service (monotonic), exposed as a Prometheus counter. */
  counter(name: string, help: string, read: () => Reading, labelNames: string[] = []): void {
    this.define((prom, registry) => {
      new prom.Counter({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          apply(this, read(), (metric, labels, value) => (labels ? metric.inc(labels, value) : metric.inc(value)));
        },
      });
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    const { registry } = await this.load();
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  private define(create: (prom: typeof PromClient, registry: PromClient.Registry) => void): void {
    this.definitions.push(create);
    // Defined after the first scrape: registered at once (prom-client is loaded).
    if (this.loaded) create(this.loaded.prom, this.loaded.registry);
  }

  private load(): Promise<Loaded> {
    this.loading ??= import('prom-client').then((prom) => {
      const registry = new prom.Registry();
      prom.collectDefaultMetrics({ register: registry, prefix: 'spore_' });
      // prom-client also exposes these totals as gauges named like counters, which
      // `promtool check metrics` flags (issue 19). The same figures are the sums of
      // the per-type gauges it keeps (`spore_nodejs_active_handles{type}` etc.).
      for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(name);
      const httpDuration = new prom.Histogram({
        name: 'spore_http_request_duration_seconds',
        help: 'HTTP request durations by route pattern',
        labelNames: ['method', 'route', 'status'],
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      });
      for (const create of this.definitions) create(prom, registry);
      for (const [labels, seconds] of this.pending) httpDuration.observe(labels, seconds);
      this.pending = [];
      this.loaded = { prom, registry, httpDuration };
      return this.loaded;
    });
    return this.loading;
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
