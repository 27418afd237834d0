import type { IClientOptions } from 'mqtt';
import { z } from 'zod';
import { tlsClientOptions, tlsOptionsSchema, type TlsOptions } from '../mqtt/tls-options.js';

/**
 * Broker connection options shared by the `mqtt` connector and the `mqtt` sink: URL,
 * credentials (inline or from environment variables, e.g. the bridge's MQTT_USER/MQTT_PASSWORD)
 * and TLS (CA, client certificate, key: file paths), with the MQTT bridge's option names.
 */
export const MQTT_URL_PATTERN = /^(mqtt|mqtts|tcp|tls|ws|wss):\/\/[^\s/]+/;

const envVar = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name, e.g. MQTT_PASSWORD');


export const mqttConnectionShape = {
  url: z
    .string({ error: 'url is required: mqtt://host[:1883], mqtts://host[:8883], tcp://, tls://, ws://, wss://' })
    .regex(MQTT_URL_PATTERN, 'url must be mqtt://, mqtts://, tcp://, tls://, ws:// or wss:// with a host'),
  username: z.string().optional(),
  password: z.string().optional(),
  /** Read the user name from this environment variable (e.g. MQTT_USER, as the bridge does). */
  usernameEnv: envVar.optional(),
  /** Read the password from this environment variable (e.g. MQTT_PASSWORD). */
  passwordEnv: envVar.optional(),
  /** Defaults to spore-<gateway id>-<connector/sink id>: stable, so a broker session follows the gateway. */
  clientId: z.string().min(1).max(128).optional(),
  /** 3 = MQTT 3.1, 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
  protocolVersion: z.union([z.literal(3), z.literal(4), z.literal(5)], { error: 'protocolVersion must be 3, 4 or 5' }).default(4),
  /** Wait between reconnection attempts, ms. */
  reconnectPeriodMs: z.number().int().min(10).default(2000),
  /** One connection attempt may take this long, ms. */
  connectTimeoutMs: z.number().int().min(100).default(10_000),
  /** MQTT keep-alive, seconds. */
  keepaliveSeconds: z.number().int().min(0).max(65535).default(30),
  tls: tlsOptionsSchema.optional(),
};

export interface MqttConnectionConfig {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  usernameEnv?: string | undefined;
  passwordEnv?: string | undefined;
  clientId?: string | undefined;
  protocolVersion: 3 | 4 | 5;
  reconnectPeriodMs: number;
  connectTimeoutMs: number;
  keepaliveSeconds: number;
  tls?: TlsOptions | undefined;
}

/**
 * mqtt.js options for a connection. Reads TLS files now: a missing file throws an Error naming it.
 * `tcp://`/`tls://` are mqtt.js's own aliases of `mqtt://`/`mqtts://`.
 */
export function mqttClientOptions(cfg: MqttConnectionConfig, defaultClientId: string, env: NodeJS.ProcessEnv = process.env): IClientOptions {
  const username = cfg.usernameEnv ? env[cfg.usernameEnv] : cfg.username;
  const password = cfg.passwordEnv ? env[cfg.passwordEnv] : cfg.password;
  const options: IClientOptions = {
    clientId: cfg.clientId ?? defaultClientId,
    clean: true,
    protocolVersion: cfg.protocolVersion,
    ...(cfg.protocolVersion === 3 ? { protocolId: 'MQIsdp' as const } : {}),
    reconnectPeriod: cfg.reconnectPeriodMs,
    connectTimeout: cfg.connectTimeoutMs,
    keepalive: cfg.keepaliveSeconds,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
  if (cfg.tls) Object.assign(options, tlsClientOptions(cfg.tls, 'tls', /^wss:/.test(cfg.url)));
  return options;
}

/** The URL without credentials, for logs and health. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
