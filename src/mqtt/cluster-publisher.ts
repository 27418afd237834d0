import type { MqttWill, QoS } from './connection.js';
import type { ClusterManager } from '../cluster/cluster-manager.js';
import type { NodeRecord, NodeRegistry } from '../cluster/node-registry.js';
import { MQTT_EVENT_TOPICS, toWirePayload } from '../contract/ws-topics.js';
import type { GatewayEventBus } from '../events/gateway-events.js';
import type { Logger } from '../logger.js';
import { debounce } from '../util/concurrency.js';
import type { ClusterTopics } from './cluster-topics.js';
import type { HomeAssistantDiscovery } from './ha-discovery.js';

export interface ClusterPublisherOptions {
  gatewayId: string;
  qos: QoS;
  /** Node states are re-published (when changed) this often, ms. */
  statePublishIntervalMs: number;
  /** Publish gateway events on `<prefix>/events/<topic>`. */
  events: boolean;
}

export interface MqttPublisher {
  readonly connected: boolean;
  publish(topic: string, payload: string, opts: { qos: QoS; retain: boolean }): boolean;
  onConnect(listener: () => void): void;
}

/** Status or primary changes are published after this quiet time, ms, so bursts collapse. */
const FLUSH_DELAY_MS = 100;

/**
 * The cluster on MQTT (issue 3, like Zigbee2MQTT's bridge topics): the
 * gateway's availability (with the last will), a retained cluster summary, a
 * retained state per node (cleared when the node leaves), and gateway events.
 * Publishes only what changed; everything again after a reconnection.
 */
export class ClusterPublisher {
  private readonly lastState = new Map<string, string>();
  private lastSummary: string | undefined;
  private readonly dirty = new Set<string>();
  /** Nodes that left while the broker was unreachable: cleared on the next connection. */
  private readonly pendingClears = new Set<string>();
  private readonly offs: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly flushSoon = debounce(() => this.flush(), FLUSH_DELAY_MS);

  constructor(
    private readonly options: ClusterPublisherOptions,
    private readonly topics: ClusterTopics,
    private readonly mqtt: MqttPublisher,
    private readonly registry: NodeRegistry,
    private readonly cluster: ClusterManager,
    private readonly bus: GatewayEventBus,
    private readonly logger: Logger,
    private readonly homeAssistant?: HomeAssistantDiscovery,
  ) {}

  /** The last will: the broker publishes it when the gateway vanishes (given to the bridge before it connects). */
  static will(topics: ClusterTopics, qos: QoS): MqttWill {
    return { topic: topics.availability, payload: 'offline', qos, retain: true };
  }

  start(): void {
    this.mqtt.onConnect(() => this.onConnected());
    this.offs.push(
      this.bus.on('node/discovery', (e) => {
        if (e.action === 'lost') this.nodeLeft(e.hostname);
        else this.markDirty(e.hostname);
      }),
      this.bus.on('node/update', (e) => this.markDirty(e.hostname)),
      this.bus.on('cluster/primary', () => {
        // isPrimary changes for two nodes; cheap enough to look at all.
        for (const node of this.registry.list()) this.markDirty(node.hostname);
      }),
      this.bus.on('cluster/update', () => this.flushSoon()),
    );
    if (this.options.events) {
      // The `mqttEvent` topics of contract/ws-topics.ts (cluster/update has its own retained topic).
      for (const topic of MQTT_EVENT_TOPICS) {
        this.offs.push(
          this.bus.on(topic, (payload) => {
            if (!this.mqtt.connected) return;
            const fields = toWirePayload(payload);
            this.mqtt.publish(this.topics.event(topic), JSON.stringify({ topic, ...fields, timestamp: new Date().toISOString() }), { qos: 0, retain: false });
          }),
        );
      }
    }
    this.timer = setInterval(() => {
      for (const node of this.registry.list()) this.dirty.add(node.hostname);
      this.flush();
    }, this.options.statePublishIntervalMs);
    this.timer.unref();
  }

  /**
   * Home Assistant came (back) online (its birth message on `<discovery prefix>/status`):
   * it may have lost its entities, so every node's discovery is published again.
   * https://www.home-assistant.io/integrations/mqtt/#birth-and-last-will-messages
   */
  republishDiscovery(): void {
    if (!this.homeAssistant || !this.mqtt.connected) return;
    this.homeAssistant.reset();
    for (const node of this.registry.list()) this.homeAssistant.announce(node);
    this.logger.info({ nodes: this.registry.size }, 'Home Assistant is online: discovery published again');
  }

  /** Publishes `offline` before a clean shutdown (a clean DISCONNECT discards the will). */
  stop(): void {
    for (const off of this.offs.splice(0)) off();
    clearInterval(this.timer);
    this.flushSoon.cancel();
    if (this.mqtt.connected) this.mqtt.publish(this.topics.availability, 'offline', { qos: this.options.qos, retain: true });
  }

  /** The state JSON of one node (docs/mqtt.md). */
  nodeState(node: NodeRecord): Record<string, unknown> {
    return {
      hostname: node.hostname,
      ip: node.ip,
      status: node.status,
      isPrimary: this.cluster.primaryNode === node.ip,
      labels: node.labels,
      resources: node.resources ?? {},
      latency: node.latency,
      lastSeen: new Date(node.lastSeen).toISOString(),
      discoveredAt: new Date(node.discoveredAt).toISOString(),
      version: node.version,
      uptime: node.uptime,
      gatewayId: this.options.gatewayId,
    };
  }

  summary(): Record<string, unknown> {
    const counts = this.registry.countByStatus();
    return {
      gatewayId: this.options.gatewayId,
      primaryNode: this.cluster.primaryNode,
      totalNodes: this.registry.size,
      active: counts.ACTIVE,
      inactive: counts.INACTIVE,
      dead: counts.DEAD,
      nodes: this.registry
        .list()
        .map((n) => ({ hostname: n.hostname, ip: n.ip, status: n.status }))
        .sort((a, b) => a.hostname.localeCompare(b.hostname)),
    };
  }

  private onConnected(): void {
    this.lastState.clear();
    this.lastSummary = undefined;
    this.homeAssistant?.reset();
    this.mqtt.publish(this.topics.availability, 'online', { qos: this.options.qos, retain: true });
    for (const hostname of this.pendingClears) {
      if (!this.registry.getByHostname(hostname)) this.clearNode(hostname);
    }
    this.pendingClears.clear();
    for (const node of this.registry.list()) this.dirty.add(node.hostname);
    this.flush();
  }

  private markDirty(hostname: string): void {
    this.dirty.add(hostname);
    this.flushSoon();
  }

  private nodeLeft(hostname: string): void {
    this.dirty.delete(hostname);
    this.lastState.delete(hostname);
    if (this.mqtt.connected) this.clearNode(hostname);
    else this.pendingClears.add(hostname);
    this.flushSoon();
  }

  /** An empty retained message deletes the node's retained state (and its Home Assistant entities). */
  private clearNode(hostname: string): void {
    this.mqtt.publish(this.topics.nodeState(hostname), '', { qos: this.options.qos, retain: true });
    this.homeAssistant?.remove(hostname);
  }

  private flush(): void {
    if (!this.mqtt.connected) return;
    for (const hostname of this.dirty) {
      const node = this.registry.getByHostname(hostname);
      if (!node) continue;
      const json = JSON.stringify(this.nodeState(node));
      if (this.lastState.get(hostname) !== json) {
        if (this.mqtt.publish(this.topics.nodeState(hostname), json, { qos: this.options.qos, retain: true })) this.lastState.set(hostname, json);
      }
      this.homeAssistant?.announce(node);
    }
    this.dirty.clear();
    const summary = JSON.stringify(this.summary());
    if (summary !== this.lastSummary && this.mqtt.publish(this.topics.cluster, summary, { qos: this.options.qos, retain: true })) {
      this.lastSummary = summary;
    }
    this.logger.debug({ nodes: this.lastState.size }, 'cluster state published on MQTT');
  }
}
