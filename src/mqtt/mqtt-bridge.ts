import { randomBytes } from 'node:crypto';
import type { IClientOptions, IConnackPacket, IPublishPacket, ISubscriptionGrant, MqttClient } from 'mqtt';
import { GatewayError } from '../errors.js';
import type { GatewayEventBus } from '../events/gateway-events.js';
import type { Logger } from '../logger.js';
import { bridgeClientOptions, TlsFileError, type BrokerConnectionOptions, type MqttWill, type QoS } from './connection.js';
import type { LocalFeed, LocalMessage } from './embedded-broker.js';
import { DuplicateSuppressor, TopicRateLimiter } from './message-guards.js';
import { OwnPublications } from './own-publications.js';
import { withPublishFastPath } from './publish-fast-path.js';
import { RetentionBuffer, type RetentionOptions, type RetentionStats } from './retention-buffer.js';
import { compileFilter } from './topic-filter.js';
import { TimestampCache, type Mqtt5Extras } from './ws-format.js';
import { MqttWsEncoder } from './ws-message-encoder.js';

/** CONTRACT §5 `mqtt/status` states. */
export type MqttConnectionState = 'connected' | 'disconnected' | 'reconnecting';

export interface MqttStatus {
  state: MqttConnectionState;
  /** The broker URL without credentials. */
  broker: string;
  /** Why the last attempt or connection failed; null once connected. */
  error: string | null;
}

export interface MqttSubscription {
  topic: string;
  qos: QoS;
}

export type { MqttWill };

export interface MqttBridgeOptions extends BrokerConnectionOptions {
  subscriptions: MqttSubscription[];
  forwardToWebSocket: boolean;
  echoOwnPublications: boolean;
  forwardProperties: boolean;
  retention: RetentionOptions;
  dedupWindowMs: number;
  rateLimitPerTopic: number;
  rateLimitBurst?: number;
}

/** Gets a forwarded message's WebSocket JSON (UTF-8 bytes, valid only during the call) and its topic. */
export type ForwardListener = (json: Buffer, topic: string) => void;

/** A message handler for topics a part of the gateway owns (commands). */
export type TopicHandler = (topic: string, payload: Buffer, packet: IPublishPacket) => void;

export interface MqttBridgeStats {
  state: MqttConnectionState;
  broker: string;
  clientId: string;
  protocolVersion: number;
  /** When the current connection was made (RFC3339), or null. */
  connectedSince: string | null;
  /** Successful connections since start. */
  connections: number;
  /** Reconnection attempts since start. */
  reconnects: number;
  lastError: { message: string; at: string } | null;
  messagesIn: number;
  bytesIn: number;
  /** Received messages by the QoS they were delivered with. */
  messagesInByQos: { '0': number; '1': number; '2': number };
  /** Publications of the gateway (cluster state, events, answers). */
  messagesOut: number;
  bytesOut: number;
  /** Publications skipped because the broker was not connected. */
  publishSkipped: number;
  /** Messages written to the WebSocket hub (one per message, whatever the number of clients). */
  forwarded: number;
  drops: { duplicate: number; rateLimited: number; total: number };
  /** The gateway's own publications recognised and not forwarded back. */
  ownEchoesSuppressed: number;
  /** Extra copies of one message (overlapping subscriptions) neither forwarded nor run again. */
  overlapCopies: number;
  subscriptions: Array<{ topic: string; qos: QoS; granted: QoS | 'refused' | null }>;
  retention: RetentionStats & { perTopic: number; maxTopics: number; maxBytes: number };
  dedupWindowMs: number;
  rateLimitPerTopic: number;
}

interface HandlerEntry {
  filter: string;
  qos: QoS;
  matches: (topic: string) => boolean;
  handler: TopicHandler;
}

/** Two copies of one message arrive back to back; a repeat later than this is a new message, ms. */
const COPY_WINDOW_MS = 100;

/** Retained messages on these topics were published by this gateway (e.g. before a restart). */
export type OwnTopicPredicate = (topic: string) => boolean;

/**
 * The MQTT bridge (CONTRACT §6, issue 3): one mqtt.js connection that
 * subscribes to the configured filters, forwards every message in the
 * CONTRACT §5 format (serialised once, order kept: the whole path is
 * synchronous), keeps the retention buffer, reconnects by itself, and
 * publishes for the rest of the gateway. Knows nothing about HTTP.
 */
export class MqttBridge {
  private client: MqttClient | undefined;
  private status: MqttStatus;
  private readonly forwardListeners: Array<ForwardListener> = [];
  private readonly connectListeners: Array<() => void> = [];
  private readonly handlers: HandlerEntry[] = [];
  /**
   * MQTT 5 subscription identifier → its filter, on a connection where the broker supports them;
   * undefined otherwise. Overlapping subscriptions (`#` and the command filter) make brokers such
   * as Mosquitto deliver one copy per subscription (MQTT 5 §3.3.4): the identifiers say which
   * copies belong together, so a command runs once and a message is forwarded once (issue 12 item 12).
   */
  private routes: Map<number, (topic: string) => boolean> | undefined;
  /** Every distinct filter subscribed, compiled. */
  private distinctFilters: Array<(topic: string) => boolean> = [];
  /** The copies still expected of the last message: by subscription identifier, or a count without them. */
  private expectedCopies: { topic: string; payload: Buffer; at: number; ids: Set<number> | undefined; count: number } | undefined;
  private ownTopic: OwnTopicPredicate = () => false;
  private readonly own = new OwnPublications();
  /** The configured filters, compiled: only publications they match can come back as echoes. */
  private readonly subscribed: Array<(topic: string) => boolean>;
  private readonly timestamps = new TimestampCache();
  private readonly encoder = new MqttWsEncoder();
  readonly retention: RetentionBuffer;
  private readonly dedup: DuplicateSuppressor | undefined;
  private readonly rateLimit: TopicRateLimiter | undefined;
  private readonly granted = new Map<string, QoS | 'refused' | null>();
  private stopping = false;
  private connectedAt: number | null = null;
  private lastLoggedError: string | undefined;
  private readonly counters = {
    connections: 0,
    reconnects: 0,
    messagesIn: 0,
    bytesIn: 0,
    qos0: 0,
    qos1: 0,
    qos2: 0,
    messagesOut: 0,
    bytesOut: 0,
    publishSkipped: 0,
    forwarded: 0,
    duplicate: 0,
    rateLimited: 0,
    ownEchoesSuppressed: 0,
    overlapCopies: 0,
  };
  private lastError: { message: string; at: string } | null = null;
  /** Ends the in-process feed (embedded broker), while it runs. */
  private stopLocalFeed: (() => void) | undefined;

  /**
   * `localFeed`: the embedded broker's in-process feed (issue 16 §5). The configured
   * subscriptions are then served by it — the messages to forward never go through a socket and
   * mqtt.js — while the mqtt.js connection keeps everything else: publishing, the will, the
   * handlers' subscriptions (commands), status and reconnection.
   */
  constructor(
    private readonly options: MqttBridgeOptions,
    private readonly bus: GatewayEventBus,
    private readonly logger: Logger,
    private readonly localFeed?: LocalFeed,
  ) {
    this.status = { state: 'disconnected', broker: options.address.display, error: null };
    this.retention = new RetentionBuffer(options.retention);
    if (options.dedupWindowMs > 0) this.dedup = new DuplicateSuppressor(options.dedupWindowMs, options.retention.maxTopics);
    if (options.rateLimitPerTopic > 0) {
      const burst = options.rateLimitBurst ?? Math.max(1, Math.ceil(options.rateLimitPerTopic));
      this.rateLimit = new TopicRateLimiter(options.rateLimitPerTopic, burst, Math.max(options.retention.maxTopics, 10_000));
    }
    for (const s of options.subscriptions) this.granted.set(s.topic, null);
    this.subscribed = options.subscriptions.map((s) => compileFilter(s.topic));
  }

  get connected(): boolean {
    return this.status.state === 'connected';
  }

  get protocolVersion(): number {
    return this.options.protocolVersion;
  }

  currentStatus(): MqttStatus {
    return { ...this.status };
  }

  /**
   * Called with every forwarded message's WebSocket JSON as UTF-8 bytes, in arrival order. The
   * bytes are valid only during the call (one buffer, reused for the next message): copy to keep.
   */
  onForward(listener: ForwardListener): () => void {
    this.forwardListeners.push(listener);
    return () => {
      const i = this.forwardListeners.indexOf(listener);
      if (i >= 0) this.forwardListeners.splice(i, 1);
    };
  }

  /** Called after every (re)connection, once the subscriptions are sent. */
  onConnect(listener: () => void): void {
    this.connectListeners.push(listener);
  }

  /** Routes messages on `filter` to `handler` as well (the filter is subscribed at `qos`). Before start(). */
  handle(filter: string, qos: QoS, handler: TopicHandler): void {
    this.handlers.push({ filter, qos, matches: compileFilter(filter), handler });
    this.granted.set(filter, null);
  }

  /** Tells the bridge which retained topics hold the gateway's own earlier publications. */
  setOwnTopicPredicate(predicate: OwnTopicPredicate): void {
    this.ownTopic = predicate;
  }

  async start(): Promise<void> {
    this.stopping = false;
    const clientOptions = await this.clientOptions();
    this.setStatus('reconnecting', null);
    this.logger.info({ broker: this.status.broker, clientId: this.options.clientId, protocolVersion: this.options.protocolVersion }, 'connecting to the MQTT broker');
    // mqtt.js is loaded with the first bridge, not at start-up (issue 16 §3, idle memory).
    const { default: mqtt } = await import('mqtt');
    // Not connected yet: the stream of every (re)connection first gets the receive fast path.
    const client = mqtt.connect({ ...clientOptions, manualConnect: true });
    this.client = client;
    // mqtt.js keeps its stream builder in a private field (MqttClient.streamBuilder, mqtt 5.x).
    const builder = client as unknown as { streamBuilder: (c: MqttClient) => NodeJS.ReadableStream };
    const build = builder.streamBuilder;
    const mqtt5 = this.options.protocolVersion === 5;
    builder.streamBuilder = (c) => withPublishFastPath(build(c), (topic, payload) => this.onMessage(topic, payload, undefined), mqtt5);
    client.on('connect', (connack) => this.onConnected(connack));
    client.on('reconnect', () => {
      this.counters.reconnects++;
      this.setStatus('reconnecting', this.status.error);
    });
    client.on('close', () => this.onClosed());
    client.on('error', (err) => this.onError(err));
    client.on('disconnect', (packet) => {
      const code = packet.reasonCode ?? 0;
      this.onError(new Error(`broker sent DISCONNECT (reason ${code})`));
    });
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
    client.connect();
    if (this.localFeed && this.options.subscriptions.length > 0) {
      this.stopLocalFeed = this.localFeed.subscribe(this.options.subscriptions, (topic, payload, message) => this.onLocalMessage(topic, payload, message));
      for (const s of this.options.subscriptions) this.granted.set(s.topic, s.qos);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopLocalFeed?.();
    this.stopLocalFeed = undefined;
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      // A clean DISCONNECT: the broker discards the last will; availability is published before this.
      await Promise.race([client.endAsync(false), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    await client.endAsync(true).catch(() => undefined);
    this.connectedAt = null;
    this.setStatus('disconnected', null);
  }

  /**
   * Publishes for the gateway. Returns false (and counts it) when the broker is
   * not connected: the gateway's publications describe the present and are all
   * re-published on the next connection, so nothing is queued meanwhile.
   */
  publish(topic: string, payload: string | Buffer, opts: { qos: QoS; retain: boolean; properties?: IPublishPacket['properties'] }): boolean {
    const client = this.client;
    if (!client || !client.connected) {
      this.counters.publishSkipped++;
      return false;
    }
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    // (The in-process feed knows who published: no need to remember the gateway's own messages.)
    if (!this.options.echoOwnPublications && this.options.protocolVersion !== 5 && this.localFeed === undefined && this.subscribed.some((matches) => matches(topic))) {
      this.own.remember(topic, bytes);
    }
    this.counters.messagesOut++;
    this.counters.bytesOut += bytes.length;
    const publishOptions: { qos: QoS; retain: boolean; properties?: IPublishPacket['properties'] } = { qos: opts.qos, retain: opts.retain };
    if (opts.properties && this.options.protocolVersion === 5) publishOptions.properties = opts.properties;
    client.publish(topic, bytes, publishOptions, (err) => {
      if (err) this.recordError(`publish to ${topic} failed: ${err.message}`);
    });
    return true;
  }

  /** The last `limit` retained messages on topics matching `filter`, as WebSocket JSON, oldest first. */
  recent(filter: string, limit: number): string[] {
    return this.retention.query(filter, limit);
  }

  stats(): MqttBridgeStats {
    const c = this.counters;
    return {
      state: this.status.state,
      broker: this.status.broker,
      clientId: this.options.clientId,
      protocolVersion: this.options.protocolVersion,
      connectedSince: this.connectedAt === null ? null : new Date(this.connectedAt).toISOString(),
      connections: c.connections,
      reconnects: c.reconnects,
      lastError: this.lastError,
      messagesIn: c.messagesIn,
      bytesIn: c.bytesIn,
      messagesInByQos: { '0': c.qos0, '1': c.qos1, '2': c.qos2 },
      messagesOut: c.messagesOut,
      bytesOut: c.bytesOut,
      publishSkipped: c.publishSkipped,
      forwarded: c.forwarded,
      drops: { duplicate: c.duplicate, rateLimited: c.rateLimited, total: c.duplicate + c.rateLimited },
      ownEchoesSuppressed: c.ownEchoesSuppressed,
      overlapCopies: c.overlapCopies,
      subscriptions: [...this.allSubscriptions()].map((s) => ({ topic: s.topic, qos: s.qos, granted: this.granted.get(s.topic) ?? null })),
      retention: { ...this.retention.stats(), perTopic: this.options.retention.perTopic, maxTopics: this.options.retention.maxTopics, maxBytes: this.options.retention.maxBytes },
      dedupWindowMs: this.options.dedupWindowMs,
      rateLimitPerTopic: this.options.rateLimitPerTopic,
    };
  }

  // --- the hot path -------------------------------------------------------

  /** `packet` undefined: a plain QoS 0 PUBLISH from the receive fast path (no retain, no properties). */
  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket | undefined): void {
    // With the in-process feed, a message on a configured subscription has been counted and
    // forwarded by it already: here it only goes to the handlers (commands) it matches.
    if (this.stopLocalFeed !== undefined && this.subscribed.some((matches) => matches(topic))) {
      this.runHandlers(topic, payload, packet, !this.options.echoOwnPublications && packet !== undefined && packet.retain && this.ownTopic(topic));
      return;
    }
    const c = this.counters;
    c.messagesIn++;
    c.bytesIn += payload.length;
    const qos = packet === undefined ? 0 : packet.qos;
    if (qos === 0) c.qos0++;
    else if (qos === 1) c.qos1++;
    else c.qos2++;

    // A further copy of the message just handled (overlapping subscriptions): dropped whole.
    if (this.isCopy(topic, payload, packet)) {
      c.overlapCopies++;
      return;
    }

    // Own publications: never commands, and not forwarded unless configured.
    const isOwn = !this.options.echoOwnPublications && this.isOwnPublication(topic, payload, packet);
    this.runHandlers(topic, payload, packet, isOwn);
    if (isOwn) {
      c.ownEchoesSuppressed++;
      return;
    }
    this.forward(topic, payload, packet === undefined ? undefined : this.extrasOf(packet.properties));
  }

  /** A message from the embedded broker's in-process feed: counted and forwarded like one from mqtt.js. */
  private onLocalMessage(topic: string, payload: Buffer, message: LocalMessage): void {
    const own = !this.options.echoOwnPublications && message.clientId === this.options.clientId;
    // The gateway's own publications: over MQTT 5 "No Local" keeps them from coming back at all;
    // over 3.1.1 they come back and are recognised (counted) — the same here.
    if (own && this.options.protocolVersion === 5) return;
    const c = this.counters;
    c.messagesIn++;
    c.bytesIn += payload.length;
    if (message.qos === 0) c.qos0++;
    else if (message.qos === 1) c.qos1++;
    else c.qos2++;
    // A retained message on one of the gateway's own state topics is an earlier publication of it.
    if (own || (message.retain && !this.options.echoOwnPublications && this.ownTopic(topic))) {
      c.ownEchoesSuppressed++;
      return;
    }
    this.forward(topic, payload, message.properties === undefined ? undefined : this.extrasOf(message.properties));
  }

  private runHandlers(topic: string, payload: Buffer, packet: IPublishPacket | undefined, isOwn: boolean): void {
    if (this.handlers.length === 0 || isOwn) return;
    for (const h of this.handlers) {
      if (!h.matches(topic)) continue;
      try {
        h.handler(topic, payload, (packet ??= { cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }));
      } catch (err) {
        this.logger.error({ err, topic }, 'MQTT topic handler failed');
      }
    }
  }

  /** Duplicate and rate checks, then the one JSON of the message to the retention buffer and every listener. */
  private forward(topic: string, payload: Buffer, extras: Mqtt5Extras | undefined): void {
    if (!this.options.forwardToWebSocket) return;
    const c = this.counters;
    const now = Date.now();
    if (this.dedup !== undefined && this.dedup.isDuplicate(topic, payload, now)) {
      c.duplicate++;
      return;
    }
    if (this.rateLimit !== undefined && !this.rateLimit.allow(topic, now)) {
      c.rateLimited++;
      return;
    }
    const listeners = this.forwardListeners;
    if (listeners.length === 0 && !this.retention.enabled) return;
    const json = this.encoder.encode(topic, payload, this.timestamps.now(now), extras);
    this.retention.addBytes(topic, json);
    c.forwarded++;
    for (let i = 0; i < listeners.length; i++) listeners[i]!(json, topic);
  }

  /**
   * Whether this message is a further copy of the one before, which a broker sends when several
   * of the bridge's filters match (MQTT 5 §3.3.4; MQTT 3.1.1 §3.3.5 allows it too). Copies come
   * back to back. With subscription identifiers (MQTT 5) a copy is recognised exactly: same topic
   * and payload, carrying only identifiers of matching subscriptions the earlier copies did not
   * carry — a repeat of the message carries the same identifier again and is a new message. (A
   * single copy carrying only some identifiers, as aedes sends, is handled the same way.)
   * Without them, the same topic and payload within COPY_WINDOW_MS, at most one per extra
   * matching filter. (Mosquitto sends 3.1.1 clients one copy.)
   */
  private isCopy(topic: string, payload: Buffer, packet: IPublishPacket | undefined): boolean {
    if (this.options.subscriptions.length + this.handlers.length < 2) return false;
    const now = Date.now();
    const raw = this.routes !== undefined ? packet?.properties?.subscriptionIdentifier : undefined;
    const ids = raw === undefined ? undefined : typeof raw === 'number' ? [raw] : raw;
    const last = this.expectedCopies;
    if (last !== undefined && last.topic === topic && now - last.at <= COPY_WINDOW_MS && last.payload.equals(payload)) {
      if (ids !== undefined && last.ids !== undefined) {
        if (ids.length > 0 && ids.every((id) => last.ids!.has(id))) {
          for (const id of ids) last.ids.delete(id);
          if (last.ids.size === 0) this.expectedCopies = undefined;
          return true;
        }
      } else if (ids === undefined && last.ids === undefined && last.count > 0) {
        if (--last.count === 0) this.expectedCopies = undefined;
        return true;
      }
    }
    // A new message: which copies may still follow.
    this.expectedCopies = undefined;
    if (ids !== undefined) {
      const rest = new Set<number>();
      for (const [id, matches] of this.routes!) if (!ids.includes(id) && matches(topic)) rest.add(id);
      if (rest.size > 0) this.expectedCopies = { topic, payload, at: now, ids: rest, count: rest.size };
    } else if (this.handlers.some((h) => h.matches(topic))) {
      // Only for what a handler runs (commands): without identifiers a repeat cannot be told from
      // a copy, and a sensor's repeated reading must still be forwarded.
      let matching = 0;
      for (const matches of this.distinctFilters) if (matches(topic)) matching++;
      if (matching > 1) this.expectedCopies = { topic, payload, at: now, ids: undefined, count: matching - 1 };
    }
    return false;
  }

  private isOwnPublication(topic: string, payload: Buffer, packet: IPublishPacket | undefined): boolean {
    // A retained message on one of the gateway's own state topics is an earlier publication of it.
    if (packet !== undefined && packet.retain && this.ownTopic(topic)) return true;
    return this.own.size > 0 && this.own.consume(topic, payload);
  }

  private extrasOf(props: IPublishPacket['properties'] | LocalMessage['properties']): Mqtt5Extras | undefined {
    if (props === undefined || !this.options.forwardProperties) return undefined;
    let extras: Mqtt5Extras | undefined;
    if (props.contentType !== undefined) extras = { contentType: props.contentType };
    if (props.userProperties !== undefined && Object.keys(props.userProperties).length > 0) {
      (extras ??= {}).userProperties = props.userProperties as Record<string, string | string[]>;
    }
    return extras;
  }

  // --- connection ----------------------------------------------------------

  private *allSubscriptions(): Iterable<MqttSubscription> {
    yield* this.options.subscriptions;
    for (const h of this.handlers) yield { topic: h.filter, qos: h.qos };
  }

  private onConnected(connack?: IConnackPacket): void {
    const reconnected = this.counters.connections > 0;
    this.counters.connections++;
    this.connectedAt = Date.now();
    this.lastLoggedError = undefined;
    this.expectedCopies = undefined;
    this.own.clear();
    // Commands' answers and state changes are small and should leave at once (no Nagle delay).
    (this.client?.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
    this.setStatus('connected', null);
    this.logger.info({ broker: this.status.broker, reconnected }, 'connected to the MQTT broker');
    this.subscribe(connack?.properties?.subscriptionIdentifiersAvailable !== false);
    for (const listener of this.connectListeners) {
      try {
        listener();
      } catch (err) {
        this.logger.error({ err }, 'MQTT connect listener failed');
      }
    }
  }

  private subscribe(identifiersAvailable: boolean): void {
    const client = this.client;
    if (!client) return;
    const map: Record<string, { qos: QoS; nl?: boolean }> = {};
    // The configured subscriptions are served by the in-process feed, when there is one.
    const viaMqtt = this.stopLocalFeed !== undefined ? this.handlers.map((h) => ({ topic: h.filter, qos: h.qos })) : this.allSubscriptions();
    for (const s of viaMqtt) {
      const prior = map[s.topic];
      if (prior && prior.qos >= s.qos) continue;
      // MQTT 5 "No Local": the broker itself keeps the gateway's publications from coming back.
      map[s.topic] = this.options.protocolVersion === 5 && !this.options.echoOwnPublications ? { qos: s.qos, nl: true } : { qos: s.qos };
    }
    const onGranted = (err: Error | null, grants?: ISubscriptionGrant[]): void => {
      if (err) {
        this.recordError(`subscribe failed: ${err.message}`);
        this.logger.error({ err: err.message }, 'MQTT subscription failed');
        return;
      }
      for (const g of grants ?? []) {
        const refused = g.qos >= 128;
        this.granted.set(g.topic, refused ? 'refused' : (g.qos as QoS));
        if (refused) {
          this.recordError(`the broker refused the subscription to "${g.topic}"`);
          this.logger.error({ topic: g.topic }, 'the MQTT broker refused a subscription; check its ACL');
        } else if (g.qos < map[g.topic]!.qos) {
          this.logger.warn({ topic: g.topic, asked: map[g.topic]!.qos, granted: g.qos }, 'the MQTT broker granted a lower QoS than configured');
        }
      }
      this.logger.debug({ subscriptions: grants }, 'MQTT subscriptions granted');
    };
    const filters = Object.keys(map);
    this.distinctFilters = filters.map((f) => compileFilter(f));
    if (filters.length === 0) return;
    if (this.options.protocolVersion !== 5 || !identifiersAvailable || filters.length < 2) {
      this.routes = undefined;
      client.subscribe(map, onGranted);
      return;
    }
    // One SUBSCRIBE per filter, each with its own identifier (an identifier belongs to a SUBSCRIBE).
    const routes = new Map<number, (topic: string) => boolean>();
    filters.forEach((filter, i) => {
      const id = i + 1;
      routes.set(id, compileFilter(filter));
      client.subscribe({ [filter]: map[filter]! }, { properties: { subscriptionIdentifier: id } }, onGranted);
    });
    this.routes = routes;
  }

  private onClosed(): void {
    if (this.stopping) return;
    const wasConnected = this.status.state === 'connected';
    this.connectedAt = null;
    for (const key of this.granted.keys()) {
      // What the in-process feed serves does not depend on the connection.
      if (this.stopLocalFeed === undefined || !this.options.subscriptions.some((s) => s.topic === key)) this.granted.set(key, null);
    }
    this.setStatus('disconnected', this.status.error ?? (wasConnected ? 'connection lost' : null));
    if (wasConnected) {
      this.recordError(this.status.error ?? 'connection lost');
      this.logger.warn({ broker: this.status.broker, error: this.status.error, retryInMs: this.options.reconnectPeriodMs }, 'lost the MQTT broker connection; reconnecting');
    }
  }

  private onError(err: Error & { code?: string | number }): void {
    const message = describeMqttError(err, this.options);
    this.recordError(message);
    this.setStatus(this.status.state === 'connected' ? 'connected' : this.status.state, message);
    // One clear line per distinct problem; repeats of the same failure go to debug.
    if (message !== this.lastLoggedError) {
      this.lastLoggedError = message;
      this.logger.error({ broker: this.status.broker, error: message, retryInMs: this.options.reconnectPeriodMs }, `MQTT broker ${this.status.broker}: ${message}; retrying every ${this.options.reconnectPeriodMs / 1000} s`);
    } else {
      this.logger.debug({ broker: this.status.broker, error: message }, 'MQTT connection attempt failed again');
    }
  }

  private recordError(message: string): void {
    this.lastError = { message, at: new Date().toISOString() };
  }

  private setStatus(state: MqttConnectionState, error: string | null): void {
    if (this.status.state === state && this.status.error === error) return;
    this.status = { state, broker: this.status.broker, error };
    this.bus.emit('mqtt/status', { ...this.status });
  }

  private async clientOptions(): Promise<IClientOptions> {
    try {
      return bridgeClientOptions(this.options);
    } catch (err) {
      throw err instanceof TlsFileError ? new GatewayError('bad_request', err.message) : err;
    }
  }
}

/** One readable sentence per failure, with what to do about it. */
export function describeMqttError(err: Error & { code?: string | number }, options: Pick<MqttBridgeOptions, 'username' | 'address'>): string {
  const code = err.code;
  // Brokers differ (Mosquitto answers "not authorized" to a wrong password): one hint for both.
  if (code === 4 || code === 5 || code === 134 || code === 135) {
    const none = options.username === undefined && options.address.username === undefined ? ' (none were given)' : '';
    return `the broker refused the credentials (${err.message}); check MQTT_USER / MQTT_PASSWORD${none} and the user's rights on the broker`;
  }
  if (code === 1 || code === 132) return `the broker does not speak this MQTT version (${err.message}); set mqtt.protocolVersion`;
  if (code === 2 || code === 133) return `the broker refused the client id (${err.message}); set mqtt.clientId`;
  if (code === 'ECONNREFUSED') return 'connection refused (is the broker running on that host and port?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the broker host cannot be resolved (${String(code)})`;
  if (code === 'ETIMEDOUT' || /connack timeout/i.test(err.message)) return `the broker did not answer in time (${err.message})`;
  if (code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'SELF_SIGNED_CERT_IN_CHAIN' || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY') {
    return `the broker's TLS certificate is not trusted (${err.message}); give its CA in mqtt.tls.caFile, or opt in with mqtt.tls.allowSelfSigned`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the broker's TLS certificate does not name this host (${err.message}); set mqtt.tls.servername`;
  return err.message || String(code ?? 'unknown error');
}

/** `spore-gateway-<id>-<6 hex>`: unique per process, recognisable in broker logs. */
export function defaultClientId(gatewayId: string): string {
  return `spore-gateway-${gatewayId}-${randomBytes(3).toString('hex')}`.slice(0, 128);
}
