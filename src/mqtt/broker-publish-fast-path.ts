import type { Aedes } from 'aedes';
import { completeFirstPacket, readFixedHeader } from './mqtt-framing.js';

/**
 * The embedded broker's receive fast path (issue 16 §5). The profile of `-mqtt embedded` showed
 * aedes' generic receive path — mqtt-packet's parser and its buffer list, a packet object, the
 * authorise → publish → store-retained → emit → published series, qlobber's topic split on every
 * publication — as the largest part of the gateway's time, and its allocations as most of the GC.
 * When the only subscribers of a topic are the gateway's own in-process feed, none of that can be
 * observed by anyone: this path hands a plain QoS 0 PUBLISH straight to the feed's listeners.
 *
 * A packet is taken here only when all of these hold, else it goes to aedes whole and in order:
 * - it is a PUBLISH with QoS 0, no DUP and no RETAIN (first byte 0x30), and under MQTT 5 it has
 *   no properties (so no topic alias, expiry, response topic or user property to honour);
 * - the client is connected, aedes has finished every packet it was given before (its parsing
 *   batch is empty), and its parser holds no partial packet;
 * - its topic is one aedes would accept (not empty, no `+`/`#`, at most maxTopicLevels levels)
 *   and it is no larger than the broker's maximum packet size;
 * - `allowed(client, topic)` — the broker's own publish authorisation (API keys, admin topics);
 *   a refused publication goes to aedes, which refuses it the usual way (and counts it);
 * - every subscriber aedes' emitter would call for the topic is one of `feedListeners` (another
 *   client's subscription, or aedes' own `$SYS` listeners, send it to aedes); and no `publish`
 *   listener or `published` hook is installed on the broker.
 * Once a packet of a read went to aedes, the rest of that read goes too. A packet split across
 * reads waits for the rest (at most one packet: a larger one than allowed goes to aedes, which
 * refuses it as it arrives).
 */
export class BrokerPublishFastPath {
  /** Publications delivered by this path (tests check it is taken). */
  taken = 0;
  /** topic → the emitter's subscribers when they are all the feed's (null: someone else listens). */
  private readonly routes = new Map<string, Listener[] | null>();
  private readonly matcher: Matcher;
  private readonly defaultPublished: unknown;
  /** aedes' own limits (options maximumPacketSize, maxTopicLevels), read where aedes keeps them. */
  private readonly limits: { maximumPacketSize: number; maxTopicLevels: number };

  constructor(
    private readonly broker: Aedes,
    private readonly feedListeners: ReadonlySet<unknown>,
    private readonly allowed: (client: object, topic: string) => boolean,
  ) {
    this.matcher = (broker as unknown as { mq: { _matcher: Matcher } }).mq._matcher;
    // Any subscription change (a client's, the feed's, aedes' own) may change a topic's subscribers.
    for (const name of ['add', 'remove', 'clear'] as const) {
      const original = this.matcher[name].bind(this.matcher) as (...args: unknown[]) => unknown;
      (this.matcher as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        this.routes.clear();
        return original(...args);
      };
    }
    this.defaultPublished = broker.published;
    this.limits = broker as unknown as { maximumPacketSize: number; maxTopicLevels: number };
  }

  /** Puts the fast path in front of a connected client's parser. */
  install(client: object): void {
    const c = client as AedesClient;
    const parser = c._parser;
    const parse = parser.parse.bind(parser);
    const state: ScanState = { rest: undefined, handOff: false, took: false };
    parser.parse = (chunk: Buffer): number => {
      const rest = state.rest;
      state.rest = undefined;
      if (parser._list.length > 0 || !this.open(c)) return parse(rest === undefined ? chunk : Buffer.concat([rest, chunk]));
      state.handOff = false;
      state.took = false;
      let buf = chunk;
      let from = 0;
      if (rest !== undefined) {
        // The packet the last read ended in, completed from this one (one packet copied, not the read).
        const joined = completeFirstPacket(rest, chunk);
        if (joined === undefined) buf = Buffer.concat([rest, chunk]);
        else {
          const at = this.scan(c, joined.first, 0, state);
          if (state.handOff) {
            parse(joined.first.subarray(at));
            return parse(chunk.subarray(joined.from));
          }
          from = joined.from;
        }
      }
      const at = this.scan(c, buf, from, state);
      // aedes refreshes the keep-alive timer on every packet it handles (MQTT 3.1.1 §3.1.2.10).
      if (state.took && c._keepaliveInterval > 0) c._keepaliveTimer?.refresh();
      if (state.handOff) return parse(buf.subarray(at));
      if (at < buf.length) state.rest = Buffer.from(buf.subarray(at));
      return 0;
    };
  }

  /**
   * Delivers the publications of `buf` from `from` on that may be taken here; returns where it
   * stopped: at an incomplete packet (the caller keeps it), or (`state.handOff`) at the first
   * packet that is aedes' (the caller hands it and everything after it to aedes).
   */
  private scan(c: AedesClient, buf: Buffer, from: number, state: ScanState): number {
    const mqtt5 = c._parser.settings.protocolVersion === 5;
    const maxBytes = this.limits.maximumPacketSize;
    let at = from;
    while (at + 2 <= buf.length) {
      const header = readFixedHeader(buf, at);
      if (header === 'incomplete') break;
      if (header === 'malformed') {
        state.handOff = true; // aedes' parser refuses it
        break;
      }
      const { bodyAt, end } = header;
      if (end > buf.length) {
        // Incomplete: kept for the next read, unless larger than the broker accepts (aedes refuses it).
        if (maxBytes > 0 && end - at > maxBytes) state.handOff = true;
        break;
      }
      if (buf[at] === PLAIN_QOS0_PUBLISH && end - bodyAt >= 2 && (maxBytes <= 0 || end - at <= maxBytes)) {
        const topicEnd = bodyAt + 2 + buf.readUInt16BE(bodyAt);
        let payloadAt = topicEnd;
        // MQTT 5: a property length of 0 (one byte) is the only kind taken here.
        if (topicEnd <= end && (!mqtt5 || (topicEnd < end && buf[payloadAt++] === 0))) {
          const topic = buf.toString('utf8', bodyAt + 2, topicEnd);
          const route = this.routeOf(topic);
          if (route !== null && this.allowed(c, topic)) {
            state.took = true;
            this.taken++;
            if (route.length > 0) {
              const packet = new FeedPacket(topic, buf.subarray(payloadAt, end), c.id);
              for (let l = 0; l < route.length; l++) route[l]!(packet, noop);
            }
            at = end;
            continue;
          }
        }
      }
      state.handOff = true; // this packet and the rest of the read are aedes'
      break;
    }
    return at;
  }

  /** Whether this client's next packets may be taken here at all. */
  private open(c: AedesClient): boolean {
    return c.connected && !c.closed && c._parsingBatch <= 0 && this.broker.listenerCount('publish') === 0 && this.broker.published === this.defaultPublished;
  }

  /** The feed's listeners for `topic` when no one else subscribes to it; null otherwise (or an invalid topic). */
  private routeOf(topic: string): Listener[] | null {
    let route = this.routes.get(topic);
    if (route !== undefined) return route;
    route = null;
    if (validPublishTopic(topic, this.limits.maxTopicLevels)) {
      const listeners = this.matcher.match(topic) as Listener[];
      if (listeners.every((l) => this.feedListeners.has(l))) route = listeners;
    }
    // Bounded: a publisher cycling through topics must not grow it without end.
    if (this.routes.size >= MAX_ROUTES) this.routes.clear();
    this.routes.set(topic, route);
    return route;
  }
}

/** One client's framing state: an incomplete packet kept, and what the current read did. */
interface ScanState {
  rest: Buffer | undefined;
  handOff: boolean;
  took: boolean;
}

/** A subscriber on aedes' emitter (mqemitter): the publication and a callback. */
type Listener = (packet: unknown, done: () => void) => void;

/** 0x30: PUBLISH, DUP 0, QoS 0, RETAIN 0 (MQTT 3.1.1 §3.3.1, MQTT 5 §3.3.1). */
const PLAIN_QOS0_PUBLISH = 0x30;
/** Topics whose subscribers are remembered (then forgotten all at once). */
const MAX_ROUTES = 10_000;

/** aedes' own checks of a PUBLISH topic (handlers/publish.js): not empty, no wildcard, not too deep. */
function validPublishTopic(topic: string, maxLevels: number): boolean {
  if (topic.length === 0 || topic.includes('#') || topic.includes('+')) return false;
  let levels = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 47) levels++; // '/'
  return levels <= maxLevels;
}

/** What aedes' emitter would hand a subscriber for this publication (the fields the feed reads). */
class FeedPacket {
  readonly cmd = 'publish';
  readonly qos = 0;
  readonly retain = false;
  readonly dup = false;
  readonly properties = undefined;
  constructor(
    readonly topic: string,
    readonly payload: Buffer,
    readonly clientId: string,
  ) {}
}

function noop(): void {}

/** The parts of aedes' topic matcher (qlobber, inside mqemitter) used here. */
interface Matcher {
  match(topic: string): unknown[];
  add(...args: unknown[]): unknown;
  remove(...args: unknown[]): unknown;
  clear(...args: unknown[]): unknown;
}

/** The parts of an aedes client (lib/client.js, aedes 2.0.0-beta.1, pinned) read here. */
interface AedesClient {
  id: string;
  connected: boolean;
  closed: boolean;
  /** Packets given to the handlers and not finished yet. */
  _parsingBatch: number;
  _keepaliveInterval: number;
  _keepaliveTimer: { refresh(): void } | null;
  _parser: {
    parse(buf: Buffer): number;
    /** mqtt-packet's buffer list: bytes of a packet not complete yet. */
    _list: { length: number };
    settings: { protocolVersion?: number };
  };
}
