import type { MqttClient } from 'mqtt';

/** The one mqtt.js method every outgoing packet goes through (`MqttClient#_sendPacket`, mqtt.js 5). */
type SendPacket = (packet: { cmd: string; messageId?: number }, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

interface Held {
  committed: Promise<void>;
  /** The connection the message came on: a PUBACK never goes out on a later one. */
  stream: unknown;
}

/** PUBACKs held at most by default (messages): the largest commit group, and the most messages read ahead of their commit. */
export const DEFAULT_MAX_HELD = 5000;

/**
 * Group commit for QoS 1 (issue 16 §4). mqtt.js hands incoming messages over one at a time and
 * reads the next only once the PUBACK of the current one is sent, so acknowledging after the
 * commit meant one commit (one fsync) per message. This holds each PUBACK until its message's
 * commit has finished, while letting mqtt.js go on to the next message at once: every message
 * that arrives before the pipeline's next flush joins that commit, and their PUBACKs go out
 * together after it, in arrival order. Messages that arrive while a commit runs wait for the
 * next one (the commit is synchronous, so they are only read once it is done).
 *
 * How many messages a connection can have unacknowledged is the broker's in-flight window
 * (Mosquitto `max_inflight_messages`, default 20; MQTT 5 Receive Maximum). A broker without one
 * (in-flight 0 = unlimited) sends a queued backlog as fast as the socket takes it, so at most
 * `maxHeld` PUBACKs are held: at that many, mqtt.js is let to read on only once their commit is
 * done (backpressure: the socket is not read, TCP flow control holds the broker back) rather than
 * buffering the backlog in memory. That also bounds the group size.
 *
 * mqtt.js offers no public hook for this: it wraps the client's `_sendPacket`. Without that
 * method (another mqtt.js major), `install` returns false and the caller acknowledges each
 * message after its own commit, as before.
 */
export class DeferredAcks {
  private readonly held = new Map<number, Held>();
  /** PUBACKs intercepted whose commit has not settled yet. */
  private waiting = 0;
  /** @param maxHeld PUBACKs held at most before mqtt.js reads no further (messages). */
  constructor(
    private readonly client: MqttClient,
    private readonly maxHeld = DEFAULT_MAX_HELD,
  ) {}

  /** PUBACKs held now, waiting for their commit. */
  get size(): number {
    return this.waiting;
  }

  /** Wraps the client's packet writer; false if this mqtt.js has none to wrap. */
  install(): boolean {
    const target = this.client as unknown as { _sendPacket?: SendPacket };
    const original = target._sendPacket;
    if (typeof original !== 'function') return false;
    target._sendPacket = (packet, cb, ...rest) => {
      const held = packet.cmd === 'puback' && packet.messageId !== undefined ? this.held.get(packet.messageId) : undefined;
      if (!held) {
        original.call(this.client, packet, cb, ...rest);
        return;
      }
      this.held.delete(packet.messageId!);
      this.waiting++;
      // mqtt.js reads the next message when cb runs: at once, not after the commit, unless
      // maxHeld PUBACKs wait already; then once this one's commit is done.
      const readOnNow = this.waiting < this.maxHeld;
      if (readOnNow) cb?.();
      held.committed.then(
        () => {
          this.waiting--;
          // After a reconnect the broker delivers the message again (persistent session); an
          // acknowledgement for the old connection's packet id must not go out on the new one.
          if (this.client.stream === held.stream && this.client.connected) original.call(this.client, packet);
          if (!readOnNow) cb?.();
        },
        () => {
          this.waiting--;
          // Not stored: no PUBACK, and the connection is dropped so the broker delivers the
          // message again once mqtt.js has reconnected (persistent session).
          if (this.client.stream === held.stream) this.client.stream.destroy();
          if (!readOnNow) cb?.();
        },
      );
    };
    return true;
  }

  /** The PUBACK of message `messageId` waits for `committed`; call before mqtt.js sends it. */
  hold(messageId: number, committed: Promise<void>): void {
    committed.catch(() => undefined); // handled where the PUBACK is sent
    this.held.set(messageId, { committed, stream: this.client.stream });
  }
}
