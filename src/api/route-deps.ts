import type { ApiKeyAuth } from '../auth/api-keys.js';
import type { ClusterManager } from '../cluster/cluster-manager.js';
import type { NodeAccess } from '../cluster/node-access.js';
import type { NodeRegistry } from '../cluster/node-registry.js';
import type { UdpDiscovery } from '../cluster/udp-discovery.js';
import type { GatewayConfig } from '../config/schema.js';
import type { GatewayEventBus } from '../events/gateway-events.js';
import type { OtaService } from '../firmware/ota-service.js';
import type { HealthService } from '../health.js';
import type { Logger } from '../logger.js';
import type { NodeClient } from '../node-client/node-client.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { FirmwareStore } from '../firmware/firmware-store.js';
import type { RolloutService } from '../firmware/rollout-service.js';
import type { MqttService } from '../mqtt/mqtt-service.js';
import type { JsonRpcServer } from './rpc/json-rpc.js';
import type { PipelineService } from '../pipeline/pipeline-service.js';
import type { WsHub } from './ws-hub.js';
import type { AlertEngine } from '../alerts/alert-engine.js';
import type { WebhookStats } from '../alerts/webhook-notifier.js';
import type { BackupService } from '../backup/backup-service.js';
import type { ConfigEditor } from '../config/config-editor.js';
import type { HistoryService } from '../history/history-service.js';
import type { LogBuffer } from '../logs/log-buffer.js';

/**
 * What the HTTP adapters may use: services only, never sockets or timers. Each route file
 * takes the narrow `Pick<RouteDeps, ...>` it needs, so its dependencies read at its head.
 */
export interface RouteDeps {
  /** The configuration at start; settings that can change at run time are read through currentConfig(). */
  config: GatewayConfig;
  currentConfig: () => GatewayConfig;
  auth: ApiKeyAuth;
  /** Filled with every registered route (auth tests, the OpenAPI check). */
  routeTable?: Array<{ method: string; url: string }>;
  logger: Logger;
  bus: GatewayEventBus;
  registry: NodeRegistry;
  cluster: ClusterManager;
  discovery: UdpDiscovery;
  access: NodeAccess;
  client: NodeClient;
  ota: OtaService;
  health: HealthService;
  wsHub: WsHub;
  rpc: JsonRpcServer;
  metrics: GatewayMetrics;
  pipeline: PipelineService;
  mqtt: MqttService;
  firmware: FirmwareStore;
  rollouts: RolloutService;
  /** Issue 15: configuration editing, the add-connector test, alerts, history, backups, logs. */
  configEditor: ConfigEditor;
  testConnector: (config: unknown) => Promise<unknown>;
  /** The M-Bus scan of the add-connector flow (src/pipeline/mbus/mbus-survey.ts). */
  scanBus: (body: unknown) => Promise<unknown>;
  alerts: AlertEngine;
  webhookStats: () => WebhookStats | null;
  history: HistoryService;
  backup: BackupService;
  logs: LogBuffer;
}
