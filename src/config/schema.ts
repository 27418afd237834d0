import { hostname as machineHostname } from 'node:os';
import { z } from 'zod';
import { LOG_LEVELS } from '../logger.js';

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
    /** Where CLUSTER_DISCOVERY probes are broadcast (CONTRACT §2). */
    broadcastAddress: z.string().min(1).default('255.255.255.255'),
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

/** The MQTT bridge (CONTRACT §6); off unless a URL is given. Expanded by the MQTT bridge. */
export const mqttSectionSchema = z
  .object({
    url: z
      .string()
      .regex(/^(embedded|(tcp|mqtt|tls|mqtts|ws|wss):\/\/[^\s/]+.*)$/, 'tcp://, mqtt://, tls://, mqtts://, ws://, wss:// URL or "embedded"')
      .optional(),
  })
  .prefault({});

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
    /** One fetch may take this long, ms. */
    timeoutMs: positiveMs.default(10_000),
  })
  .prefault({});

export const logSectionSchema = z
  .object({
    level: z.enum(LOG_LEVELS).default('info'),
  })
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
    /** Where state is kept: firmware, rollouts, buffers, caches (CONTRACT §1). */
    dataDir: z.string().min(1).default('./data'),
  })
  .strict();

export type GatewayConfig = z.infer<typeof configSchema>;
export type GatewayConfigInput = z.input<typeof configSchema>;
