import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import { z } from 'zod';

/**
 * Broker connection options shared by the `mqtt` connector and the `mqtt` sink: URL,
 * credentials (inline or from environment variables, e.g. the bridge's MQTT_USER/MQTT_PASSWORD)
 * and TLS (CA, client certificate, key: file paths).
 */
export const MQTT_URL_PATTERN = /^(mqtt|mqtts|tcp|tls|ws|wss):\/\/[^\s/]+/;

const envVar = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name, e.g. MQTT_PASSWORD');

export const tlsSchema = z
  .object({
    /** CA certificate(s) to trust, PEM file path. */
    ca: z.string().min(1).optional(),
    /** Client certificate (mutual TLS), PEM file path. */
    cert: z.string().min(1).optional(),
    /** Client private key, PEM file path. */
    key: z.string().min(1).optional(),
    /** Verify the broker's certificate; turn off only for testing. */
    rejectUnauthorized: z.boolean().default(true),
    /** Name to verify the certificate against, when it differs from the URL's host. */
    servername: z.string().min(1).optional(),
  })
  .strict()
  .refine((t) => (t.cert === undefined) === (t.key === undefined), { message: 'tls.cert and tls.key go together', path: ['cert'] });

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
  /** ms between reconnect attempts after the connection drops. */
  reconnectMs: z.number().int().min(10).default(2000),
  /** ms to wait for CONNACK. */
  connectTimeoutMs: z.number().int().min(100).default(10_000),
  /** MQTT keepalive, seconds. */
  keepaliveSec: z.number().int().min(0).max(65535).default(30),
  tls: tlsSchema.optional(),
};

export interface MqttConnectionConfig {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  usernameEnv?: string | undefined;
  passwordEnv?: string | undefined;
  clientId?: string | undefined;
  reconnectMs: number;
  connectTimeoutMs: number;
  keepaliveSec: number;
  tls?: z.infer<typeof tlsSchema> | undefined;
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
    reconnectPeriod: cfg.reconnectMs,
    connectTimeout: cfg.connectTimeoutMs,
    keepalive: cfg.keepaliveSec,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
  if (cfg.tls) {
    const read = (what: string, path: string | undefined): Buffer | undefined => {
      if (path === undefined) return undefined;
      try {
        return readFileSync(path);
      } catch (err) {
        throw new Error(`cannot read tls.${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    };
    const ca = read('ca', cfg.tls.ca);
    const cert = read('cert', cfg.tls.cert);
    const key = read('key', cfg.tls.key);
    Object.assign(options, {
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      rejectUnauthorized: cfg.tls.rejectUnauthorized,
      ...(cfg.tls.servername ? { servername: cfg.tls.servername } : {}),
    });
  }
  return options;
}

/** The URL without credentials, for logs and health. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
