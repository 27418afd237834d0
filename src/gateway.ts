import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { recheckWsClient } from './api/access-control.js';
import { buildHttpServer } from './api/http-server.js';
import { bridgeMqttToWebSocket } from './api/mqtt-ws.js';
import { registerCoreRpcMethods } from './api/rpc/core-methods.js';
import { registerFirmwareRpcMethods } from './api/rpc/firmware-methods.js';
import { JsonRpcServer } from './api/rpc/json-rpc.js';
import { registerPipelineRpcMethods } from './api/rpc/pipeline-methods.js';
import { bridgeEventsToWebSocket } from './api/ws-bridge.js';
import { WsHub } from './api/ws-hub.js';
import { bridgeRpcToWebSocket } from './api/ws-rpc.js';
import { ApiKeyAuth } from './auth/api-keys.js';
import { originAllowed } from './auth/origin-policy.js';
import { registerCoreMetrics } from './metrics/core-metrics.js';
import { registerMqttMetrics } from './metrics/mqtt-metrics.js';
import { registerPipelineMetrics } from './metrics/pipeline-metrics.js';
import { registerRolloutMetrics } from './metrics/rollout-metrics.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { ClusterManager } from './cluster/cluster-manager.js';
import { NodeAccess } from './cluster/node-access.js';
import { LoopStallMeter } from './cluster/loop-stall.js';
import { NodeRegistry } from './cluster/node-registry.js';
import { NodeStore, nodeStorePath } from './cluster/node-store.js';
import { UdpDiscovery } from './cluster/udp-discovery.js';
import type { ConfigManager } from './config/config-manager.js';
import type { GatewayConfig } from './config/schema.js';
import { EventBus } from './events/event-bus.js';
import type { GatewayEventBus, GatewayEvents } from './events/gateway-events.js';
import { FirmwareStore } from './firmware/firmware-store.js';
import { OtaService } from './firmware/ota-service.js';
import { RolloutService } from './firmware/rollout-service.js';
import { FirmwareSigning } from './firmware/firmware-signing.js';
import type { Clock } from './util/clock.js';
import { HealthService } from './health.js';
import type { DestinationStream } from 'pino';
import { createLogger, type Logger } from './logger.js';
import { listenUrls } from './util/listen-urls.js';
import { prepareDataDir } from './store/data-dir.js';
import { MqttService } from './mqtt/mqtt-service.js';
import { NodeClient } from './node-client/node-client.js';
import { PipelineService } from './pipeline/pipeline-service.js';
import { AlertEngine, type AlertEvent } from './alerts/alert-engine.js';
import { WebhookNotifier } from './alerts/webhook-notifier.js';
import { BackupService } from './backup/backup-service.js';
import { ConfigEditor } from './config/config-editor.js';
import { registerConfigRpcMethods } from './api/rpc/config-methods.js';
import { HistoryService } from './history/history-service.js';
import { LogBuffer } from './logs/log-buffer.js';

export interface GatewayOptions {
  logger?: Logger;
  /** Where the gateway's own logger writes (default JSON lines on stdout); e.g. prettyDestination() (issue 12 §16). */
  logDestination?: DestinationStream;
  /** What rollout schedules and windows take as now (tests inject one); default the system clock. */
  clock?: Clock;
  /** Keeps the configuration current (remote pulls, reloads); without one the configuration is fixed. */
  configManager?: ConfigManager | null;
  /**
   * Keeps the newest log lines for the log view (issue 15 §7). The gateway's own logger
   * writes to one it creates; a caller passing `logger` passes the buffer that logger tees to.
   */
  logBuffer?: LogBuffer;
}

/** The package version, for backups and `gateway.status`. */
function packageVersion(): string {
  // src/gateway.ts from source, dist/src/gateway.js once built.
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'spore-gateway') return pkg.version;
    } catch {
      // try the next
    }
  }
  return 'unknown';
}

/** What a configuration change did: sections applied at once, and sections that wait for a restart. */
export interface ConfigChangeResult {
  applied: string[];
  needRestart: string[];
}

/** A configuration section that can change while the gateway runs, and how it is applied. */
interface HotSection {
  section: keyof GatewayConfig;
  apply: (next: GatewayConfig) => Promise<void> | void;
}

/**
 * The one place that wires the gateway: builds every service from the
 * configuration, starts them in dependency order and stops them in reverse.
 */
export class Gateway {
  readonly logger: Logger;
  readonly bus: GatewayEventBus;
  readonly registry: NodeRegistry;
  /** How long the event loop was blocked: the registry does not count it as nodes' silence. */
  private readonly loopStall = new LoopStallMeter();
  readonly nodeStore: NodeStore;
  readonly client: NodeClient;
  readonly discovery: UdpDiscovery;
  readonly cluster: ClusterManager;
  readonly access: NodeAccess;
  readonly ota: OtaService;
  readonly firmware: FirmwareStore;
  readonly signing: FirmwareSigning;
  readonly rollouts: RolloutService;
  readonly health: HealthService;
  readonly wsHub: WsHub;
  readonly mqtt: MqttService;
  readonly auth: ApiKeyAuth;
  readonly rpc: JsonRpcServer;
  readonly metrics: GatewayMetrics;
  /** Every HTTP route, as registered. */
  readonly routes: Array<{ method: string; url: string }> = [];
  private current: GatewayConfig;
  private readonly configManager: ConfigManager | null;
  private readonly hotSections: HotSection[];
  readonly pipeline: PipelineService;
  readonly logs: LogBuffer;
  readonly history: HistoryService;
  readonly alerts: AlertEngine;
  readonly configEditor: ConfigEditor;
  readonly backup: BackupService;
  private webhook: WebhookNotifier | undefined;
  private http: FastifyInstance | undefined;
  private httpListening = false;
  private readonly teardown: Array<() => void> = [];

  constructor(config: GatewayConfig, options: GatewayOptions = {}) {
    this.current = config;
    this.configManager = options.configManager ?? null;
    this.logs = options.logBuffer ?? new LogBuffer(config.log.bufferLines);
    const logger = options.logger ?? createLogger(config.log.level, options.logDestination, this.logs);
    this.logger = logger;
    this.bus = new EventBus<GatewayEvents>(logger);
    const registryLogger = logger.child({ component: 'registry' });
    // The registry survives restarts (issue 12 §15): changed nodes are written in batches.
    this.nodeStore = new NodeStore(nodeStorePath(config.dataDir), { flushIntervalMs: config.nodes.persistIntervalMs, maxRows: config.nodes.maxNodes }, registryLogger);
    this.registry = new NodeRegistry(this.bus, config.nodes, registryLogger, Date.now, this.nodeStore, () => this.loopStall.blockedMs());
    this.client = new NodeClient({ port: config.nodes.port, timeoutMs: config.nodes.requestTimeoutMs });
    this.discovery = new UdpDiscovery({ ...config.udp, probeIntervalMs: config.nodes.discoveryIntervalMs, allowedNetworks: config.nodes.allowedNetworks }, this.registry, this.bus, logger.child({ component: 'udp' }));
    this.cluster = new ClusterManager(this.registry, this.client, this.bus, config.nodes, logger.child({ component: 'cluster' }));
    this.access = new NodeAccess(this.registry, this.client);
    this.ota = new OtaService(this.access, this.registry, this.client, this.bus, logger.child({ component: 'ota' }), {
      // A node whose upload makes no progress this long fails (issue 17 §4; uploadIdleTimeoutMs is the older name).
      uploadIdleTimeoutMs: config.firmware.uploadIdleTimeoutMs ?? config.firmware.stallTimeoutMs,
      uploadTimeoutMs: config.firmware.uploadTimeoutMs,
      bootTimeoutMs: config.firmware.bootTimeoutMs,
      verifyPollIntervalMs: config.firmware.verifyPollIntervalMs,
      statusTimeoutMs: Math.min(config.nodes.requestTimeoutMs, 2000),
    });
    this.signing = new FirmwareSigning(config.firmware.signing);
    this.firmware = new FirmwareStore(config.dataDir, logger.child({ component: 'firmware' }), this.signing);
    this.rollouts = new RolloutService({
      store: this.firmware,
      registry: this.registry,
      cluster: this.cluster,
      ota: this.ota,
      client: this.client,
      bus: this.bus,
      logger: logger.child({ component: 'rollout' }),
      defaults: config.firmware.rolloutDefaults,
      signing: this.signing,
      clock: options.clock,
    });
    this.health = new HealthService();
    this.wsHub = new WsHub(config.websocket, logger.child({ component: 'ws' }));
    this.auth = new ApiKeyAuth(config.auth);
    this.mqtt = new MqttService({
      mqtt: config.mqtt,
      gatewayId: config.gateway.id,
      registry: this.registry,
      cluster: this.cluster,
      access: this.access,
      bus: this.bus,
      logger,
      apiKeys: this.auth,
      // The HTTP allow-list; the gateway's own origin is its HTTP port on the host the browser used.
      originAllowed: (origin, host) => {
        const allowed = (h: string | undefined): boolean => originAllowed(origin, h, this.current.http.corsOrigins, this.auth.enabled);
        return allowed(host) || (host !== undefined && allowed(`${host.replace(/:\d+$/, '')}:${this.current.http.port}`));
      },
    });
    this.metrics = new GatewayMetrics();
    registerCoreMetrics(this.metrics, { registry: this.registry, discovery: this.discovery, wsHub: this.wsHub });
    registerMqttMetrics(this.metrics, this.mqtt);
    this.rpc = new JsonRpcServer(logger.child({ component: 'rpc' }));
    registerCoreRpcMethods(this.rpc, {
      registry: this.registry,
      cluster: this.cluster,
      client: this.client,
      access: this.access,
      health: this.health,
      reload: () => this.reload(),
      startedAt: Date.now(),
    });
    const startedLogFormat = config.log.format;
    this.hotSections = [
      {
        section: 'auth',
        apply: (next) => {
          this.auth.update(next.auth);
          // Issue 12 §5: sockets opened before the change are held to the new keys too.
          const closed = this.wsHub.recheck((secret, client) => recheckWsClient(this.auth, secret, client));
          if (closed > 0) this.logger.info({ closed }, 'closed WebSocket clients the new API keys no longer allow');
        },
      },
      {
        section: 'log',
        apply: (next) => {
          this.logger.level = next.log.level;
          // The stream is chosen once, at start.
          if (next.log.format !== startedLogFormat) this.logger.warn({ format: next.log.format }, 'log.format applies at the next restart');
        },
      },
      { section: 'mqtt', apply: (next) => this.mqtt.reconfigure(next.mqtt) },
      { section: 'pipeline', apply: (next) => this.pipeline.reconfigure(next.pipeline) },
      { section: 'alerts', apply: (next) => this.alerts.setRules(next.alerts) },
      { section: 'notify', apply: (next) => this.setWebhook(next) },
    ];
    this.configEditor = new ConfigEditor({ manager: this.configManager, hotSections: this.hotSections.map((h) => h.section), logger: logger.child({ component: 'config' }) });
    registerConfigRpcMethods(this.rpc, this.configEditor);
    this.pipeline = new PipelineService({
      config: config.pipeline,
      gatewayId: config.gateway.id,
      dataDir: config.dataDir,
      registry: this.registry,
      bus: this.bus,
      logger: logger.child({ component: 'pipeline' }),
    });
    registerPipelineMetrics(this.metrics, this.pipeline);
    this.history = new HistoryService({ config: config.history, dataDir: config.dataDir, registry: this.registry, bus: this.bus, logger: logger.child({ component: 'history' }) });
    this.alerts = new AlertEngine({
      rules: config.alerts,
      gatewayId: config.gateway.id,
      bus: this.bus,
      logger: logger.child({ component: 'alerts' }),
      evaluateIntervalMs: config.notify.evaluateIntervalMs,
      historySize: config.notify.historySize,
      notify: (channel, event) => this.deliverAlert(channel, event),
      sources: {
        nodes: () => this.registry.list(),
        sinks: () => {
          if (!this.pipeline.enabled) return [];
          const ages = new Map(this.pipeline.stats().sinks.map((s) => [s.id, s.oldestQueuedAgeMs]));
          return this.pipeline
            .healthContributors()
            .filter((c) => c.name.startsWith('sink:'))
            .map((c) => {
              const h = c.check();
              const id = c.name.slice(5);
              return { id, up: h.status === 'up', oldestQueuedAgeMs: ages.get(id) ?? 0, lastError: typeof h.lastError === 'string' ? h.lastError : null };
            });
        },
        connectors: () => (this.pipeline.enabled ? this.pipeline.stats().connectors : []),
        devices: () =>
          this.pipeline.enabled
            ? this.pipeline.listDevices().map((d) => ({ id: d.id, connector: d.connector, lastValueAt: d.lastRecord ? Date.parse(d.lastRecord.ts) : null }))
            : [],
      },
    });
    this.setWebhook(config);
    this.backup = new BackupService({
      dataDir: config.dataDir,
      gatewayId: config.gateway.id,
      gatewayVersion: packageVersion(),
      firmware: this.firmware,
      rollouts: this.rollouts,
      pipeline: this.pipeline,
      registry: this.registry,
      manager: this.configManager,
      editor: this.configEditor,
      logger: logger.child({ component: 'backup' }),
      schedule: config.backup,
    });
    registerPipelineRpcMethods(this.rpc, this.pipeline);
    registerFirmwareRpcMethods(this.rpc, this.firmware, this.rollouts);
    registerRolloutMetrics(this.metrics, this.rollouts);
  }

  /** The configuration in force (it changes when a reload applies a new one). */
  get config(): GatewayConfig {
    return this.current;
  }

  /** Re-reads the configuration (remote or file) and applies what changed (JSON-RPC `gateway.reload`, SIGHUP). */
  async reload(): Promise<{ source: string; applied: string[]; needRestart: string[]; error: string | null }> {
    if (!this.configManager) return { source: 'fixed', applied: [], needRestart: [], error: 'this gateway was started with a fixed configuration' };
    const { source, change, error } = await this.configManager.reload();
    return { source, ...change, error };
  }

  /**
   * Applies a new, already validated configuration without a restart where the
   * section allows it (docs/configuration.md); other changed sections keep
   * their running values until the next start and are reported.
   */
  async applyConfig(next: GatewayConfig): Promise<ConfigChangeResult> {
    const previous = this.current;
    const changed = (Object.keys(next) as Array<keyof GatewayConfig>).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(previous[k]));
    const hot = new Map(this.hotSections.map((h) => [h.section, h]));
    const applied: string[] = [];
    const needRestart: string[] = [];
    const effective: Record<string, unknown> = { ...next };
    for (const section of changed) {
      const handler = hot.get(section);
      if (!handler) {
        needRestart.push(section);
        effective[section] = previous[section];
        continue;
      }
      this.current = { ...this.current, [section]: next[section] };
      try {
        await handler.apply(next);
        applied.push(section);
      } catch (err) {
        this.logger.error({ err, section }, 'could not apply the configuration change; restart the gateway to apply it');
        needRestart.push(section);
      }
    }
    this.current = effective as GatewayConfig;
    if (applied.length) this.logger.info({ sections: applied }, 'configuration change applied');
    if (needRestart.length) this.logger.warn({ sections: needRestart }, 'configuration changed; these sections apply at the next restart');
    return { applied, needRestart };
  }

  /** The bound HTTP port (useful with port 0). */
  get httpPort(): number {
    return (this.http?.server.address() as AddressInfo | null)?.port ?? this.config.http.port;
  }

  get udpPort(): number {
    return this.discovery.port;
  }

  get url(): string {
    const host = this.config.http.host === '0.0.0.0' ? '127.0.0.1' : this.config.http.host;
    return `http://${host}:${this.httpPort}`;
  }

  async start(): Promise<void> {
    await prepareDataDir(this.config.dataDir);
    this.registerHealth();
    await this.firmware.start();
    // Known nodes are listed at once, before the first datagram can arrive.
    this.loopStall.start();
    this.registry.start((ip) => this.discovery.admits(ip));
    await this.discovery.start();
    this.cluster.start();
    this.wsHub.start();
    this.teardown.push(bridgeEventsToWebSocket(this.bus, this.wsHub, this.cluster));
    await this.mqtt.start();
    this.teardown.push(bridgeMqttToWebSocket(this.mqtt, this.wsHub));
    bridgeRpcToWebSocket(this.wsHub, this.rpc, this.auth);
    this.http = await buildHttpServer({
      config: this.config,
      currentConfig: () => this.current,
      auth: this.auth,
      routeTable: this.routes,
      logger: this.logger.child({ component: 'http' }),
      bus: this.bus,
      registry: this.registry,
      cluster: this.cluster,
      discovery: this.discovery,
      access: this.access,
      client: this.client,
      ota: this.ota,
      health: this.health,
      wsHub: this.wsHub,
      rpc: this.rpc,
      metrics: this.metrics,
      pipeline: this.pipeline,
      mqtt: this.mqtt,
      firmware: this.firmware,
      rollouts: this.rollouts,
      configEditor: this.configEditor,
      // Loaded at the first test or scan (issue 16 §3): the M-Bus survey brings its codec, link and line code.
      testConnector: async (body) => (await import('./pipeline/connector-probe.js')).probeConnector(body, { gatewayId: this.config.gateway.id, dataDir: this.config.dataDir, registry: this.registry, logger: this.logger }),
      scanBus: async (body) => (await import('./pipeline/mbus/mbus-survey.js')).surveyMbus(body),
      alerts: this.alerts,
      webhookStats: () => this.webhook?.stats() ?? null,
      history: this.history,
      backup: this.backup,
      logs: this.logs,
    });
    // Routes and their schemas are compiled before the pipeline starts, so the HTTP server and
    // the WebSocket are up the moment its first records come (building them takes ~100 ms cold).
    await this.http.ready();
    this.history.start();
    await this.pipeline.start();
    await this.http.listen({ port: this.config.http.port, host: this.config.http.host });
    this.httpListening = true;
    this.http.server.on('close', () => {
      this.httpListening = false;
    });
    // Rollouts interrupted by a crash or restart continue (they first wait for their nodes).
    this.rollouts.start();
    this.alerts.start();
    this.backup.start();
    // The live log: clients that ask for it (`/ws?logs=1`) and may read it (an admin key when keys are on).
    this.teardown.push(
      this.logs.onLine((line) => {
        if (this.wsHub.clientCount === 0) return;
        this.wsHub.broadcastWhere((c) => c.url.searchParams.get('logs') === '1' && (!this.auth.enabled || c.identity?.scope === 'admin'), 'log/line', { ...line });
      }),
    );
    this.logger.info({ url: this.url, udpPort: this.udpPort, nodePort: this.config.nodes.port }, 'SPORE gateway started');
    // Where to point a browser (issue 12 §16): every address it answers on.
    for (const url of listenUrls(this.config.http.host, this.httpPort)) this.logger.info({ url }, `SPORE gateway on ${url}`);
    // Ask who is there right away rather than waiting for the first heartbeats.
    this.discovery.probe();
    this.configManager?.start((next) => this.applyConfig(next), this.logger.child({ component: 'config' }));
  }

  private stopAt: string | undefined;

  /** What stop() is waiting for (named by a shutdown that takes too long), or undefined before stop(). */
  get stopStep(): string | undefined {
    if (this.stopAt === 'pipeline' && this.pipeline.stopping.size > 0) return `pipeline (${[...this.pipeline.stopping].join(', ')})`;
    return this.stopAt;
  }

  async stop(): Promise<void> {
    this.logger.info('SPORE gateway stopping');
    this.stopAt = 'configuration watcher';
    await this.configManager?.stop();
    for (const off of this.teardown.splice(0)) off();
    this.alerts.stop();
    this.backup.stop();
    this.webhook?.stop();
    this.stopAt = 'mqtt';
    await this.mqtt.stop();
    this.stopAt = 'pipeline';
    await this.pipeline.stop();
    this.history.stop();
    this.stopAt = 'websocket clients';
    await this.wsHub.stop();
    this.stopAt = 'http server';
    if (this.http) await this.http.close();
    this.httpListening = false;
    this.stopAt = 'rollouts';
    await this.rollouts.stop();
    this.ota.stop();
    this.stopAt = 'cluster';
    await this.cluster.stop();
    this.stopAt = 'udp discovery';
    await this.discovery.stop();
    this.stopAt = 'node registry';
    this.registry.stop();
    this.loopStall.stop();
    this.client.close();
    this.firmware.stop();
    this.stopAt = 'stopped';
    this.logger.info('SPORE gateway stopped');
    this.logger.flush?.();
  }

  /** (Re)builds the webhook notifier from `notify.webhook`. */
  private setWebhook(config: GatewayConfig): void {
    this.webhook?.stop();
    this.webhook = config.notify.webhook ? new WebhookNotifier(config.notify.webhook, this.logger.child({ component: 'alerts' })) : undefined;
  }

  /** An alert event to one of its rule's channels (issue 15 §2). */
  private deliverAlert(channel: 'webhook' | 'mqtt' | 'ui', event: AlertEvent): void {
    if (channel === 'webhook') {
      if (this.webhook) this.webhook.send(event);
      else this.logger.warn({ alert: event.alert.id }, 'alerts: a rule notifies the webhook but notify.webhook is not configured');
    } else if (channel === 'mqtt') {
      this.mqtt.connection?.publish(`${this.mqtt.prefix}/alerts`, JSON.stringify(event), { qos: 1, retain: false });
    } else if (this.wsHub.clientCount > 0) {
      this.wsHub.broadcast(`alert/${event.event}`, { ...event });
    }
  }

  private registerHealth(): void {
    this.health.register({
      name: 'config',
      required: false,
      // A remote that is unreachable or invalid degrades the gateway; the reason is here (issue 7).
      check: () => this.configManager?.health() ?? { status: 'up', source: 'fixed' },
    });
    this.health.register({
      name: 'http',
      required: true,
      check: () => ({ status: this.httpListening ? 'up' : 'down', port: this.httpPort }),
    });
    this.health.register({
      name: 'udp',
      required: true,
      check: () => ({ status: this.discovery.listening ? 'up' : 'down', port: this.udpPort, datagrams: { ...this.discovery.stats } }),
    });
    this.health.register({
      name: 'nodes',
      required: false,
      // No ACTIVE node degrades the gateway (CONTRACT §4).
      check: () => {
        const counts = this.registry.countByStatus();
        const { droppedNodes, droppedFields } = this.registry.stats;
        const full = this.registry.size >= this.registry.maxNodes;
        return {
          status: counts.ACTIVE > 0 ? 'up' : 'down',
          total: this.registry.size,
          ...counts,
          primaryNode: this.cluster.primaryNode,
          maxNodes: this.registry.maxNodes,
          droppedNodes,
          droppedFields,
          // UDP needs no key: a full registry may be an attack (docs/security.md).
          ...(full || droppedNodes > 0 ? { warning: `the node limit (nodes.maxNodes = ${this.registry.maxNodes}) was reached; ${droppedNodes} datagram(s) of new nodes dropped` } : {}),
        };
      },
    });
    this.health.register({
      name: 'websocket',
      required: false,
      check: () => ({ status: 'up', ...this.wsHub.stats() }),
    });
    this.health.register({
      name: 'firmware',
      required: false,
      check: () => {
        try {
          return { status: 'up', images: this.firmware.list().length, activeRollouts: this.rollouts.list('pending,running,paused').length };
        } catch {
          return { status: 'down' };
        }
      },
    });
    this.health.register({
      name: 'mqtt',
      required: false,
      check: () => this.mqtt.health(),
    });
    // One component per pipeline connector and sink: down degrades (CONTRACT §4).
    this.health.registerGroup(() => this.pipeline.healthContributors());
  }
}
