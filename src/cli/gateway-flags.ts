import { LOG_LEVELS } from '../logger.js';
import { type FlagSpec, parsers } from './parse-flags.js';

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
    parse: (raw) => (raw === 'embedded' || /^(tcp|mqtt|tls|mqtts|ws|wss):\/\/[^\s/]+/.test(raw) ? raw : undefined),
  },
  { name: 'log-level', configPath: 'log.level', description: 'log level', accepts: LOG_LEVELS.join(' | '), parse: parsers.oneOf(LOG_LEVELS), defaultText: 'info' },
  { name: 'node-port', configPath: 'nodes.port', description: "HTTP port of the nodes' API", accepts: 'an integer 1-65535', parse: parsers.port(1), defaultText: '80' },
  { name: 'data-dir', configPath: 'dataDir', description: 'where state is kept', accepts: 'a directory path', parse: parsers.nonEmpty, defaultText: './data' },
  { name: 'config', description: 'configuration file', accepts: 'a YAML or JSON file path', parse: parsers.nonEmpty },
  { name: 'bind', configPath: 'http.host', description: 'HTTP bind address', accepts: 'an IP address or host name', parse: parsers.nonEmpty, defaultText: '0.0.0.0' },
  { name: 'udp-bind', configPath: 'udp.host', description: 'UDP bind address', accepts: 'an IP address', parse: parsers.nonEmpty, defaultText: '0.0.0.0' },
  { name: 'broadcast', configPath: 'udp.broadcastAddress', description: 'where discovery probes are broadcast', accepts: 'an IPv4 address', parse: parsers.nonEmpty, defaultText: '255.255.255.255' },
  { name: 'node-timeout', configPath: 'nodes.requestTimeoutMs', description: 'timeout of calls to nodes, ms', accepts: 'an integer >= 1', parse: parsers.integer(1), defaultText: '5000' },
  { name: 'active-threshold', configPath: 'nodes.activeThresholdMs', description: 'ACTIVE while last seen within this, ms', accepts: 'an integer >= 1', parse: parsers.integer(1), defaultText: '10000' },
  { name: 'dead-threshold', configPath: 'nodes.deadThresholdMs', description: 'DEAD when last seen longer ago than this, ms', accepts: 'an integer >= 1', parse: parsers.integer(1), defaultText: '60000' },
  { name: 'remove-dead-after', configPath: 'nodes.removeDeadAfterMs', description: 'a DEAD node leaves the registry after this, ms', accepts: 'an integer >= 1', parse: parsers.integer(1), defaultText: '300000' },
  { name: 'upload-limit', configPath: 'http.uploadLimitBytes', description: 'largest firmware upload, bytes', accepts: 'an integer >= 1', parse: parsers.integer(1), defaultText: '16777216' },
  { name: 'gateway-id', configPath: 'gateway.id', description: 'this gateway\'s id', accepts: '1-64 of [A-Za-z0-9._-]', parse: (raw) => (/^[A-Za-z0-9._-]{1,64}$/.test(raw) ? raw : undefined), defaultText: 'the hostname' },
  {
    name: 'config-url',
    configPath: 'remoteConfig.url',
    description: 'pull the configuration from here first (cached in the data dir; falls back to the cache, then -config)',
    accepts: 'an http:// or https:// URL',
    parse: (raw) => (/^https?:\/\/[^\s/]+/.test(raw) ? raw : undefined),
  },
  { name: 'print-config', description: 'print the effective configuration (secrets masked) and exit', accepts: 'no value', boolean: true, parse: parsers.boolean },
  { name: 'help', description: 'show this help', accepts: 'no value', boolean: true, parse: parsers.boolean },
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
