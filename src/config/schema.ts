import { hostname as machineHostname } from 'node:os';
import { z } from 'zod';
import { LOG_FORMATS, LOG_LEVELS } from '../logger.js';
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
    port: port.default(80).describe('HTTP port of the nodes\' API (CONTRACT §1 `-node-port`).'),
    requestTimeoutMs: positiveMs.default(5000).describe('Timeout of every call to a node, ms (CONTRACT §4: default 5 s).'),
    activeThresholdMs: positiveMs.default(10_000).describe('A node is ACTIVE while last seen at most this long ago, ms (CONTRACT §2).'),
    deadThresholdMs: positiveMs.default(60_000).describe('…INACTIVE up to this, DEAD beyond, ms (CONTRACT §2).'),
    removeDeadAfterMs: positiveMs.default(5 * 60_000).describe('A DEAD node leaves the registry after this long, ms (CONTRACT §2: default 5 min).'),
    ageingIntervalMs: positiveMs.default(1000).describe('How often node ages are re-evaluated, ms.'),
    statusPollIntervalMs: positiveMs.default(10_000).describe('Every ACTIVE node\'s /api/node/status is polled this often, ms.'),
    statusPollConcurrency: z.number().int().min(1).max(1024).default(16).describe('At most this many status polls run at once, so 1,000 nodes never open 1,000 sockets.'),
    membersRefreshIntervalMs: positiveMs.default(5000).describe('The primary\'s member list is re-read this often, ms.'),
    membersRefreshMsPerNode: z.number().min(0).max(60_000).default(2).describe('In large clusters the member list is re-read at most every this many ms per known node (10,000 nodes: 20 s), when that is longer than membersRefreshIntervalMs; 0 = always the interval.'),
    primaryCheckIntervalMs: positiveMs.default(2000).describe('The primary is checked over HTTP this often, ms.'),
    primaryFailureThreshold: z.number().int().min(1).default(3).describe('Consecutive failed HTTP checks before failing over.'),
    discoveryIntervalMs: z.number().int().min(0).default(30_000).describe('Probe for nodes (CLUSTER_DISCOVERY) this often, ms; 0 disables periodic probes.'),
    persistIntervalMs: positiveMs.default(5000).describe('Changed nodes are written to <dataDir>/registry/nodes.db this often, in one transaction, ms; after a crash a node\'s stored lastSeen may be this much older than its last datagram.'),
    maxNodes: z.number().int().min(1).max(1_000_000).default(10_000).describe('Nodes known at most. UDP needs no key: datagrams naming more are dropped, counted and reported in health (docs/security.md).'),
    allowedNetworks: z.array(z.string().refine(isCidr, 'an IPv4 CIDR such as 192.168.1.0/24')).default([]).describe('Only datagrams from these IPv4 networks (CIDR, e.g. "192.168.1.0/24") can become nodes; empty = any address that can be a node at all (docs/security.md).'),
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
      .optional()
      .describe('The broker: mqtt://host:1883, mqtts://, ws://, wss:// or "embedded" (the in-process broker); the bridge is off without it.'),
    username: z.string().optional().describe('Broker user name; the MQTT_USER environment variable wins when set.'),
    password: z.string().optional().describe('Broker password; the MQTT_PASSWORD environment variable wins when set.'),
    clientId: z.string().min(1).max(128).optional().describe('MQTT client id; default `spore-gateway-<gateway.id>-<6 random hex>`.'),
    protocolVersion: z.union([z.literal(3), z.literal(4), z.literal(5)]).optional().describe('3 = MQTT 3.1, 4 = MQTT 3.1.1, 5 = MQTT 5.0. Default: 5 to the embedded broker (issue 19), 4 to any other broker (every one speaks 3.1.1).'),
    keepaliveSeconds: z.number().int().min(0).max(65535).default(30).describe('Keep-alive, seconds.'),
    reconnectPeriodMs: positiveMs.default(10_000).describe('Wait between reconnection attempts, ms (CONTRACT §6: default 10 s).'),
    connectTimeoutMs: positiveMs.default(10_000).describe('One connection attempt may take this long, ms.'),
    cleanSession: z.boolean().default(true).describe('Start a clean session on every connection (no broker-side queue while the gateway is away).'),
    tls: tlsOptionsSchema.prefault({}),
    subscriptions: z
      .array(z.object({ topic: topicFilterSchema, qos: qosSchema.default(0) }).strict())
      .min(1)
      .default([{ topic: '#', qos: 0 }]).describe('What the bridge subscribes to, each filter with its QoS (seed 001: default "#" at QoS 0).'),
    forwardToWebSocket: z.boolean().default(true).describe('Forward received messages to every WebSocket client (CONTRACT §5).'),
    echoOwnPublications: z.boolean().default(false).describe('Forward the gateway\'s own publications (cluster state, events, answers) back to WebSocket clients too.'),
    forwardProperties: z.boolean().default(true).describe('MQTT 5: forward user properties and content type as extra WebSocket fields.'),
    retention: z
      .object({
        perTopic: z.number().int().min(0).max(10_000).default(10).describe('Messages kept per topic for GET /api/mqtt/messages and WebSocket replay; 0 keeps none.'),
        maxTopics: z.number().int().min(1).default(1000).describe('Topics kept; the least recently updated topic goes first.'),
        maxBytes: z.number().int().min(1024).default(16 * 1024 * 1024).describe('Characters of serialised messages kept in all (≈ bytes); oldest go first.'),
        defaultLimit: z.number().int().min(1).default(100).describe('Messages returned by GET /api/mqtt/messages and replayed when no limit is asked for.'),
        maxLimit: z.number().int().min(1).default(10_000).describe('Largest `limit` / `replayLimit` accepted.'),
      })
      .strict()
      .prefault({}),
    dedupWindowMs: z.number().int().min(0).default(0).describe('Drop a message whose topic and payload equal one seen within this window, ms; 0 = off (seed 001).'),
    rateLimitPerTopic: z.number().min(0).default(0).describe('At most this many messages per second per topic are forwarded; 0 = off (seed 001).'),
    rateLimitBurst: z.number().int().min(1).optional().describe('Burst allowed above the per-topic rate, messages; default: one second\'s worth.'),
    embedded: z
      .object({
        host: z.string().min(1).default('0.0.0.0').describe('Address the embedded broker listens on.'),
        port: portOrZero.default(1883).describe('MQTT port of the embedded broker; 0 picks a free one.'),
        wsPort: portOrZero.optional().describe('MQTT over WebSocket on this port as well; off when absent.'),
        maxPacketBytes: z.number().int().min(128).max(268_435_455).default(1024 * 1024).describe('Largest MQTT packet a client may send, bytes (MQTT 5 clients are told in CONNACK).'),
        maxSessionExpirySeconds: z.number().int().min(0).max(4_294_967_295).default(86_400).describe('Longest MQTT 5 session expiry granted, seconds; longer requests are clamped (and the client told).'),
      })
      .strict()
      .prefault({}).describe('The in-process aedes broker started by `-mqtt embedded`.'),
    cluster: z
      .object({
        enabled: z.boolean().default(true).describe('On by default whenever the bridge is on.'),
        prefix: z
          .string()
          .min(1)
          .refine((p) => !/[+#\u0000]/.test(p) && !p.endsWith('/') && !p.startsWith('$'), { message: 'a topic prefix without "+", "#", a trailing "/" or a leading "$"' })
          .optional().describe('Topic prefix; default `spore/<gateway.id>`.'),
        qos: qosSchema.default(1).describe('QoS of the gateway\'s own publications.'),
        statePublishIntervalMs: positiveMs.default(10_000).describe('Node state is re-published (when it changed) this often, ms; changes of status are published at once.'),
        events: z.boolean().default(true).describe('Publish gateway events on `<prefix>/events/<topic>`.'),
        commands: z.boolean().default(true).describe('Accept commands on `<prefix>/nodes/<hostname>/command`.'),
        commandConcurrency: z.number().int().min(1).max(256).default(8).describe('Commands run at once at most; more wait in a queue of `commandQueue`, beyond it they are refused.'),
        commandQueue: z.number().int().min(0).max(100_000).default(256).describe('Commands waiting for a free slot at most; beyond, a command is refused.'),
      })
      .strict()
      .prefault({}).describe('The cluster on MQTT: node state, cluster summary, events, availability, commands.'),
    commands: z
      .object({
        allowResponseTopics: z
          .array(topicFilterSchema)
          .max(100)
          .default([])
          .describe("MQTT 5 response topics (filters) command answers may go to besides the gateway's own prefix; a command naming any other response topic is refused (docs/security.md)."),
      })
      .strict()
      .prefault({}).describe('Commands over MQTT (`<prefix>/nodes/<hostname>/command`, docs/mqtt.md).'),
    homeAssistant: z
      .object({
        enabled: z.boolean().default(false).describe('Publish Home Assistant discovery messages for the nodes.'),
        discoveryPrefix: z
          .string()
          .min(1)
          .refine((p) => !/[+#\u0000]/.test(p) && !p.endsWith('/'), { message: 'a topic prefix without "+", "#" or a trailing "/"' })
          .default('homeassistant')
          .describe('Topic prefix Home Assistant watches for discovery.'),
      })
      .strict()
      .prefault({}).describe('Home Assistant MQTT discovery (opt-in).'),
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
    protectReads: z.boolean().default(false).describe('Reads (GET) and the WebSocket need a key too (any scope).'),
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
    required: z.boolean().default(false).describe('Refuse unsigned images (400 invalid_signature); otherwise they are stored marked "unsigned".'),
    trustedKeys: z
      .array(
        z
          .object({
            id: z.string().regex(KEY_ID, '1-64 of letters, digits, ".", "_", "-"'),
            publicKey: z.string().superRefine((text, ctx) => {
              try {
                parsePublicKey(text);
              } catch (err) {
                ctx.addIssue({ code: 'custom', message: `an ed25519 public key as PEM or base64 (spore keys generate): ${(err as Error).message}` });
              }
            }).describe('ed25519 public key: PEM (SPKI) or base64 (32 raw bytes or DER SPKI).'),
          })
          .strict(),
      )
      .default([])
      .refine((keys) => new Set(keys.map((k) => k.id)).size === keys.length, { message: 'key ids must be unique' }).describe('Several keys at once, for rotation: an image verifying with any of them is accepted.'),
    revokedKeys: z.array(z.string().regex(KEY_ID, '1-64 of letters, digits, ".", "_", "-"')).default([]).describe('Key ids whose images can no longer start rollouts (and whose new signatures are refused).'),
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
    bootTimeoutMs: positiveMs.default(60_000).describe('After a single-node OTA, how long to wait for the node to come back and report, ms.'),
    verifyPollIntervalMs: positiveMs.default(1000).describe('While waiting for a node\'s return, its /api/node/status is read this often, ms.'),
    stallTimeoutMs: positiveMs.default(30_000).describe('A node whose upload makes no progress (no byte accepted, no answer) for this long fails with that reason, ms (issue 17 §4). `uploadIdleTimeoutMs` is its older name.'),
    uploadIdleTimeoutMs: positiveMs.optional().describe('Older name of stallTimeoutMs, ms; when given it wins.'),
    signing: signingSectionSchema.describe('Signed images (issue 17 §1, docs/firmware.md "Signed images").'),
    uploadTimeoutMs: positiveMs.default(10 * 60_000).describe('A whole upload to one node may not take longer than this, ms (ESP8266 flash ~40 KB/s: 1 MB ≈ 25 s).'),
    rolloutDefaults: z
      .object({
        batchSize: z.number().int().min(1).max(1000).default(1).describe('Nodes updated at once in a rollout.'),
        maxFailures: z.number().int().min(0).default(0).describe('A rollout stops once more nodes than this have failed.'),
        bootTimeoutSec: z.number().int().min(1).max(3600).default(60).describe('How long a rollout waits for each node to come back with the new image, seconds.'),
      })
      .prefault({}).describe('Rollout defaults for fields a request leaves out.'),
  })
  .prefault({});

/** History of node metrics and pipeline channels in SQLite (issue 15 §4, docs/history.md). */
export const historySectionSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Keep history of node metrics and pipeline channels (the node and device charts).'),
    rawRetentionHours: z.number().min(1).max(24 * 31).default(24).describe('Every sample is kept this long, hours.'),
    minuteRetentionDays: z.number().min(1).max(3660).default(30).describe('1-minute min/avg/max are kept this long, days.'),
    maxBytes: z.number().int().min(1024 * 1024).default(1024 * 1024 * 1024).describe('Disk bound of the history database, bytes; the oldest data goes first.'),
    flushIntervalMs: z.number().int().min(100).max(600_000).default(5000).describe('Buffered samples are written this often, ms (a crash loses at most this much).'),
    nodeSampleIntervalMs: z.number().int().min(100).default(10_000).describe('Node free heap, latency and status are sampled this often, ms.'),
  })
  .strict()
  .prefault({});

/** Scheduled backups into `<dataDir>/backups` (issue 15 §5); off unless an interval is set. */
export const backupSectionSchema = z
  .object({
    intervalHours: z.number().min(0).default(0).describe('Take a backup this often, hours; 0 = never.'),
    keep: z.number().int().min(1).max(1000).default(7).describe('Keep the newest this many scheduled backups.'),
  })
  .strict()
  .prefault({});

export const logSectionSchema = z
  .object({
    level: z.enum(LOG_LEVELS).default('info').describe('Lowest level written to the log (and kept for the log view).'),
    format: z
      .enum(LOG_FORMATS)
      .default('auto')
      .describe('How log lines are written on stdout: json (one JSON object a line), pretty (human-readable), auto (pretty on a terminal, else json). Applies at the next start; the log view always has the fields.'),
    bufferLines: z.number().int().min(100).max(100_000).default(5000).describe('Lines kept in memory for the log view and `GET /api/logs` (issue 15 §7).'),
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
