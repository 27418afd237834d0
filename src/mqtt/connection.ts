import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import { z } from 'zod';
import { topicFilterProblem } from './topic-filter.js';

/**
 * The one MQTT connection vocabulary (issue 11 §4), used by the bridge (`mqtt.*`), the
 * pipeline's `mqtt` connectors and its `mqtt` sinks: broker URLs, TLS, QoS, topic-filter and
 * publish-topic checks, mqtt.js client options and URL redaction.
 */

/** MQTT quality of service. */
export type QoS = 0 | 1 | 2;

export const qosSchema = z.union([z.literal(0), z.literal(1), z.literal(2)], { error: 'qos must be 0, 1 or 2' });

/** An MQTT topic filter: levels separated by "/", "+" a whole level, "#" only as the last level. */
export const topicFilterSchema = z.string({ error: 'topic is required (an MQTT topic filter)' }).superRefine((t, ctx) => {
  const problem = topicFilterProblem(t);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A topic one publishes to has no wildcard (MQTT 3.1.1 §4.7.1). */
export function hasWildcard(topic: string): boolean {
  return /[+#]/.test(topic);
}

export const NO_WILDCARD_IN_PUBLISH_TOPIC = 'a publish topic must not contain "+" or "#"';

/**
 * Broker URLs of CONTRACT §1/§6: tcp:// and mqtt:// (default port 1883),
 * tls:// and mqtts:// (8883), ws:// (80) and wss:// (443) with the path
 * `/mqtt` when none is given. Credentials in the URL are accepted and never shown.
 */
export type BrokerTransport = 'mqtt' | 'mqtts' | 'ws' | 'wss';

export interface BrokerAddress {
  transport: BrokerTransport;
  host: string;
  port: number;
  /** WebSocket path; "" for TCP transports. */
  path: string;
  username?: string;
  password?: string;
  /** The URL without credentials, normalised, for logs, health and `mqtt/status`. */
  display: string;
}

const TRANSPORTS: Record<string, { transport: BrokerTransport; port: number }> = {
  tcp: { transport: 'mqtt', port: 1883 },
  mqtt: { transport: 'mqtt', port: 1883 },
  tls: { transport: 'mqtts', port: 8883 },
  mqtts: { transport: 'mqtts', port: 8883 },
  ws: { transport: 'ws', port: 80 },
  wss: { transport: 'wss', port: 443 },
};

export const DEFAULT_WS_PATH = '/mqtt';

export class BrokerUrlError extends Error {
  constructor(url: string, why: string) {
    super(`MQTT broker URL "${redactUrl(url)}" ${why}; use tcp://host[:1883], mqtt://, tls://host[:8883], mqtts://, ws://host[:80][/mqtt], wss:// or "embedded"`);
    this.name = 'BrokerUrlError';
  }
}

export function parseBrokerUrl(url: string): BrokerAddress {
  const scheme = /^([a-z]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  const known = scheme ? TRANSPORTS[scheme] : undefined;
  if (!known) throw new BrokerUrlError(url, 'has an unknown scheme');
  let parsed: URL;
  try {
    // WHATWG URL treats tcp:// and friends as opaque; parse as http to get host and port the same way.
    parsed = new URL(url.replace(/^[a-z]+:\/\//i, 'http://'));
  } catch {
    throw new BrokerUrlError(url, 'is not a valid URL');
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new BrokerUrlError(url, 'has no host');
  // "http://h:80" loses its port in WHATWG URL (default for http); read it from the text instead.
  const explicitPort = /^[a-z]+:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)/i.exec(url)?.[1];
  const port = explicitPort !== undefined ? Number(explicitPort) : known.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BrokerUrlError(url, 'has a port outside 1-65535');
  const isWs = known.transport === 'ws' || known.transport === 'wss';
  const rawPath = parsed.pathname + parsed.search;
  const path = isWs ? (rawPath === '/' || rawPath === '' ? DEFAULT_WS_PATH : rawPath) : '';
  const hostText = host.includes(':') ? `[${host}]` : host;
  const display = `${scheme}://${hostText}:${port}${path}`;
  const address: BrokerAddress = { transport: known.transport, host, port, path, display };
  if (parsed.username) address.username = decodeURIComponent(parsed.username);
  if (parsed.password) address.password = decodeURIComponent(parsed.password);
  return address;
}

/** The URL with any credentials replaced, for logs, health and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1***@');
}

/** True when `url` is a broker URL this gateway can use. */
export function isValidBrokerUrl(url: string): boolean {
  try {
    parseBrokerUrl(url);
    return !/\s/.test(url);
  } catch {
    return false;
  }
}

/**
 * Broker TLS options, one schema for the MQTT bridge (`mqtt.tls`), the
 * pipeline's `mqtt` connectors and sinks: CA, client certificate and key as
 * PEM file paths, and an explicit opt-in for self-signed brokers.
 */
export const tlsOptionsSchema = z
  .object({
    caFile: z.string().min(1).optional().describe('PEM file of the certificate authority that signed the broker\'s certificate.'),
    certFile: z.string().min(1).optional().describe('PEM client certificate, for brokers that ask for one (mutual TLS); keyFile goes with it.'),
    keyFile: z.string().min(1).optional().describe('PEM file of the key of certFile.'),
    allowSelfSigned: z.boolean().default(false).describe('Explicit opt-in: accept any broker certificate (self-signed, wrong name). Insecure.'),
    servername: z.string().min(1).optional().describe('Server name for SNI and certificate checks when it differs from the URL\'s host.'),
  })
  .strict()
  .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), { message: 'certFile and keyFile go together', path: ['keyFile'] });

export type TlsOptions = z.infer<typeof tlsOptionsSchema>;

/** Thrown when a TLS file cannot be read; names the setting and the path. */
export class TlsFileError extends Error {}

/**
 * mqtt.js TLS options, with the files read now. Over `wss://` the same options
 * go to the WebSocket too (mqtt.js does not pass them on by itself).
 * `setting` prefixes the option names in errors, e.g. `mqtt.tls`.
 */
export function tlsClientOptions(tls: TlsOptions, setting: string, websocket: boolean): Partial<IClientOptions> {
  const read = (name: 'caFile' | 'certFile' | 'keyFile'): Buffer | undefined => {
    const path = tls[name];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new TlsFileError(`${setting}.${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  };
  const ca = read('caFile');
  const cert = read('certFile');
  const key = read('keyFile');
  const secure = {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    rejectUnauthorized: !tls.allowSelfSigned,
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
  return websocket ? { ...secure, wsOptions: { ...secure } } : secure;
}

/** What every client connection of the gateway sets the same way. */
interface CommonConnectionOptions {
  clientId: string;
  protocolVersion: 3 | 4 | 5;
  keepaliveSeconds: number;
  reconnectPeriodMs: number;
  connectTimeoutMs: number;
  username?: string | undefined;
  password?: string | undefined;
}

function commonClientOptions(o: CommonConnectionOptions): IClientOptions {
  return {
    clientId: o.clientId,
    protocolVersion: o.protocolVersion,
    // MQTT 3.1 names its protocol "MQIsdp"; 3.1.1 and 5 say "MQTT".
    protocolId: o.protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
    keepalive: o.keepaliveSeconds,
    reconnectPeriod: o.reconnectPeriodMs,
    connectTimeout: o.connectTimeoutMs,
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    // mqtt.js logs through `debug` several times per packet; even disabled, those calls were ~5 %
    // of the bridge's CPU at 1 client (bench/mqtt-ws-throughput.ts profile, issue 16 §5). The
    // gateway logs what matters itself (pino).
    log: noLog,
  };
}

const noLog = (): void => undefined;

export interface MqttWill {
  topic: string;
  payload: string;
  qos: QoS;
  retain: boolean;
}

/** The bridge's connection (`mqtt.*` of the configuration, the URL parsed). */
export interface BrokerConnectionOptions {
  address: BrokerAddress;
  username?: string;
  password?: string;
  clientId: string;
  protocolVersion: 3 | 4 | 5;
  keepaliveSeconds: number;
  reconnectPeriodMs: number;
  connectTimeoutMs: number;
  cleanSession: boolean;
  tls: TlsOptions;
  will?: MqttWill;
}

/**
 * mqtt.js options of the bridge's connection. Reads TLS files now (only over mqtts:// and
 * wss://): a missing file throws a TlsFileError naming `mqtt.tls.<option>`.
 */
export function bridgeClientOptions(o: BrokerConnectionOptions): IClientOptions {
  const a = o.address;
  const opts: IClientOptions = {
    protocol: a.transport,
    host: a.host,
    port: a.port,
    ...commonClientOptions({ ...o, username: o.username ?? a.username, password: o.password ?? a.password }),
    clean: o.cleanSession,
    // Wrong credentials may be fixed on the broker side: keep trying (CONTRACT §6).
    reconnectOnConnackError: true,
    // The bridge subscribes itself on every connection, to record what was granted.
    resubscribe: false,
    // QoS 0 publications made while offline are not queued (they are re-published on connect).
    queueQoSZero: false,
  };
  if (a.path) opts.path = a.path;
  if (o.will) opts.will = { topic: o.will.topic, payload: Buffer.from(o.will.payload), qos: o.will.qos, retain: o.will.retain };
  if (a.transport === 'mqtts' || a.transport === 'wss') Object.assign(opts, tlsClientOptions(o.tls, 'mqtt.tls', a.transport === 'wss'));
  return opts;
}

/**
 * Broker connection options shared by the pipeline's `mqtt` connector and `mqtt` sink: URL,
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
 * mqtt.js options for a pipeline connection (passed with the URL to mqtt.connect). Reads TLS
 * files now: a missing file throws an Error naming it. `tcp://`/`tls://` are mqtt.js's own
 * aliases of `mqtt://`/`mqtts://`.
 */
export function mqttClientOptions(cfg: MqttConnectionConfig, defaultClientId: string, env: NodeJS.ProcessEnv = process.env): IClientOptions {
  const options: IClientOptions = {
    ...commonClientOptions({
      ...cfg,
      clientId: cfg.clientId ?? defaultClientId,
      username: cfg.usernameEnv ? env[cfg.usernameEnv] : cfg.username,
      password: cfg.passwordEnv ? env[cfg.passwordEnv] : cfg.password,
    }),
    clean: true,
  };
  if (cfg.tls) Object.assign(options, tlsClientOptions(cfg.tls, 'tls', /^wss:/.test(cfg.url)));
  return options;
}
