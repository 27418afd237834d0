import { hostname as machineHostname } from 'node:os';
import { z } from 'zod';
import { LOG_LEVELS } from '../logger.js';
import { isValidBrokerUrl, qosSchema, tlsOptionsSchema, topicFilterSchema } from '../mqtt/connection.js';
import { pipelineSectionSchema } from '../pipeline/config-schema.js';
import { parsePublicKey } from '../firmware/firmware-signing.js';
import { isCidr } from '../cluster/node-address-policy.js';
import { alertsSectionSchema, notifySectionSchema } from '../alerts/config-schema.js';

/**
 * The one configuration schema of the gateway. Defaults here make a gateway
 * that works with no configuration at all (CONTRACT §1). Command-line flags,
 * the configuration file and (later) the environment all feed this schema.
 */

const port = z.number().int().min(1).max(65535);
const portOrZero = z.number().int().min(0).max(65535);
const positiveMs = z.number().int().min(1);

export const gatewaySectionSchema = z
  .object({
    /** Identifies this gateway in MQTT topics and pipeline records; defaults to the machine's hostname. */
    id: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" or "-" (1-64 characters)')
      .default(() => machineHostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'spore-gateway'),
  })
  .prefault({});

export const httpSectionSchema = z
  .object({
    port: portOrZero.default(3001),
    host: z.string().min(1).default('0.0.0.0'),
    /** Largest firmware upload accepted, in bytes (CONTRACT §4: default 16 MiB). */
    uploadLimitBytes: z.number().int().min(1).default(16 * 1024 * 1024),
    /** Largest JSON request body, in bytes. */
    bodyLimitBytes: z.number().int().min(1).default(1024 * 1024),
    /**
     * CORS origins allowed; "*" allows any. Unset: any origin while no API key is
     * configured (CONTRACT §4, for the SPORE UI on :3000), and only the gateway's own
     * origin and http://localhost:3000 once keys are (docs/security.md).
     */
    corsOrigins: z.array(z.string().regex(/^(\*|https?:\/\/[^\s/]+)$/, '"*" or an origin such as http://localhost:3000')).optional(),
  })
  .prefault({});

export const udpSectionSchema = z
  .object({
    port: portOrZero.default(4210),
    host: z.string().min(1).default('0.0.0.0'),
    /**
     * Where CLUSTER_DISCOVERY probes are broadcast (CONTRACT §2). Unset: the directed broadcast
     * address of every up, non-loopback IPv4 interface and 255.255.255.255 (issue 19); set: that
     * one address only.
     */
    broadcastAddress: z.string().min(1).optional(),
    /** Kernel receive buffer for the UDP socket, bytes (capped by net.core.rmem_max). */
    receiveBufferBytes: z.number().int().min(65536).default(4 * 1024 * 1024),
  })
  .prefault({});

export const nodesSectionSchema = z
  .object({
    /** HTTP port of the nodes' API (CONTRACT §1 `-node-port`). */
    port: port.default(80),
    /** Timeout of every call to a node, ms (CONTRACT §4: default 5 s). */
    requestTimeoutMs: positiveMs.default(5000),
    /** A node is ACTIVE while last seen at most this long ago, ms (CONTRACT §2). */
    activeThresholdMs: positiveMs.default(10_000),
    /** …INACTIVE up to this, DEAD beyond, ms (CONTRACT §2). */
    deadThresholdMs: positiveMs.default(60_000),
    /** A DEAD node leaves the registry after this long, ms (CONTRACT §2: default 5 min). */
    removeDeadAfterMs: positiveMs.default(5 * 60_000),
    /** How often node ages are re-evaluated, ms. */
    ageingIntervalMs: positiveMs.default(1000),
    /** Every ACTIVE node's /api/node/status is polled this often, ms. */
    statusPollIntervalMs: positiveMs.default(10_000),
    /** At most this many status polls run at once, so 1,000 nodes never open 1,000 sockets. */
    statusPollConcurrency: z.number().int().min(1).max(1024).default(16),
    /** The primary's member list is re-read this often, ms. */
    membersRefreshIntervalMs: positiveMs.default(5000),
    /** The primary is checked over HTTP this often, ms. */
    primaryCheckIntervalMs: positiveMs.default(2000),
    /** Consecutive failed HTTP checks before failing over. */
    primaryFailureThreshold: z.number().int().min(1).default(3),
    /** Probe for nodes (CLUSTER_DISCOVERY) this often, ms; 0 disables periodic probes. */
    discoveryIntervalMs: z.number().int().min(0).default(30_000),
    /**
     * Nodes known at most. UDP needs no key: datagrams naming more are dropped,
     * counted and reported in health (docs/security.md).
     */
    maxNodes: z.number().int().min(1).max(1_000_000).default(10_000),
    /**
     * Only datagrams from these IPv4 networks (CIDR, e.g. "192.168.1.0/24") can become
     * nodes; empty = any address that can be a node at all (docs/security.md).
     */
    allowedNetworks: z.array(z.string().refine(isCidr, 'an IPv4 CIDR such as 192.168.1.0/24')).default([]),
  })
  .prefault({})
  .refine((n) => n.deadThresholdMs > n.activeThresholdMs, {
    message: 'deadThresholdMs must be greater than activeThresholdMs',
    path: ['deadThresholdMs'],
  });

export const websocketSectionSchema = z
  .object({
    /**
     * A client whose unsent backlog exceeds this many bytes is closed with
     * code 1013 (CONTRACT §5; policy in docs/websocket.md).
     */
    maxBacklogBytes: z.number().int().min(1024).default(4 * 1024 * 1024),
    /** Ping interval to detect dead peers, ms. */
    pingIntervalMs: positiveMs.default(30_000),
  })
  .prefault({});

/** The web UI (issue 5), served at `/` from the Vite build. */
export const webSectionSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Directory of the built UI; default `dist/web` in the package. */
    root: z.string().min(1).optional(),
  })
  .prefault({});


/**
 * The MQTT bridge (CONTRACT §6, issue 3, docs/mqtt.md); off unless a URL is given.
 * Every option has a default; credentials come from MQTT_USER / MQTT_PASSWORD
 * (or `username` / `password` here).
 */
export const mqttSectionSchema = z
  .object({
    url: z
      .string()
      .refine((u) => u === 'embedded' || isValidBrokerUrl(u), 'tcp://, mqtt://, tls://, mqtts://, ws://, wss:// URL (port 1-65535) or "embedded"')
      .optional(),
    /** Broker user name; the MQTT_USER environment variable wins when set. */
    username: z.string().optional(),
    /** Broker password; the MQTT_PASSWORD environment variable wins when set. */
    password: z.string().optional(),
    /** MQTT client id; default `spore-gateway-<gateway.id>-<6 random hex>`. */
    clientId: z.string().min(1).max(128).optional(),
    /**
     * 3 = MQTT 3.1, 4 = MQTT 3.1.1, 5 = MQTT 5.0. Default: 5 to the embedded broker
     * (issue 19), 4 to any other broker (every one speaks 3.1.1).
     */
    protocolVersion: z.union([z.literal(3), z.literal(4), z.literal(5)]).optional(),
    /** Keep-alive, seconds. */
    keepaliveSeconds: z.number().int().min(0).max(65535).default(30),
    /** Wait between reconnection attempts, ms (CONTRACT §6: default 10 s). */
    reconnectPeriodMs: positiveMs.default(10_000),
    /** One connection attempt may take this long, ms. */
    connectTimeoutMs: positiveMs.default(10_000),
    /** Start a clean session on every connection (no broker-side queue while the gateway is away). */
    cleanSession: z.boolean().default(true),
    tls: tlsOptionsSchema.prefault({}),
    /** What the bridge subscribes to, each filter with its QoS (seed 001: default "#" at QoS 0). */
    subscriptions: z
      .array(z.object({ topic: topicFilterSchema, qos: qosSchema.default(0) }).strict())
      .min(1)
      .default([{ topic: '#', qos: 0 }]),
    /** Forward received messages to every WebSocket client (CONTRACT §5). */
    forwardToWebSocket: z.boolean().default(true),
    /** Forward the gateway's own publications (cluster state, events, answers) back to WebSocket clients too. */
    echoOwnPublications: z.boolean().default(false),
    /** MQTT 5: forward user properties and content type as extra WebSocket fields. */
    forwardProperties: z.boolean().default(true),
    retention: z
      .object({
        /** Messages kept per topic for GET /api/mqtt/messages and WebSocket replay; 0 keeps none. */
        perTopic: z.number().int().min(0).max(10_000).default(10),
        /** Topics kept; the least recently updated topic goes first. */
        maxTopics: z.number().int().min(1).default(1000),
        /** Characters of serialised messages kept in all (≈ bytes); oldest go first. */
        maxBytes: z.number().int().min(1024).default(16 * 1024 * 1024),
        /** Messages returned by GET /api/mqtt/messages and replayed when no limit is asked for. */
        defaultLimit: z.number().int().min(1).default(100),
        /** Largest `limit` / `replayLimit` accepted. */
        maxLimit: z.number().int().min(1).default(10_000),
      })
      .strict()
      .prefault({}),
    /** Drop a message whose topic and payload equal one seen within this window, ms; 0 = off (seed 001). */
    dedupWindowMs: z.number().int().min(0).default(0),
    /** At most this many messages per second per topic are forwarded; 0 = off (seed 001). */
    rateLimitPerTopic: z.number().min(0).default(0),
    /** Burst allowed above the per-topic rate, messages; default: one second's worth. */
    rateLimitBurst: z.number().int().min(1).optional(),
    /** The in-process aedes broker started by `-mqtt embedded`. */
    embedded: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: portOrZero.default(1883),
        /** MQTT over WebSocket on this port as well; off when absent. */
        wsPort: portOrZero.optional(),
        /** Largest MQTT packet a client may send, bytes (MQTT 5 clients are told in CONNACK). */
        maxPacketBytes: z.number().int().min(128).max(268_435_455).default(1024 * 1024),
        /** Longest MQTT 5 session expiry granted, seconds; longer requests are clamped (and the client told). */
        maxSessionExpirySeconds: z.number().int().min(0).max(4_294_967_295).default(86_400),
      })
      .strict()
      .prefault({}),
    /** The cluster on MQTT: node state, cluster summary, events, availability, commands. */
    cluster: z
      .object({
        /** On by default whenever the bridge is on. */
        enabled: z.boolean().default(true),
        /** Topic prefix; default `spore/<gateway.id>`. */
        prefix: z
          .string()
          .min(1)
          .refine((p) => !/[+#\u0000]/.test(p) && !p.endsWith('/') && !p.startsWith('$'), { message: 'a topic prefix without "+", "#", a trailing "/" or a leading "$"' })
          .optional(),
        /** QoS of the gateway's own publications. */
        qos: qosSchema.default(1),
        /** Node state is re-published (when it changed) this often, ms; changes of status are published at once. */
        statePublishIntervalMs: positiveMs.default(10_000),
        /** Publish gateway events on `<prefix>/events/<topic>`. */
        events: z.boolean().default(true),
        /** Accept commands on `<prefix>/nodes/<hostname>/command`. */
        commands: z.boolean().default(true),
        /** Commands run at once at most; more wait in a queue of `commandQueue`, beyond it they are refused. */
        commandConcurrency: z.number().int().min(1).max(256).default(8),
        commandQueue: z.number().int().min(0).max(100_000).default(256),
      })
      .strict()
      .prefault({}),
    /** Commands over MQTT (`<prefix>/nodes/<hostname>/command`, docs/mqtt.md). */
    commands: z
      .object({
        /**
         * MQTT 5 response topics (filters) answers may go to besides the gateway's own prefix;
         * a command naming any other response topic is refused (issue 12, docs/security.md).
         */
        allowResponseTopics: z.array(topicFilterSchema).max(100).default([]),
      })
      .strict()
      .prefault({}),
    /** Home Assistant MQTT discovery (opt-in). */
    homeAssistant: z
      .object({
        enabled: z.boolean().default(false),
        discoveryPrefix: z
          .string()
          .min(1)
          .refine((p) => !/[+#\u0000]/.test(p) && !p.endsWith('/'), { message: 'a topic prefix without "+", "#" or a trailing "/"' })
          .default('homeassistant'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export type MqttConfig = z.infer<typeof mqttSectionSchema>;

const SHA256_KEY = /^sha256:[0-9a-f]{64}$/;

/** API keys (docs/security.md). A key is the secret itself or `sha256:<hex>` of it. */
export const authSectionSchema = z
  .object({
    apiKeys: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" or "-" (1-64 characters)'),
            key: z
              .string()
              .refine((k) => SHA256_KEY.test(k) || (k.length >= 16 && !k.startsWith('sha256:')), {
                message: 'a secret of at least 16 characters, or "sha256:" followed by 64 lowercase hex digits',
              }),
            scope: z.enum(['read', 'admin']),
          })
          .strict(),
      )
      .default([])
      .refine((keys) => new Set(keys.map((k) => k.name)).size === keys.length, { message: 'API key names must be unique' }),
    /** Reads (GET) and the WebSocket need a key too (any scope). */
    protectReads: z.boolean().default(false),
  })
  .prefault({});

/** Remote-first configuration (docs/configuration.md). */
export const remoteConfigSectionSchema = z
  .object({
    /** Pull the configuration from here at start and every pollIntervalMs. */
    url: z.string().regex(/^https?:\/\/[^\s/]+/, 'an http:// or https:// URL').optional(),
    pollIntervalMs: z.number().int().min(1000).default(60_000),
    /** One fetch (headers and body) may take this long, ms. */
    timeoutMs: positiveMs.default(10_000),
    /**
     * Extra request headers, e.g. `Authorization: Bearer <token>`, so a token needs no
     * place in the URL. Values are secrets: masked in -print-config, never logged.
     */
    headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name'), z.string()).default({}),
  })
  .prefault({});

const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `firmware.signing`: ed25519 keys whose detached signatures the store accepts. */
export const signingSectionSchema = z
  .object({
    /** Refuse unsigned images (400 invalid_signature); otherwise they are stored marked "unsigned". */
    required: z.boolean().default(false),
    /** Several keys at once, for rotation: an image verifying with any of them is accepted. */
    trustedKeys: z
      .array(
        z
          .object({
            id: z.string().regex(KEY_ID, '1-64 of letters, digits, ".", "_", "-"'),
            /** ed25519 public key: PEM (SPKI) or base64 (32 raw bytes or DER SPKI). */
            publicKey: z.string().superRefine((text, ctx) => {
              try {
                parsePublicKey(text);
              } catch (err) {
                ctx.addIssue({ code: 'custom', message: `an ed25519 public key as PEM or base64 (spore keys generate): ${(err as Error).message}` });
              }
            }),
          })
          .strict(),
      )
      .default([])
      .refine((keys) => new Set(keys.map((k) => k.id)).size === keys.length, { message: 'key ids must be unique' }),
    /** Key ids whose images can no longer start rollouts (and whose new signatures are refused). */
    revokedKeys: z.array(z.string().regex(KEY_ID, '1-64 of letters, digits, ".", "_", "-"')).default([]),
  })
  .strict()
  .prefault({})
  .refine((s) => !s.required || s.trustedKeys.some((k) => !s.revokedKeys.includes(k.id)), {
    message: 'signing is required but no trusted, unrevoked key is configured: add one to trustedKeys',
    path: ['trustedKeys'],
  });

/** Firmware store, OTA verification and rollouts (issue 4, docs/firmware.md). */
export const firmwareSectionSchema = z
  .object({
    /** After a single-node OTA, how long to wait for the node to come back and report, ms. */
    bootTimeoutMs: positiveMs.default(60_000),
    /** While waiting for a node's return, its /api/node/status is read this often, ms. */
    verifyPollIntervalMs: positiveMs.default(1000),
    /**
     * A node whose upload makes no progress (no byte accepted, no answer) for this long fails
     * with that reason, ms (issue 17 §4). `uploadIdleTimeoutMs` is its older name.
     */
    stallTimeoutMs: positiveMs.default(30_000),
    /** Older name of stallTimeoutMs, ms; when given it wins. */
    uploadIdleTimeoutMs: positiveMs.optional(),
    /** Signed images (issue 17 §1, docs/firmware.md "Signed images"). */
    signing: signingSectionSchema,
    /** A whole upload to one node may not take longer than this, ms (ESP8266 flash ~40 KB/s: 1 MB ≈ 25 s). */
    uploadTimeoutMs: positiveMs.default(10 * 60_000),
    /** Rollout defaults for fields a request leaves out. */
    rolloutDefaults: z
      .object({
        batchSize: z.number().int().min(1).max(1000).default(1),
        maxFailures: z.number().int().min(0).default(0),
        bootTimeoutSec: z.number().int().min(1).max(3600).default(60),
      })
      .prefault({}),
  })
  .prefault({});

/** History of node metrics and pipeline channels in SQLite (issue 15 §4, docs/history.md). */
export const historySectionSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Every sample is kept this long, hours. */
    rawRetentionHours: z.number().min(1).max(24 * 31).default(24),
    /** 1-minute min/avg/max are kept this long, days. */
    minuteRetentionDays: z.number().min(1).max(3660).default(30),
    /** Disk bound of the history database, bytes; the oldest data goes first. */
    maxBytes: z.number().int().min(1024 * 1024).default(1024 * 1024 * 1024),
    /** Buffered samples are written this often, ms (a crash loses at most this much). */
    flushIntervalMs: z.number().int().min(100).max(600_000).default(5000),
    /** Node free heap, latency and status are sampled this often, ms. */
    nodeSampleIntervalMs: z.number().int().min(100).default(10_000),
  })
  .strict()
  .prefault({});

/** Scheduled backups into `<dataDir>/backups` (issue 15 §5); off unless an interval is set. */
export const backupSectionSchema = z
  .object({
    /** Take a backup this often, hours; 0 = never. */
    intervalHours: z.number().min(0).default(0),
    /** Keep the newest this many scheduled backups. */
    keep: z.number().int().min(1).max(1000).default(7),
  })
  .strict()
  .prefault({});

export const logSectionSchema = z
  .object({
    level: z.enum(LOG_LEVELS).default('info'),
    /** Lines kept in memory for the log view and `GET /api/logs` (issue 15 §7). */
    bufferLines: z.number().int().min(100).max(100_000).default(5000),
  })
  .strict()
  .prefault({});

export const configSchema = z
  .object({
    gateway: gatewaySectionSchema,
    http: httpSectionSchema,
    udp: udpSectionSchema,
    nodes: nodesSectionSchema,
    websocket: websocketSectionSchema,
    web: webSectionSchema,
    log: logSectionSchema,
    mqtt: mqttSectionSchema,
    auth: authSectionSchema,
    remoteConfig: remoteConfigSectionSchema,
    /** The data pipeline: connectors, transforms, sinks (issue 6, docs/pipeline.md). */
    pipeline: pipelineSectionSchema,
    firmware: firmwareSectionSchema,
    history: historySectionSchema,
    /** Alert rules (issue 15 §2, docs/alerts.md). */
    alerts: alertsSectionSchema,
    /** Where alerts are delivered besides the UI: a webhook (docs/alerts.md). */
    notify: notifySectionSchema,
    backup: backupSectionSchema,
    /** Where state is kept: firmware, rollouts, buffers, caches (CONTRACT §1). */
    dataDir: z.string().min(1).default('./data'),
  })
  .strict();

export type GatewayConfig = z.infer<typeof configSchema>;
export type GatewayConfigInput = z.input<typeof configSchema>;
