import type { QoS } from './connection.js';
import type { Logger } from '../logger.js';

/**
 * Home Assistant MQTT discovery (opt-in, issue 3): each SPORE node becomes a
 * device with four sensors — status, free heap, latency, last seen — that read
 * the node's retained state topic; the gateway's availability topic tells Home
 * Assistant when they are unavailable. A node that leaves the registry gets
 * empty retained configs, which removes its entities.
 * https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
 */
export interface HaDiscoveryOptions {
  discoveryPrefix: string;
  gatewayId: string;
  availabilityTopic: string;
  qos: QoS;
  /** The node's retained state topic. */
  stateTopic: (hostname: string) => string;
}

export interface HaPublisher {
  publish(topic: string, payload: string, opts: { qos: QoS; retain: boolean }): boolean;
}

interface EntitySpec {
  key: string;
  name: string;
  valueTemplate: string;
  extra?: Record<string, unknown>;
}

const ENTITIES: EntitySpec[] = [
  { key: 'status', name: 'Status', valueTemplate: '{{ value_json.status }}', extra: { icon: 'mdi:lan-connect' } },
  {
    key: 'free_heap',
    name: 'Free heap',
    valueTemplate: '{{ value_json.resources.freeHeap | default(None) }}',
    extra: { unit_of_measurement: 'B', device_class: 'data_size', state_class: 'measurement', entity_category: 'diagnostic' },
  },
  {
    key: 'latency',
    name: 'Latency',
    valueTemplate: '{{ value_json.latency | default(None) }}',
    extra: { unit_of_measurement: 'ms', device_class: 'duration', state_class: 'measurement', entity_category: 'diagnostic' },
  },
  { key: 'last_seen', name: 'Last seen', valueTemplate: '{{ value_json.lastSeen }}', extra: { device_class: 'timestamp', entity_category: 'diagnostic' } },
];

/** Home Assistant ids allow [a-zA-Z0-9_-] only. */
export function haId(text: string): string {
  return text.replace(/[^a-zA-Z0-9_-]/g, '_');
}

export class HomeAssistantDiscovery {
  private readonly announced = new Set<string>();
  private readonly gatewayDevice: string;
  private readonly nodeIdPrefix: string;

  constructor(
    private readonly options: HaDiscoveryOptions,
    private readonly publisher: HaPublisher,
    private readonly logger: Logger,
  ) {
    this.gatewayDevice = `spore_gateway_${haId(options.gatewayId)}`;
    this.nodeIdPrefix = `spore_${haId(options.gatewayId)}_`;
  }

  /** Where Home Assistant publishes its birth (`online`) and last will (`offline`). */
  get birthTopic(): string {
    return `${this.options.discoveryPrefix}/status`;
  }

  configTopic(hostname: string, key: string): string {
    return `${this.options.discoveryPrefix}/sensor/${this.nodeIdPrefix}${haId(hostname)}/${key}/config`;
  }

  /** Discovery configs are retained topics only this gateway publishes. */
  isOwnRetained(topic: string): boolean {
    return topic.startsWith(`${this.options.discoveryPrefix}/sensor/${this.nodeIdPrefix}`) && topic.endsWith('/config');
  }

  /** After a (re)connection every node is announced again (the broker may have lost them). */
  reset(): void {
    this.announced.clear();
  }

  /** Announces a node's device and entities once per connection. */
  announce(node: { hostname: string; version: string | null; ip: string }): void {
    if (this.announced.has(node.hostname)) return;
    const nodeId = `${this.nodeIdPrefix}${haId(node.hostname)}`;
    const device: Record<string, unknown> = {
      identifiers: [nodeId],
      name: node.hostname,
      manufacturer: 'SPORE',
      model: 'SPORE node (ESP8266)',
      via_device: this.gatewayDevice,
    };
    if (node.version) device.sw_version = node.version;
    let ok = true;
    for (const entity of ENTITIES) {
      const config = {
        name: entity.name,
        unique_id: `${nodeId}_${entity.key}`,
        object_id: `${haId(node.hostname)}_${entity.key}`,
        state_topic: this.options.stateTopic(node.hostname),
        value_template: entity.valueTemplate,
        availability_topic: this.options.availabilityTopic,
        payload_available: 'online',
        payload_not_available: 'offline',
        device,
        origin: { name: 'SPORE Gateway' },
        ...entity.extra,
      };
      ok = this.publisher.publish(this.configTopic(node.hostname, entity.key), JSON.stringify(config), { qos: this.options.qos, retain: true }) && ok;
    }
    if (ok) {
      this.announced.add(node.hostname);
      this.logger.debug({ hostname: node.hostname }, 'Home Assistant discovery published');
    }
  }

  /** Removes a node's entities: an empty retained config deletes each one. */
  remove(hostname: string): void {
    for (const entity of ENTITIES) this.publisher.publish(this.configTopic(hostname, entity.key), '', { qos: this.options.qos, retain: true });
    this.announced.delete(hostname);
    this.logger.debug({ hostname }, 'Home Assistant discovery removed');
  }
}
