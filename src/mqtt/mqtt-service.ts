import { randomBytes } from 'node:crypto';
import type { ClusterManager } from '../cluster/cluster-manager.js';
import type { NodeAccess } from '../cluster/node-access.js';
import type { NodeRegistry } from '../cluster/node-registry.js';
import type { MqttConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { GatewayEventBus } from '../events/gateway-events.js';
import type { ComponentHealth } from '../health.js';
import type { Logger } from '../logger.js';
import { parseBrokerUrl } from './connection.js';
import { ClusterPublisher } from './cluster-publisher.js';
import { ClusterTopics } from './cluster-topics.js';
import { CommandHandler, type CommandStats } from './command-handler.js';
// Only with `mqtt.url: embedded`: aedes is loaded then (issue 16 §3, idle memory).
import type { BrokerKeyCheck, EmbeddedBroker, EmbeddedBrokerStats } from './embedded-broker.js';
import { HomeAssistantDiscovery } from './ha-discovery.js';
import { defaultClientId, MqttBridge, type ForwardListener, type MqttBridgeStats, type MqttStatus } from './mqtt-bridge.js';
import { topicFilterProblem } from './topic-filter.js';
import { markReplayed } from './ws-format.js';

export interface MqttServiceDeps {
  /** The `mqtt` section of the configuration. */
  mqtt: MqttConfig;
  /** `gateway.id`: the default cluster prefix and client id. */
  gatewayId: string;
  registry: NodeRegistry;
  cluster: ClusterManager;
  access: NodeAccess;
  bus: GatewayEventBus;
  logger: Logger;
  /** Where MQTT_USER / MQTT_PASSWORD are read (CONTRACT §1); process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** The gateway's API keys: the embedded broker requires one once any is configured (issue 12). */
  apiKeys?: BrokerKeyCheck;
  /** Whether a browser origin may connect to the embedded broker's WebSocket listener (the HTTP allow-list). */
  originAllowed?: (origin: string, host: string | undefined) => boolean;
}

export type MqttStats = MqttBridgeStats & {
  enabled: true;
  commands: CommandStats | null;
  embeddedBroker: EmbeddedBrokerStats | null;
  cluster: { enabled: boolean; prefix: string } ;
};

export interface MqttMessagesAnswer {
  /** The messages, oldest first, each exactly as forwarded on the WebSocket. */
  json: string[];
  filter: string;
  limit: number;
}

/**
 * Everything MQTT in one service (issue 3): the optional embedded broker, the
 * bridge, the cluster on MQTT, commands and Home Assistant discovery. Adapters
 * (REST routes, the WebSocket, health) use only this class.
 */
export class MqttService {
  private broker: EmbeddedBroker | undefined;
  private bridge: MqttBridge | undefined;
  private publisher: ClusterPublisher | undefined;
  private commands: CommandHandler | undefined;
  private readonly logger: Logger;
  /** WebSocket forwarding survives a reconfiguration that rebuilds the bridge. */
  private readonly forwardListeners = new Set<ForwardListener>();

  constructor(private deps: MqttServiceDeps) {
    this.logger = deps.logger;
  }

  /** The cluster's topic prefix (default `spore/<gatewayId>`, issue 3). */
  get prefix(): string {
    return this.deps.mqtt.cluster.prefix ?? `spore/${this.deps.gatewayId}`;
  }

  /** Every message the bridge forwards, as its WebSocket JSON (built once per message; UTF-8 bytes valid only during the call). */
  onForward(listener: ForwardListener): () => void {
    this.forwardListeners.add(listener);
    return () => this.forwardListeners.delete(listener);
  }

  /**
   * Applies a new configuration without a restart of the gateway (docs/configuration.md):
   * the broker connection, the embedded broker and the cluster publisher are rebuilt.
   */
  async reconfigure(mqtt: MqttConfig): Promise<void> {
    await this.stop();
    this.broker = this.bridge = this.publisher = this.commands = undefined;
    this.deps = { ...this.deps, mqtt };
    await this.start();
  }

  get enabled(): boolean {
    return this.deps.mqtt.url !== undefined;
  }

  /** The bridge, once started (undefined when MQTT is off). */
  get connection(): MqttBridge | undefined {
    return this.bridge;
  }

  get embeddedBroker(): EmbeddedBroker | undefined {
    return this.broker;
  }

  async start(): Promise<void> {
    const { mqtt: m, gatewayId, bus, registry, cluster, access } = this.deps;
    if (m.url === undefined) return;
    const env = this.deps.env ?? process.env;
    const username = env.MQTT_USER || m.username;
    const password = env.MQTT_PASSWORD || m.password;

    let url = m.url;
    const protocolVersion = m.protocolVersion ?? defaultProtocolVersion(url);
    let bridgeUser = username;
    let bridgePassword = password;
    if (url === 'embedded') {
      const { EmbeddedBroker } = await import('./embedded-broker.js');
      // The bridge's own way in when API keys are configured and no MQTT_USER / MQTT_PASSWORD is:
      // a secret made for this process only, never written anywhere.
      const internalClient = { username: 'spore-gateway', password: randomBytes(24).toString('base64url') };
      if (bridgeUser === undefined || bridgePassword === undefined) {
        bridgeUser = internalClient.username;
        bridgePassword = internalClient.password;
      }
      this.broker = new EmbeddedBroker(
        {
          internalClient,
          adminTopics: [`${this.prefix}/#`],
          ...(this.deps.apiKeys !== undefined ? { apiKeys: this.deps.apiKeys } : {}),
          ...(this.deps.originAllowed !== undefined ? { originAllowed: this.deps.originAllowed } : {}),
          host: m.embedded.host,
          port: m.embedded.port,
          ...(m.embedded.wsPort !== undefined ? { wsPort: m.embedded.wsPort } : {}),
          ...(username !== undefined && password !== undefined ? { username, password } : {}),
          maxPacketBytes: m.embedded.maxPacketBytes,
          maxSessionExpirySeconds: m.embedded.maxSessionExpirySeconds,
        },
        this.logger.child({ component: 'mqtt-broker' }),
      );
      await this.broker.start();
      url = this.broker.localUrl;
    }

    const topics = new ClusterTopics(this.prefix);
    const clusterOn = m.cluster.enabled;
    const bridge = new MqttBridge(
      {
        address: parseBrokerUrl(url),
        ...(bridgeUser !== undefined ? { username: bridgeUser } : {}),
        ...(bridgePassword !== undefined ? { password: bridgePassword } : {}),
        clientId: m.clientId ?? defaultClientId(gatewayId),
        protocolVersion,
        keepaliveSeconds: m.keepaliveSeconds,
        reconnectPeriodMs: m.reconnectPeriodMs,
        connectTimeoutMs: m.connectTimeoutMs,
        cleanSession: m.cleanSession,
        tls: m.tls,
        subscriptions: m.subscriptions,
        forwardToWebSocket: m.forwardToWebSocket,
        echoOwnPublications: m.echoOwnPublications,
        forwardProperties: m.forwardProperties,
        retention: { perTopic: m.retention.perTopic, maxTopics: m.retention.maxTopics, maxBytes: m.retention.maxBytes },
        dedupWindowMs: m.dedupWindowMs,
        rateLimitPerTopic: m.rateLimitPerTopic,
        ...(m.rateLimitBurst !== undefined ? { rateLimitBurst: m.rateLimitBurst } : {}),
        ...(clusterOn ? { will: ClusterPublisher.will(topics, m.cluster.qos) } : {}),
      },
      bus,
      this.logger.child({ component: 'mqtt' }),
      // In process: what the embedded broker's clients publish reaches the WebSocket without a loopback socket (issue 16 §5).
      this.broker?.localFeed,
    );
    this.bridge = bridge;
    bridge.onForward((json, topic) => {
      for (const listener of this.forwardListeners) listener(json, topic);
    });
    if (clusterOn) {
      const homeAssistant = m.homeAssistant.enabled
        ? new HomeAssistantDiscovery(
            { discoveryPrefix: m.homeAssistant.discoveryPrefix, gatewayId, availabilityTopic: topics.availability, qos: m.cluster.qos, stateTopic: (h) => topics.nodeState(h) },
            bridge,
            this.logger.child({ component: 'mqtt-ha' }),
          )
        : undefined;
      this.publisher = new ClusterPublisher(
        { gatewayId, qos: m.cluster.qos, statePublishIntervalMs: m.cluster.statePublishIntervalMs, events: m.cluster.events },
        topics,
        bridge,
        registry,
        cluster,
        bus,
        this.logger.child({ component: 'mqtt-cluster' }),
        homeAssistant,
      );
      bridge.setOwnTopicPredicate((t) => topics.isOwnRetained(t) || (homeAssistant?.isOwnRetained(t) ?? false));
      if (m.cluster.commands) {
        const commands = new CommandHandler(
          { qos: m.cluster.qos, concurrency: m.cluster.commandConcurrency, queueLimit: m.cluster.commandQueue, allowResponseTopics: m.commands.allowResponseTopics },
          topics,
          registry,
          access,
          bridge,
          this.logger.child({ component: 'mqtt-commands' }),
        );
        this.commands = commands;
        bridge.handle(topics.commandFilter, 1, (t, p, packet) => commands.handle(t, p, packet));
      }
      if (homeAssistant) {
        const publisher = this.publisher;
        bridge.handle(homeAssistant.birthTopic, 1, (_t, payload) => {
          if (payload.toString('utf8') === 'online') publisher.republishDiscovery();
        });
      }
      this.publisher.start();
    }
    await bridge.start();
  }

  async stop(): Promise<void> {
    this.publisher?.stop();
    await this.bridge?.stop();
    await this.broker?.stop();
  }

  status(): MqttStatus | null {
    return this.bridge?.currentStatus() ?? null;
  }

  /** The `mqtt` component of GET /api/health: down (degraded) while not connected. */
  health(): ComponentHealth {
    if (!this.enabled) return { status: 'disabled' };
    const bridge = this.bridge;
    if (!bridge) return { status: 'down', state: 'disconnected', error: 'not started' };
    const s = bridge.stats();
    const health: ComponentHealth = {
      status: s.state === 'connected' ? 'up' : 'down',
      state: s.state,
      broker: s.broker,
      error: bridge.currentStatus().error,
      connectedSince: s.connectedSince,
      reconnects: s.reconnects,
      messagesIn: s.messagesIn,
      subscriptions: s.subscriptions,
    };
    if (this.broker) health.embeddedBroker = this.broker.stats();
    return health;
  }

  stats(): MqttStats {
    const bridge = this.requireBridge();
    return {
      enabled: true,
      ...bridge.stats(),
      commands: this.commands?.stats() ?? null,
      embeddedBroker: this.broker?.stats() ?? null,
      cluster: { enabled: this.deps.mqtt.cluster.enabled, prefix: this.prefix },
    };
  }

  /** GET /api/mqtt/messages: validates the filter and the limit, then reads the retention buffer. */
  messages(filter: unknown, limit: unknown): MqttMessagesAnswer {
    const bridge = this.requireBridge();
    const f = this.validateFilter(filter);
    const n = this.validateLimit(limit, 'limit');
    return { json: bridge.recent(f, n), filter: f, limit: n };
  }

  /** Messages to replay to a WebSocket client that asked for them, each marked `"replay":true`. */
  replay(filter: unknown, limit: unknown): MqttMessagesAnswer {
    const answer = this.messages(filter, limit);
    return { ...answer, json: answer.json.map(markReplayed) };
  }

  private requireBridge(): MqttBridge {
    if (!this.bridge) throw new GatewayError('mqtt_disabled');
    return this.bridge;
  }

  private validateFilter(filter: unknown): string {
    if (filter === undefined || filter === '') return '#';
    if (typeof filter !== 'string') throw new GatewayError('invalid_topic_filter', 'give one topic filter, e.g. topic=sensor/%23');
    const problem = topicFilterProblem(filter);
    if (problem) throw new GatewayError('invalid_topic_filter', `"${filter.slice(0, 128)}" is not a valid MQTT topic filter: ${problem} (URL-encode "#" as %23 and "+" as %2B)`);
    return filter;
  }

  private validateLimit(limit: unknown, name: string): number {
    const r = this.deps.mqtt.retention;
    if (limit === undefined || limit === '') return r.defaultLimit;
    const n = typeof limit === 'number' ? limit : typeof limit === 'string' && /^\d{1,9}$/.test(limit) ? Number(limit) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > r.maxLimit) throw new GatewayError('bad_request', `${name} must be an integer from 1 to ${r.maxLimit}`);
    return n;
  }
}

/** The bridge speaks MQTT 5 to the embedded broker (aedes 2) and 3.1.1, which every broker speaks, to others. */
export function defaultProtocolVersion(url: string): 4 | 5 {
  return url === 'embedded' ? 5 : 4;
}
