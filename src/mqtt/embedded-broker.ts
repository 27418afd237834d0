import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { Aedes, type AedesPublishPacket } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Identity } from '../auth/api-keys.js';
import type { Logger } from '../logger.js';
import type { QoS } from './connection.js';
import { BrokerPublishFastPath } from './broker-publish-fast-path.js';
import { compileFilter } from './topic-filter.js';

/** A publication as the in-process feed hands it over (what a subscriber would have been sent). */
export interface LocalMessage {
  /** The delivered QoS: the lower of the publication's and the subscription's. */
  qos: QoS;
  /** True only for a retained message sent when the feed starts (as on a new subscription). */
  retain: boolean;
  /** The id of the client that published it (undefined for the broker's own publications). */
  clientId: string | undefined;
  /** MQTT 5 properties of the publication, if any. */
  properties: AedesPublishPacket['properties'];
}

export type LocalDeliver = (topic: string, payload: Buffer, message: LocalMessage) => void;

/**
 * The embedded broker's publications delivered in process (issue 16 §5): what a subscriber on
 * these filters would get, without a PUBLISH serialised, written to a loopback socket and
 * parsed again by the gateway's own mqtt.js client. Returns a function that ends it.
 */
export interface LocalFeed {
  subscribe(filters: Array<{ topic: string; qos: QoS }>, deliver: LocalDeliver): () => void;
}

/** The API keys (issue 12), read at every check so that a configuration change applies at once. */
export interface BrokerKeyCheck {
  /** True once any key is configured: then every client needs one (or the gateway's credentials). */
  readonly enabled: boolean;
  identify(secret: string | undefined): Identity | null;
}

export interface EmbeddedBrokerOptions {
  host: string;
  /** MQTT over TCP; 0 picks a free port. */
  port: number;
  /** MQTT over WebSocket (any path, subprotocol "mqtt"); off when undefined. */
  wsPort?: number;
  /** When both are set, clients must give them (the gateway's MQTT_USER / MQTT_PASSWORD). */
  username?: string;
  password?: string;
  /** Log every connection and publication at info (the stand-alone `npm run mqtt:broker -verbose`). */
  logTraffic?: boolean;
  /** Largest MQTT packet accepted, bytes (advertised to MQTT 5 clients in CONNACK); default 1 MiB. */
  maxPacketBytes?: number;
  /** Longest MQTT 5 session expiry granted, seconds (longer requests are clamped and told so); default 1 day. */
  maxSessionExpirySeconds?: number;
  /**
   * API keys (issue 12 item 10): once any is configured, a client gives one as its MQTT password
   * (any user name); publishing to `adminTopics` needs an admin key, subscribing any valid key.
   */
  apiKeys?: BrokerKeyCheck;
  /** Topic filters only an admin key may publish to (the gateway's prefix: commands and its own state). */
  adminTopics?: string[];
  /** The gateway's own bridge: always accepted, with every right (a random secret made at start). */
  internalClient?: { username: string; password: string };
  /**
   * Browser origins the WebSocket listener accepts (the HTTP allow-list, `http.corsOrigins`);
   * a connection without an `Origin` header (not a browser) is not affected. All when absent.
   */
  originAllowed?: (origin: string, host: string | undefined) => boolean;
}

/** Who a connected client is, as far as the broker's checks go. */
interface ClientRights {
  /** The gateway's own bridge or the MQTT_USER / MQTT_PASSWORD pair: every right. */
  trusted: boolean;
  /** The API key presented as password, identified again at every check (a revoked key stops working). */
  secret?: string;
}

/** Defaults that bound what one client can make the broker hold. */
export const EMBEDDED_BROKER_DEFAULTS = {
  maxPacketBytes: 1024 * 1024, // bytes
  maxSessionExpirySeconds: 86_400, // s
  /** Sessions waiting to expire (and delayed wills) kept at most; more are expired at once. */
  pendingSessions: 10_000,
  /** Topic aliases an MQTT 5 client may set up on its publications. */
  topicAliasMaximum: 32,
} as const;

export interface EmbeddedBrokerStats {
  host: string;
  port: number;
  wsPort: number | null;
  clients: number;
  authentication: boolean;
  /** API keys are required (issue 12). */
  apiKeys: boolean;
  /** Publications and subscriptions refused for want of a key or of the admin scope. */
  refused: { publish: number; subscribe: number; websocketOrigin: number };
}

/**
 * The broker built into the gateway (`-mqtt embedded`, issue 3): an
 * in-process aedes broker on TCP and, optionally, WebSocket, so the bridge
 * works on a machine with nothing installed. aedes 2 (a pre-release, pinned:
 * docs/mqtt.md) speaks MQTT 3.1, 3.1.1 and 5.0 (issue 19).
 */
export class EmbeddedBroker {
  private broker: Aedes | undefined;
  private tcp: TcpServer | undefined;
  private http: HttpServer | undefined;
  private wss: WebSocketServer | undefined;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;
  private boundWsPort: number | null = null;
  private readonly refused = { publish: 0, subscribe: 0, websocketOrigin: 0 };
  /** The in-process feed's listeners on aedes' emitter (the receive fast path delivers to them directly). */
  private readonly feedListeners = new Set<unknown>();
  private fastPath: BrokerPublishFastPath | undefined;

  constructor(
    private readonly options: EmbeddedBrokerOptions,
    private readonly logger: Logger,
  ) {}

  /** The TCP port actually bound (useful with port 0). */
  get port(): number {
    return this.boundPort;
  }

  get wsPort(): number | null {
    return this.boundWsPort;
  }

  /** The in-process feed of this broker's publications (for the gateway's own bridge). */
  readonly localFeed: LocalFeed = {
    subscribe: (filters, deliver) => this.subscribeLocal(filters, deliver),
  };

  /** Publications the receive fast path handed to the in-process feed (0 before start). */
  get fastPathPublications(): number {
    return this.fastPath?.taken ?? 0;
  }

  /** Where the gateway's own bridge connects. */
  get localUrl(): string {
    const host = this.options.host === '0.0.0.0' || this.options.host === '::' ? '127.0.0.1' : this.options.host;
    return `mqtt://${host.includes(':') ? `[${host}]` : host}:${this.boundPort}`;
  }

  async start(): Promise<void> {
    const broker = await Aedes.createBroker({
      // A subscriber that stops reading is disconnected instead of stalling delivery to everyone.
      drainTimeout: 10_000, // ms
      concurrency: 1000,
      heartbeatInterval: 60_000, // ms, $SYS heartbeat
      maximumPacketSize: this.options.maxPacketBytes ?? EMBEDDED_BROKER_DEFAULTS.maxPacketBytes,
      sessionExpiryIntervalLimit: this.options.maxSessionExpirySeconds ?? EMBEDDED_BROKER_DEFAULTS.maxSessionExpirySeconds,
      pendingSessionsLimit: EMBEDDED_BROKER_DEFAULTS.pendingSessions,
      topicAliasMaximum: EMBEDDED_BROKER_DEFAULTS.topicAliasMaximum,
    });
    this.broker = broker;
    // MQTT 3.1 client ids are 1-23 characters (MQTT 3.1 §3.1, "Client Identifier"): an empty
    // one is refused with CONNACK 0x02 like Mosquitto does. aedes checks only the upper bound
    // for 3.1, and the 3.1.1 (MQTT-3.1.3-8) and 5.0 (MQTT-3.1.3-6, assigned ids) rules itself.
    // The id it generated is in place by authentication time, so the CONNECT is noted here.
    const emptyMqtt31Id = new WeakSet<object>();
    broker.preConnect = (client, packet, done) => {
      if (packet.protocolVersion === 3 && (packet.clientId ?? '').length === 0) emptyMqtt31Id.add(client);
      done(null, true);
    };
    const { username, password, apiKeys, internalClient } = this.options;
    const credentialsRequired = username !== undefined && password !== undefined;
    const rights = new WeakMap<object, ClientRights>();
    broker.authenticate = (client, user, pass, done) => {
      if (emptyMqtt31Id.has(client)) {
        done(Object.assign(new Error('MQTT 3.1 needs a client id of 1-23 characters'), { returnCode: 2 }) as never, false);
        return;
      }
      const secret = pass?.toString('utf8');
      if (internalClient !== undefined && user === internalClient.username && sameSecret(secret, internalClient.password)) {
        rights.set(client, { trusted: true });
        done(null, true);
        return;
      }
      if (credentialsRequired && user === username && sameSecret(secret, password)) {
        rights.set(client, { trusted: true });
        done(null, true);
        return;
      }
      if (apiKeys?.enabled) {
        if (apiKeys.identify(secret) !== null) {
          rights.set(client, { trusted: false, secret: secret! });
          done(null, true);
          return;
        }
        // 5 = not authorized (MQTT 5: 0x87) when no key came, 4 = bad user name or password (0x86) for a wrong one.
        done(Object.assign(new Error(secret === undefined ? 'this broker needs an API key as the MQTT password' : 'the API key is not valid'), { returnCode: secret === undefined ? 5 : 4 }) as never, false);
        return;
      }
      if (!credentialsRequired) {
        rights.set(client, { trusted: false });
        done(null, true);
        return;
      }
      // 4 = bad user name or password; aedes sends it to MQTT 5 clients as reason code 0x86.
      done(Object.assign(new Error('bad user name or password'), { returnCode: 4 }) as never, false);
    };
    // With keys configured, every operation checks the client's key again: a key removed from the
    // configuration (or keys turned on while the client was connected without one) stops working.
    const adminTopics = (this.options.adminTopics ?? []).map((f) => compileFilter(f));
    const identityOf = (client: object): Identity | null | 'trusted' => {
      const r = rights.get(client);
      if (r?.trusted) return 'trusted';
      return apiKeys!.identify(r?.secret);
    };
    const mayPublish = (client: object, topic: string): boolean => {
      if (!apiKeys?.enabled) return true;
      const who = identityOf(client);
      return who === 'trusted' || (who !== null && (who.scope === 'admin' || !adminTopics.some((m) => m(topic))));
    };
    broker.authorizePublish = (client, packet, done) => {
      if (client === null || mayPublish(client, packet.topic)) {
        done(null);
        return;
      }
      const who = identityOf(client) as Identity | null; // not 'trusted': that may publish anywhere
      this.refused.publish++;
      this.logger.debug({ clientId: client.id, topic: packet.topic, key: who?.name ?? null }, 'embedded broker: publication refused');
      // MQTT 5 clients get 0x87 on QoS 1/2; 3.1.1 and 3.1 clients are disconnected (MQTT-3.3.5-2).
      done(new Error(who === null ? 'the API key is not valid (any more)' : `publishing to "${packet.topic}" needs an admin API key; "${who.name}" has scope "${who.scope}"`));
    };
    broker.authorizeSubscribe = (client, sub, done) => {
      if (!apiKeys?.enabled || client === null || identityOf(client) !== null) {
        done(null, sub);
        return;
      }
      this.refused.subscribe++;
      // SUBACK 0x80 (3.1.1) / 0x87 not authorized (5.0).
      done(null, null as never);
    };
    // Plain QoS 0 publications only the in-process feed subscribes to skip aedes' receive path
    // (src/mqtt/broker-publish-fast-path.ts). A client that sent packets before its CONNACK (held
    // in aedes' queue, handled right after this event) keeps aedes' path: they must go first.
    const fastPath = new BrokerPublishFastPath(broker, this.feedListeners, mayPublish);
    this.fastPath = fastPath;
    broker.on('clientReady', (client) => {
      const queued = (client as unknown as { _parser: { _queue: unknown[] | null } })._parser._queue;
      if (queued === null || queued.length === 0) fastPath.install(client);
    });
    broker.on('clientError', (client, err) => this.logger.debug({ clientId: client?.id, err: err.message }, 'embedded broker: client error'));
    if (this.options.logTraffic) {
      broker.on('client', (client) => this.logger.info({ clientId: client.id }, 'client connected'));
      broker.on('clientDisconnect', (client) => this.logger.info({ clientId: client.id }, 'client disconnected'));
      broker.on('publish', (packet, client) => {
        if (client) this.logger.info({ clientId: client.id, topic: packet.topic, bytes: packet.payload.length, qos: packet.qos, retain: packet.retain }, 'publish');
      });
    }
    broker.on('connectionError', (client, err) => this.logger.debug({ clientId: client?.id, err: err.message }, 'embedded broker: connection error'));

    this.tcp = createTcpServer((socket) => {
      this.track(socket);
      // The first bytes are looked at before aedes reads them: see unsupportedProtocolLevel().
      socket.once('data', (first: Buffer) => {
        if (unsupportedProtocolLevel(first)) {
          socket.end(UNACCEPTABLE_PROTOCOL_CONNACK);
          return;
        }
        socket.pause();
        socket.unshift(first);
        broker.handle(socket);
      });
    });
    this.boundPort = await listen(this.tcp, this.options.port, this.options.host);

    if (this.options.wsPort !== undefined) {
      this.http = createHttpServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect with the "mqtt" subprotocol\n');
      });
      this.http.on('connection', (socket) => this.track(socket));
      const originAllowed = this.options.originAllowed;
      this.wss = new WebSocketServer({
        server: this.http,
        perMessageDeflate: false,
        // A page on another site must not drive a visitor's browser into the broker (issue 12).
        verifyClient: (info: { origin?: string; req: { headers: { host?: string } } }, callback: (ok: boolean, code?: number, message?: string) => void) => {
          const origin = info.origin;
          if (originAllowed === undefined || origin === undefined || origin === '' || originAllowed(origin, info.req.headers.host)) {
            callback(true);
            return;
          }
          this.refused.websocketOrigin++;
          this.logger.debug({ origin: origin.slice(0, 200) }, 'embedded broker: WebSocket origin refused');
          callback(false, 403, 'Origin not allowed (http.corsOrigins)');
        },
        handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
      });
      this.wss.on('connection', (ws, req) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => stream.destroy());
        broker.handle(stream, req);
      });
      this.boundWsPort = await listen(this.http, this.options.wsPort, this.options.host);
    }
    this.logger.info({ host: this.options.host, port: this.boundPort, wsPort: this.boundWsPort, authentication: credentialsRequired, apiKeys: apiKeys?.enabled ?? false }, 'embedded MQTT broker listening');
  }

  async stop(): Promise<void> {
    const closing: Array<Promise<void>> = [];
    if (this.wss) {
      for (const ws of this.wss.clients) ws.terminate();
      closing.push(new Promise((r) => this.wss!.close(() => r())));
    }
    for (const s of this.sockets) s.destroy();
    if (this.http) closing.push(new Promise((r) => this.http!.close(() => r())));
    if (this.tcp) closing.push(new Promise((r) => this.tcp!.close(() => r())));
    await Promise.all(closing);
    if (this.broker) await new Promise<void>((r) => this.broker!.close(() => r()));
    this.broker = undefined;
    this.tcp = undefined;
    this.http = undefined;
    this.wss = undefined;
  }

  stats(): EmbeddedBrokerStats {
    return {
      host: this.options.host,
      port: this.boundPort,
      wsPort: this.boundWsPort,
      clients: this.broker?.connectedClients ?? 0,
      authentication: (this.options.username !== undefined && this.options.password !== undefined) || (this.options.apiKeys?.enabled ?? false),
      apiKeys: this.options.apiKeys?.enabled ?? false,
      refused: { ...this.refused },
    };
  }

  /**
   * Listens on aedes' own emitter, as a subscription of a client would (aedes' addSubs): `$`
   * topics are not matched by a filter starting with a wildcard (MQTT-4.7.2-1), a publication
   * matched by several filters is delivered once, and the retained messages matching the filters
   * are sent first, flagged retained (MQTT-3.3.1-6). Live messages lose their retain flag, as
   * delivered to a subscriber without Retain As Published. The listener is synchronous and
   * answers aedes at once: the gateway's path from here to the WebSocket is synchronous too.
   */
  private subscribeLocal(filters: Array<{ topic: string; qos: QoS }>, deliver: LocalDeliver): () => void {
    const broker = this.broker;
    if (!broker) throw new Error('the embedded broker is not started');
    let last: AedesPublishPacket | undefined;
    const send = (packet: AedesPublishPacket, qos: QoS, retain: boolean): void => {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      try {
        deliver(packet.topic, payload, { qos: Math.min(packet.qos, qos) as QoS, retain, clientId: (packet as { clientId?: string }).clientId, properties: packet.properties });
      } catch (err) {
        this.logger.error({ err, topic: packet.topic }, 'embedded broker: in-process delivery failed');
      }
    };
    const compiledFilters = filters.map((f) => ({ topic: f.topic, qos: f.qos, matches: compileFilter(f.topic), wildcardFirst: f.topic.startsWith('#') || f.topic.startsWith('+') }));
    const listeners = compiledFilters.map(({ topic, qos, wildcardFirst }) => {
      const listener = (packet: AedesPublishPacket, done: () => void): void => {
        // 36 = '$'; the same packet object reaches every matching listener of one publication.
        if (packet !== last && !(wildcardFirst && packet.topic.charCodeAt(0) === 36)) {
          last = packet;
          send(packet, qos, false);
        }
        done();
      };
      this.feedListeners.add(listener);
      broker.subscribe(topic, listener, () => undefined);
      return { topic, listener };
    });
    const persistence = (broker as unknown as { persistence: { createRetainedStreamCombi(patterns: string[]): NodeJS.ReadableStream } }).persistence;
    const retained = persistence.createRetainedStreamCombi(filters.map((f) => f.topic));
    const qosOf = (topic: string): QoS => {
      let best: QoS | -1 = -1;
      for (const f of compiledFilters) if (f.matches(topic) && f.qos > best) best = f.qos;
      return best === -1 ? 0 : best;
    };
    retained.on('data', (packet: AedesPublishPacket & { messageExpiry?: number }) => {
      if (packet.messageExpiry !== undefined && packet.messageExpiry <= Date.now()) return;
      if (packet.topic.charCodeAt(0) === 36 && compiledFilters.every((f) => f.wildcardFirst || !f.matches(packet.topic))) return;
      send(packet, qosOf(packet.topic), true);
    });
    retained.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'embedded broker: reading retained messages failed'));
    return () => {
      for (const { topic, listener } of listeners) {
        this.feedListeners.delete(listener);
        broker.unsubscribe(topic, listener, () => undefined);
      }
    };
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }
}

/** Constant-time comparison of two secrets (their SHA-256 digests, so lengths do not show). */
function sameSecret(given: string | undefined, expected: string | undefined): boolean {
  if (given === undefined || expected === undefined) return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** CONNACK with return code 0x01, "unacceptable protocol version" (MQTT 3.1.1 §3.2.2.3). */
const UNACCEPTABLE_PROTOCOL_CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x01]);

/**
 * A CONNECT whose protocol level is none of 3 (3.1), 4 (3.1.1) and 5 (5.0). MQTT-3.1.2-2 wants
 * CONNACK 0x01 before the close; aedes' parser drops such a connection without a word, so the
 * broker answers it itself. Anything that is not a complete enough CONNECT goes on to aedes.
 */
export function unsupportedProtocolLevel(chunk: Buffer): boolean {
  if (chunk.length < 2 || chunk[0] !== 0x10) return false;
  let at = 1;
  while (at < chunk.length && at <= 4 && (chunk[at]! & 0x80) !== 0) at++; // remaining length, 1-4 bytes
  at++;
  if (at + 2 > chunk.length) return false;
  const nameLength = chunk.readUInt16BE(at);
  const levelAt = at + 2 + nameLength;
  if (levelAt >= chunk.length) return false;
  const name = chunk.subarray(at + 2, levelAt).toString('latin1');
  if (name !== 'MQTT' && name !== 'MQIsdp') return false; // a wrong name: aedes closes (MQTT-3.1.2-1)
  const level = chunk[levelAt]! & 0x7f; // the top bit marks a bridge
  return level !== 3 && level !== 4 && level !== 5;
}

function listen(server: TcpServer | HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
