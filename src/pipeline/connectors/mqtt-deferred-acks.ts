import type { MqttClient } from 'mqtt';

/** The one mqtt.js method every outgoing packet goes through (`MqttClient#_sendPacket`, mqtt.js 5). */
type SendPacket = (packet: { cmd: string; messageId?: number }, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

type Packet = Parameters<SendPacket>[0];

/**
 * The PUBACKs that wait for one commit. The pipeline gives every message of a commit group the
 * same promise, so one group (one array, one `then`) replaces an object and two closures per
 * message (issue 16 §4: fewer objects alive until the commit, less GC).
 */
interface Group {
  committed: Promise<void>;
  /** The connection the messages came on: a PUBACK never goes out on a later one. */
  stream: unknown;
  packets: Packet[];
  /** mqtt.js's read-on callbacks held back because maxHeld PUBACKs were waiting. */
  later: Array<(err?: Error) => void>;
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
  /** Message id → the commit its PUBACK waits for. */
  private readonly held = new Map<number, Promise<void>>();
  /** The group PUBACKs join while their messages share its commit. */
  private group: Group | undefined;
  private lastHeld: Promise<void> | undefined;
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
      const committed = packet.cmd === 'puback' && packet.messageId !== undefined ? this.held.get(packet.messageId) : undefined;
      if (!committed) {
        original.call(this.client, packet, cb, ...rest);
        return;
      }
      this.held.delete(packet.messageId!);
      this.waiting++;
      let group = this.group;
      // mqtt.js sends the PUBACK from within handleMessage, so client.stream is the connection
      // the message came on.
      if (!group || group.committed !== committed || group.stream !== this.client.stream) {
        const g: Group = { committed, stream: this.client.stream, packets: [], later: [] };
        group = this.group = g;
        committed.then(
          () => this.settle(g, original, true),
          () => this.settle(g, original, false),
        );
      }
      group.packets.push(packet);
      // mqtt.js reads the next message when cb runs: at once, not after the commit, unless
      // maxHeld PUBACKs wait already; then once this one's commit is done.
      if (this.waiting < this.maxHeld) cb?.();
      else if (cb) group.later.push(cb);
    };
    return true;
  }

  /** The PUBACK of message `messageId` waits for `committed`; call before mqtt.js sends it. */
  hold(messageId: number, committed: Promise<void>): void {
    if (committed !== this.lastHeld) {
      this.lastHeld = committed;
      committed.catch(() => undefined); // handled where the PUBACKs are sent (settle)
    }
    this.held.set(messageId, committed);
  }

  private settle(group: Group, send: SendPacket, ok: boolean): void {
    if (this.group === group) this.group = undefined;
    if (this.lastHeld === group.committed) this.lastHeld = undefined;
    this.waiting -= group.packets.length;
    const sameConnection = this.client.stream === group.stream;
    if (ok) {
      // After a reconnect the broker delivers the messages again (persistent session); an
      // acknowledgement for the old connection's packet id must not go out on the new one.
      if (sameConnection && this.client.connected) for (const packet of group.packets) send.call(this.client, packet);
    } else if (sameConnection) {
      // Not stored: no PUBACK, and the connection is dropped so the broker delivers the
      // messages again once mqtt.js has reconnected (persistent session).
      (this.client.stream as { destroy(): void }).destroy();
    }
    for (const cb of group.later) cb();
  }
}
