import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer } from './api/http-server.js';
import { bridgeMqttToWebSocket } from './api/mqtt-ws.js';
import { registerMqttRoutes } from './api/routes/mqtt-routes.js';
import { bridgeEventsToWebSocket } from './api/ws-bridge.js';
import { WsHub } from './api/ws-hub.js';
import { ClusterManager } from './cluster/cluster-manager.js';
import { NodeAccess } from './cluster/node-access.js';
import { NodeRegistry } from './cluster/node-registry.js';
import { UdpDiscovery } from './cluster/udp-discovery.js';
import type { GatewayConfig } from './config/schema.js';
import { EventBus } from './events/event-bus.js';
import type { GatewayEventBus, GatewayEvents } from './events/gateway-events.js';
import { OtaService } from './firmware/ota-service.js';
import { HealthService } from './health.js';
import { createLogger, type Logger } from './logger.js';
import { MqttService } from './mqtt/mqtt-service.js';
import { NodeClient } from './node-client/node-client.js';

export interface GatewayOptions {
  logger?: Logger;
}

/**
 * The one place that wires the gateway: builds every service from the
 * configuration, starts them in dependency order and stops them in reverse.
 */
export class Gateway {
  readonly logger: Logger;
  readonly bus: GatewayEventBus;
  readonly registry: NodeRegistry;
  readonly client: NodeClient;
  readonly discovery: UdpDiscovery;
  readonly cluster: ClusterManager;
  readonly access: NodeAccess;
  readonly ota: OtaService;
  readonly health: HealthService;
  readonly wsHub: WsHub;
  readonly mqtt: MqttService;
  private http: FastifyInstance | undefined;
  private httpListening = false;
  private readonly teardown: Array<() => void> = [];

  constructor(
    readonly config: GatewayConfig,
    options: GatewayOptions = {},
  ) {
    const logger = options.logger ?? createLogger(config.log.level);
    this.logger = logger;
    this.bus = new EventBus<GatewayEvents>(logger);
    this.registry = new NodeRegistry(this.bus, config.nodes, logger.child({ component: 'registry' }));
    this.client = new NodeClient({ port: config.nodes.port, timeoutMs: config.nodes.requestTimeoutMs });
    this.discovery = new UdpDiscovery({ ...config.udp, probeIntervalMs: config.nodes.discoveryIntervalMs }, this.registry, this.bus, logger.child({ component: 'udp' }));
    this.cluster = new ClusterManager(this.registry, this.client, this.bus, config.nodes, logger.child({ component: 'cluster' }));
    this.access = new NodeAccess(this.registry, this.client);
    // An upload may stall on a busy ESP8266 while it erases flash; allow longer than a plain call.
    this.ota = new OtaService(this.access, this.client, this.bus, logger.child({ component: 'ota' }), Math.max(config.nodes.requestTimeoutMs, 30_000));
    this.health = new HealthService();
    this.wsHub = new WsHub(config.websocket, logger.child({ component: 'ws' }));
    this.mqtt = new MqttService({ config, registry: this.registry, cluster: this.cluster, access: this.access, bus: this.bus, logger });
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
    await mkdir(this.config.dataDir, { recursive: true });
    this.registerHealth();
    await this.discovery.start();
    this.cluster.start();
    this.wsHub.start();
    this.teardown.push(bridgeEventsToWebSocket(this.bus, this.wsHub, this.cluster));
    await this.mqtt.start();
    this.teardown.push(bridgeMqttToWebSocket(this.mqtt, this.wsHub));
    this.http = await buildHttpServer({
      config: this.config,
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
    }, [(app) => registerMqttRoutes(app, this.mqtt)]);
    await this.http.listen({ port: this.config.http.port, host: this.config.http.host });
    this.httpListening = true;
    this.http.server.on('close', () => {
      this.httpListening = false;
    });
    this.logger.info({ url: this.url, udpPort: this.udpPort, nodePort: this.config.nodes.port }, 'SPORE gateway started');
    // Ask who is there right away rather than waiting for the first heartbeats.
    this.discovery.probe();
  }

  async stop(): Promise<void> {
    this.logger.info('SPORE gateway stopping');
    for (const off of this.teardown.splice(0)) off();
    await this.mqtt.stop();
    await this.wsHub.stop();
    if (this.http) await this.http.close();
    this.httpListening = false;
    await this.cluster.stop();
    await this.discovery.stop();
    this.client.close();
    this.logger.info('SPORE gateway stopped');
    this.logger.flush?.();
  }

  private registerHealth(): void {
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
        return { status: counts.ACTIVE > 0 ? 'up' : 'down', total: this.registry.size, ...counts, primaryNode: this.cluster.primaryNode };
      },
    });
    this.health.register({
      name: 'websocket',
      required: false,
      check: () => ({ status: 'up', ...this.wsHub.stats() }),
    });
    this.health.register({
      name: 'mqtt',
      required: false,
      check: () => this.mqtt.health(),
    });
  }
}
