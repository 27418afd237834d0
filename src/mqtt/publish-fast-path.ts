import { Writable } from 'node:stream';
import { completeFirstPacket, readFixedHeader } from './mqtt-framing.js';

/** A plain QoS 0 PUBLISH taken off the byte stream: topic and payload (a view of the bytes read). */
export type FastPublish = (topic: string, payload: Buffer) => void;

/** The part of mqtt.js's own writable (its parser) the fast path writes to. */
export interface PacketSink {
  write(chunk: Buffer): boolean;
  end(): unknown;
  once(event: 'drain', listener: () => void): unknown;
  readonly writableLength: number;
}

/** 0x30: PUBLISH, DUP 0, QoS 0, RETAIN 0 (MQTT 3.1.1 §3.3.1, MQTT 5 §3.3.1). */
const PLAIN_QOS0_PUBLISH = 0x30;

/**
 * The bridge's receive fast path (issue 16 §5: the profile showed mqtt.js's receive loop —
 * a packet object, buffer-list slices, a `process.nextTick` and an event per message — as the
 * largest part of the gateway's own time). Sits between the broker's byte stream and mqtt.js's
 * parser: splits the bytes into whole MQTT packets (fixed header, remaining length; MQTT 3.1.1
 * §2.2), hands plain QoS 0 PUBLISHes — no DUP, no RETAIN, and under MQTT 5 no properties —
 * straight to `onPublish`, and writes every other packet, whole and in order, to mqtt.js, which
 * handles it as before (CONNACK, SUBACK, PINGRESP, QoS 1/2, retained messages, properties,
 * malformed packets and their errors).
 *
 * Order is kept: a publish is taken here only while mqtt.js has handled everything it was given
 * (its writable is empty), and once a packet of a chunk went to mqtt.js, the rest of that chunk
 * goes too. Bytes of an incomplete packet wait for the next chunk.
 */
export class PublishFastPath extends Writable {
  private rest: Buffer | undefined;
  /** While one chunk is handled: publishes may be taken (mqtt.js had handled all it was given)… */
  private fast = false;
  /** …and a packet of this chunk already went to mqtt.js (the rest of it follows). */
  private slow = false;

  constructor(
    private readonly next: PacketSink,
    private readonly onPublish: FastPublish,
    private readonly mqtt5: boolean,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.fast = this.next.writableLength === 0;
    this.slow = false;
    const toMqttJs: Buffer[] = [];
    let buf = chunk;
    let from = 0;
    const rest = this.rest;
    this.rest = undefined;
    if (rest !== undefined) {
      // The packet the last read ended in, completed from this one (one packet copied, not the read).
      const joined = completeFirstPacket(rest, chunk);
      if (joined === undefined) buf = Buffer.concat([rest, chunk]);
      else {
        this.scan(joined.first, 0, toMqttJs);
        from = joined.from;
      }
    }
    this.scan(buf, from, toMqttJs);
    let ok = true;
    for (const bytes of toMqttJs) ok = this.next.write(bytes);
    if (!ok) {
      this.next.once('drain', () => callback());
      return;
    }
    callback();
  }

  /** Takes the plain QoS 0 PUBLISHes of `buf` from `from` on; what mqtt.js gets is added to `toMqttJs`, an incomplete tail kept. */
  private scan(buf: Buffer, from: number, toMqttJs: Buffer[]): void {
    let at = from;
    let slowFrom = this.slow ? from : -1;
    while (at + 2 <= buf.length) {
      const header = readFixedHeader(buf, at);
      if (header === 'incomplete') break;
      if (header === 'malformed') {
        // Everything from here is mqtt.js's to refuse.
        if (slowFrom < 0) slowFrom = at;
        at = buf.length;
        break;
      }
      const { bodyAt, end } = header;
      if (end > buf.length) break;
      if (slowFrom < 0 && this.fast && buf[at] === PLAIN_QOS0_PUBLISH && end - bodyAt >= 2) {
        const topicEnd = bodyAt + 2 + buf.readUInt16BE(bodyAt);
        let payloadAt = topicEnd;
        // MQTT 5: a property length of 0 (one byte) is the only kind taken here.
        const plain = topicEnd <= end && (!this.mqtt5 || (topicEnd < end && buf[payloadAt++] === 0));
        if (plain) {
          this.onPublish(buf.toString('utf8', bodyAt + 2, topicEnd), buf.subarray(payloadAt, end));
          at = end;
          continue;
        }
      }
      if (slowFrom < 0) slowFrom = at;
      at = end;
    }
    if (at < buf.length) this.rest = Buffer.from(buf.subarray(at));
    if (slowFrom >= 0) {
      this.slow = true;
      if (at > slowFrom) toMqttJs.push(buf.subarray(slowFrom, at));
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.next.end();
    callback();
  }
}

/**
 * Puts a PublishFastPath between `stream` and whatever mqtt.js pipes it into (mqtt.js's
 * `connect()` does `stream.pipe(itsParser)` on every (re)connection's new stream).
 */
export function withPublishFastPath<S extends NodeJS.ReadableStream>(stream: S, onPublish: FastPublish, mqtt5: boolean): S {
  const pipe = stream.pipe.bind(stream);
  (stream as { pipe: unknown }).pipe = <T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T => {
    pipe(new PublishFastPath(destination as unknown as PacketSink, onPublish, mqtt5), options);
    return destination;
  };
  return stream;
}
