import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { DeferredAcks } from '../../src/pipeline/connectors/mqtt-deferred-acks.js';

/** The two things DeferredAcks uses of an mqtt.js client: `_sendPacket` and the current stream. */
function clientStub() {
  const sent: number[] = [];
  const stream = { destroyed: false, destroy() { this.destroyed = true; } };
  const client = {
    connected: true,
    stream,
    _sendPacket(packet: { cmd: string; messageId?: number }, cb?: () => void) {
      sent.push(packet.messageId!);
      cb?.();
    },
  };
  return { client, sent, stream };
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('QoS 1 PUBACKs held until the commit, at most maxHeld of them (issue 16 §4)', () => {
  it('sends no PUBACK before the commit; at maxHeld, mqtt.js reads on only after the commit', async () => {
    const { client, sent } = clientStub();
    const acks = new DeferredAcks(client as unknown as MqttClient, 3);
    assert.equal(acks.install(), true);
    const commit = deferred();
    const readOn: number[] = [];
    const send = (client as unknown as { _sendPacket(p: object, cb: () => void): void })._sendPacket;
    for (const id of [1, 2, 3, 4]) {
      acks.hold(id, commit.promise);
      send.call(client, { cmd: 'puback', messageId: id }, () => readOn.push(id));
    }
    await tick();
    assert.deepEqual(sent, [], 'no PUBACK before the commit');
    assert.deepEqual(readOn, [1, 2], 'mqtt.js reads on at once below the cap, not at it');
    assert.equal(acks.size, 4);
    commit.resolve();
    await tick();
    assert.deepEqual(sent, [1, 2, 3, 4], 'every PUBACK after the commit, in order');
    assert.deepEqual(readOn, [1, 2, 3, 4], 'reading resumes once the commit is done');
    assert.equal(acks.size, 0);
  });

  it('a failed commit sends no PUBACK and drops the connection', async () => {
    const { client, sent, stream } = clientStub();
    const acks = new DeferredAcks(client as unknown as MqttClient, 10);
    acks.install();
    const commit = deferred();
    acks.hold(7, commit.promise);
    (client as unknown as { _sendPacket(p: object, cb: () => void): void })._sendPacket({ cmd: 'puback', messageId: 7 }, () => undefined);
    commit.reject(new Error('disk full'));
    await tick();
    assert.deepEqual(sent, []);
    assert.equal(stream.destroyed, true);
  });
});
