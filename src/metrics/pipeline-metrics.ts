import type { GatewayMetrics } from './gateway-metrics.js';
import type { PipelineService } from '../pipeline/pipeline-service.js';

/**
 * Prometheus metrics of the pipeline, read from `PipelineService.stats()` at scrape time
 * (the same figures as GET /api/pipeline/stats): per connector and per sink.
 */
export function registerPipelineMetrics(metrics: GatewayMetrics, pipeline: PipelineService): void {
  if (!pipeline.enabled) return;
  const connectors = () => pipeline.stats().connectors;
  const sinks = () => pipeline.stats().sinks;
  const byConnector = (pick: (c: ReturnType<typeof connectors>[number]) => number) => () =>
    connectors().map((c) => ({ labels: { connector: c.id, type: c.type }, value: pick(c) }));
  const bySink = (pick: (s: ReturnType<typeof sinks>[number]) => number) => () => sinks().map((s) => ({ labels: { sink: s.id, type: s.type }, value: pick(s) }));
  const cl = ['connector', 'type'];
  const sl = ['sink', 'type'];
  metrics.gauge('spore_pipeline_connector_up', 'Pipeline connector connected (1) or not (0)', byConnector((c) => (c.state === 'connected' ? 1 : 0)), cl);
  metrics.counter('spore_pipeline_connector_polls_total', 'Polls done (pollers) or messages handled (listeners)', byConnector((c) => c.polls), cl);
  metrics.counter('spore_pipeline_connector_errors_total', 'Connector errors', byConnector((c) => c.errors), cl);
  metrics.counter('spore_pipeline_connector_reconnects_total', 'Connections re-established after a failure', byConnector((c) => c.reconnects), cl);
  metrics.gauge('spore_pipeline_sink_queued', 'Records in the sink\'s durable buffer', bySink((s) => s.queued), sl);
  metrics.counter('spore_pipeline_sink_sent_total', 'Records delivered (PUBACK for mqtt sinks)', bySink((s) => s.sent), sl);
  metrics.counter('spore_pipeline_sink_dropped_total', 'Records dropped by a buffer bound or a failed write', bySink((s) => s.dropped), sl);
  metrics.gauge('spore_pipeline_sink_oldest_queued_age_seconds', 'Age of the oldest queued record', bySink((s) => s.oldestQueuedAgeMs / 1000), sl);
}
