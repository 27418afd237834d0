import { Writable } from 'node:stream';

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

  constructor(
    private readonly next: PacketSink,
    private readonly onPublish: FastPublish,
    private readonly mqtt5: boolean,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const buf = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = undefined;
    const fast = this.next.writableLength === 0;
    let at = 0;
    let slowFrom = -1;
    while (at + 2 <= buf.length) {
      // Remaining length: 1-4 bytes of 7 bits, least significant first.
      let length = 0;
      let multiplier = 1;
      let i = at + 1;
      let complete = false;
      while (i < buf.length && i < at + 5) {
        const byte = buf[i++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (i >= at + 5) {
          // Malformed (a fifth length byte): everything from here is mqtt.js's to refuse.
          if (slowFrom < 0) slowFrom = at;
          at = buf.length;
        }
        break;
      }
      const end = i + length;
      if (end > buf.length) break;
      if (slowFrom < 0 && fast && buf[at] === PLAIN_QOS0_PUBLISH && length >= 2) {
        const topicEnd = i + 2 + buf.readUInt16BE(i);
        let payloadAt = topicEnd;
        // MQTT 5: a property length of 0 (one byte) is the only kind taken here.
        const plain = topicEnd <= end && (!this.mqtt5 || (topicEnd < end && buf[payloadAt++] === 0));
        if (plain) {
          this.onPublish(buf.toString('utf8', i + 2, topicEnd), buf.subarray(payloadAt, end));
          at = end;
          continue;
        }
      }
      if (slowFrom < 0) slowFrom = at;
      at = end;
    }
    if (at < buf.length) this.rest = Buffer.from(buf.subarray(at));
    if (slowFrom >= 0 && at > slowFrom && !this.next.write(buf.subarray(slowFrom, at))) {
      this.next.once('drain', () => callback());
      return;
    }
    callback();
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
