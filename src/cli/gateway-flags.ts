import { LOG_FORMATS, LOG_LEVELS } from '../logger.js';
import { hasWildcard, isValidBrokerUrl, type QoS } from '../mqtt/connection.js';
import { HELP_FLAG, type FlagSpec, parsers } from './parse-flags.js';

/**
 * The gateway's flags (CONTRACT §1) and where each lands in the configuration
 * schema. Flags win over the configuration file.
 */
export interface GatewayFlagSpec extends FlagSpec {
  /** Dotted path into the configuration, or undefined for flags that are not configuration. */
  configPath?: string;
}

export const GATEWAY_FLAGS: GatewayFlagSpec[] = [
  { name: 'port', configPath: 'http.port', description: 'HTTP/WebSocket port', accepts: 'an integer 0-65535', parse: parsers.port(0), defaultText: '3001' },
  { name: 'udp-port', configPath: 'udp.port', description: 'UDP discovery port', accepts: 'an integer 0-65535', parse: parsers.port(0), defaultText: '4210' },
  {
    name: 'mqtt',
    configPath: 'mqtt.url',
    description: 'enable the MQTT bridge',
    accepts: 'tcp://, mqtt://, tls://, mqtts://, ws://, wss:// URL or "embedded"',
    parse: (raw) => (raw === 'embedded' || isValidBrokerUrl(raw) ? raw : undefined),
  },
  { name: 'log-level', configPath: 'log.level', description: 'log level', accepts: LOG_LEVELS.join(' | '), parse: parsers.oneOf(LOG_LEVELS), defaultText: 'info' },
  {
    name: 'log-format',
    configPath: 'log.format',
    description: 'how log lines are written: pretty (human-readable) or json (one object a line)',
    accepts: LOG_FORMATS.filter((f) => f !== 'auto').join(' | ') + ' | auto',
    parse: parsers.oneOf(LOG_FORMATS),
    defaultText: 'pretty on a terminal, else json',
  },
  { name: 'node-port', configPath: 'nodes.port', description: "HTTP port of the nodes' API", accepts: 'an integer 1-65535', parse: parsers.port(1), defaultText: '80' },
  { name: 'data-dir', configPath: 'dataDir', description: 'where state is kept', accepts: 'a directory path', parse: parsers.nonEmpty, defaultText: './data' },
  { name: 'config', description: 'configuration file', accepts: 'a YAML or JSON file path', parse: parsers.nonEmpty },
  { name: 'bind', configPath: 'http.host', description: 'HTTP bind address', accepts: 'an IP address or host name', parse: parsers.nonEmpty, defaultText: '0.0.0.0' },
  { name: 'udp-bind', configPath: 'udp.host', description: 'UDP bind address', accepts: 'an IP address', parse: parsers.nonEmpty, defaultText: '0.0.0.0' },
  { name: 'broadcast', configPath: 'udp.broadcastAddress', description: 'send discovery probes to this one address only', accepts: 'an IPv4 address', parse: parsers.nonEmpty, defaultText: 'every interface\'s broadcast address and 255.255.255.255' },
  { name: 'node-timeout', configPath: 'nodes.requestTimeoutMs', description: 'timeout of calls to nodes, ms', accepts: 'an integer >= 1', parse: parsers.integer(1), defaultText: '5000' },
  { name: 'active-threshold', configPath: 'nodes.activeThresholdMs', description: 'ACTIVE while last seen within this, ms', accepts: 'an integer >= 1', parse: parsers.integer(1), defaultText: '10000' },
  { name: 'dead-threshold', configPath: 'nodes.deadThresholdMs', description: 'DEAD when last seen longer ago than this, ms', accepts: 'an integer >= 1', parse: parsers.integer(1), defaultText: '60000' },
  { name: 'remove-dead-after', configPath: 'nodes.removeDeadAfterMs', description: 'a DEAD node leaves the registry after this, ms', accepts: 'an integer >= 1', parse: parsers.integer(1), defaultText: '300000' },
  { name: 'upload-limit', configPath: 'http.uploadLimitBytes', description: 'largest firmware upload, bytes', accepts: 'an integer >= 1', parse: parsers.integer(1), defaultText: '16777216' },
  { name: 'gateway-id', configPath: 'gateway.id', description: 'this gateway\'s id', accepts: '1-64 of [A-Za-z0-9._-]', parse: (raw) => (/^[A-Za-z0-9._-]{1,64}$/.test(raw) ? raw : undefined), defaultText: 'the hostname' },
  { name: 'mqtt-port', configPath: 'mqtt.embedded.port', description: 'port of the embedded MQTT broker (-mqtt embedded)', accepts: 'an integer 0-65535', parse: parsers.port(0), defaultText: '1883' },
  { name: 'mqtt-ws-port', configPath: 'mqtt.embedded.wsPort', description: 'MQTT over WebSocket port of the embedded broker', accepts: 'an integer 0-65535', parse: parsers.port(0), defaultText: 'off' },
  { name: 'mqtt-bind', configPath: 'mqtt.embedded.host', description: 'bind address of the embedded MQTT broker', accepts: 'an IP address or host name', parse: parsers.nonEmpty, defaultText: '0.0.0.0' },
  {
    name: 'mqtt-topics',
    configPath: 'mqtt.subscriptions',
    description: 'MQTT topic filters to forward, each with an optional QoS',
    accepts: 'a comma-separated list of filter[:qos], e.g. "sensor/#:1,spore/+/events/#"',
    parse: parseSubscriptions,
    defaultText: '#:0',
  },
  { name: 'mqtt-protocol', configPath: 'mqtt.protocolVersion', description: 'MQTT protocol version', accepts: '3.1 | 3.1.1 | 5', parse: (raw) => ({ '3.1': 3, '3.1.1': 4, '5': 5, '5.0': 5 } as Record<string, number>)[raw], defaultText: '5 with -mqtt embedded, else 3.1.1' },
  { name: 'mqtt-reconnect', configPath: 'mqtt.reconnectPeriodMs', description: 'wait between MQTT reconnection attempts, ms', accepts: 'an integer >= 1', parse: parsers.integer(1), defaultText: '10000' },
  { name: 'mqtt-client-id', configPath: 'mqtt.clientId', description: 'MQTT client id', accepts: '1-128 characters', parse: (raw) => (raw.length >= 1 && raw.length <= 128 ? raw : undefined), defaultText: 'spore-gateway-<id>-<random>' },
  { name: 'mqtt-ca', configPath: 'mqtt.tls.caFile', description: "PEM file of the CA that signed the broker's certificate", accepts: 'a file path', parse: parsers.nonEmpty },
  { name: 'mqtt-cert', configPath: 'mqtt.tls.certFile', description: 'PEM client certificate for the broker', accepts: 'a file path', parse: parsers.nonEmpty },
  { name: 'mqtt-key', configPath: 'mqtt.tls.keyFile', description: 'PEM key of the client certificate', accepts: 'a file path', parse: parsers.nonEmpty },
  { name: 'mqtt-insecure', configPath: 'mqtt.tls.allowSelfSigned', description: "accept any broker certificate (self-signed); insecure", accepts: 'no value, or true|false', boolean: true, parse: parsers.boolean },
  { name: 'mqtt-prefix', configPath: 'mqtt.cluster.prefix', description: 'topic prefix of the cluster on MQTT', accepts: 'a topic without wildcards', parse: (raw) => (raw.length > 0 && !hasWildcard(raw) && !raw.endsWith('/') ? raw : undefined), defaultText: 'spore/<gateway id>' },
  { name: 'mqtt-ha', configPath: 'mqtt.homeAssistant.enabled', description: 'publish Home Assistant MQTT discovery', accepts: 'no value, or true|false', boolean: true, parse: parsers.boolean },
  {
    name: 'config-url',
    configPath: 'remoteConfig.url',
    description: 'pull the configuration from here first (cached in the data dir; falls back to the cache, then -config)',
    accepts: 'an http:// or https:// URL',
    parse: (raw) => (/^https?:\/\/[^\s/]+/.test(raw) ? raw : undefined),
  },
  { name: 'print-config', description: 'print the effective configuration (secrets masked) and exit', accepts: 'no value', boolean: true, parse: parsers.boolean },
  HELP_FLAG,
  { name: 'version', description: 'show the version', accepts: 'no value', boolean: true, parse: parsers.boolean },
];

/** Turns parsed flag values into a partial configuration object. */
export function flagsToConfig(values: Map<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of GATEWAY_FLAGS) {
    if (!spec.configPath || !values.has(spec.name)) continue;
    const parts = spec.configPath.split('.');
    let target = out;
    for (const part of parts.slice(0, -1)) {
      target[part] ??= {};
      target = target[part] as Record<string, unknown>;
    }
    target[parts.at(-1)!] = values.get(spec.name);
  }
  return out;
}

/** `-mqtt-topics "a/#:1,b"` → [{topic:"a/#",qos:1},{topic:"b",qos:0}]; undefined when malformed. */
function parseSubscriptions(raw: string): Array<{ topic: string; qos: QoS }> | undefined {
  const out: Array<{ topic: string; qos: QoS }> = [];
  for (const item of raw.split(',')) {
    const m = /^(.+?)(?::([012]))?$/.exec(item.trim());
    if (!m) return undefined;
    const topic = m[1]!;
    const levels = topic.split('/');
    const valid = levels.every((l, i) => (l.includes('+') ? l === '+' : true) && (l.includes('#') ? l === '#' && i === levels.length - 1 : true));
    if (!valid) return undefined;
    out.push({ topic, qos: Number(m[2] ?? 0) as QoS });
  }
  return out.length > 0 ? out : undefined;
}
