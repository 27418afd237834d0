import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import { PublishFastPath } from '../../src/mqtt/publish-fast-path.js';

/**
 * The bridge's receive fast path (src/mqtt/publish-fast-path.ts): plain QoS 0 PUBLISHes are taken
 * off the byte stream, every other packet reaches mqtt.js's parser whole and in order, however the
 * bytes are split into reads.
 */

type Seen = { via: 'fast' | 'parser'; cmd: string; topic?: string; payload?: string; qos?: number; retain?: boolean };

/** A stand-in for mqtt.js's writable: parses what it gets with mqtt-packet; optionally slow (async callback). */
function harness(protocolVersion: 4 | 5, slow = false): { fast: PublishFastPath; seen: Seen[]; parserErrors: Error[]; settled: () => Promise<void> } {
  const seen: Seen[] = [];
  const parserErrors: Error[] = [];
  const parser = mqttPacket.parser({ protocolVersion });
  parser.on('packet', (p: any) => seen.push({ via: 'parser', cmd: p.cmd, ...(p.cmd === 'publish' ? { topic: p.topic, payload: p.payload.toString(), qos: p.qos, retain: p.retain } : {}) }));
  parser.on('error', (e: Error) => parserErrors.push(e));
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      // Slow: handled later, as mqtt.js handles all but the first packet of a read on a later tick.
      if (slow) {
        setImmediate(() => {
          parser.parse(chunk);
          cb();
        });
      } else {
        parser.parse(chunk);
        cb();
      }
    },
  });
  const fast = new PublishFastPath(sink, (topic, payload) => seen.push({ via: 'fast', cmd: 'publish', topic, payload: payload.toString() }), protocolVersion === 5);
  // The slow parser answers later: wait until it has handled all it was given.
  const settled = async (): Promise<void> => {
    while (sink.writableLength > 0 || fast.writableLength > 0) await new Promise((r) => setImmediate(r));
  };
  return { fast, seen, parserErrors, settled };
}

const gen = (p: object, protocolVersion: 4 | 5 = 4): Buffer => mqttPacket.generate(p as mqttPacket.Packet, { protocolVersion });

async function feed(w: Writable, bytes: Buffer, cuts: number[]): Promise<void> {
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > at) await new Promise<void>((r) => w.write(bytes.subarray(at, cut), () => r()));
    at = Math.max(at, cut);
  }
}

describe('MQTT receive fast path (issue 16 §5)', () => {
  const v4 = [
    gen({ cmd: 'connack', returnCode: 0, sessionPresent: false }),
    gen({ cmd: 'suback', messageId: 1, granted: [0] }),
    gen({ cmd: 'publish', topic: 'a/1', payload: Buffer.from('one'), qos: 0, retain: false, dup: false }),
    gen({ cmd: 'publish', topic: 'a/2', payload: Buffer.from('retained'), qos: 0, retain: true, dup: false }),
    gen({ cmd: 'publish', topic: 'a/3', payload: Buffer.from('two'), qos: 0, retain: false, dup: false }),
    gen({ cmd: 'publish', topic: 'a/4', payload: Buffer.from('q1'), qos: 1, messageId: 7, retain: false, dup: false }),
    gen({ cmd: 'publish', topic: 'a/5', payload: Buffer.alloc(200, 0x61), qos: 0, retain: false, dup: false }), // 2-byte remaining length
    gen({ cmd: 'publish', topic: 'a/6', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }),
    gen({ cmd: 'pingresp' }),
    gen({ cmd: 'publish', topic: 'ü/7', payload: Buffer.from('three'), qos: 0, retain: false, dup: false }),
  ];
  const all = Buffer.concat(v4);
  const order = ['connack', 'suback', 'a/1', 'a/2', 'a/3', 'a/4', 'a/5', 'a/6', 'pingresp', 'ü/7'];
  const key = (s: Seen): string => (s.cmd === 'publish' ? s.topic! : s.cmd);

  it('delivers every packet once, in order, split at every byte boundary (fast and slow parser)', async () => {
    for (const slow of [false, true]) {
      for (let cut = 0; cut <= all.length; cut++) {
        const { fast, seen, parserErrors, settled } = harness(4, slow);
        await feed(fast, all, [cut]);
        await settled();
        assert.deepEqual(seen.map(key), order, `cut at ${cut}, slow parser ${slow}`);
        assert.deepEqual(parserErrors, []);
        assert.equal(seen.find((s) => s.topic === 'a/5')!.payload, 'a'.repeat(200));
      }
    }
  });

  it('takes only plain QoS 0 PUBLISHes; retained, QoS 1 and control packets go to mqtt.js', async () => {
    const { fast, seen } = harness(4);
    // One read per packet, the parser idle in between.
    const cuts: number[] = [];
    v4.reduce((at, p) => (cuts.push(at + p.length), at + p.length), 0);
    await feed(fast, all, cuts);
    assert.deepEqual(
      seen.map((s) => `${key(s)}:${s.via}`),
      ['connack:parser', 'suback:parser', 'a/1:fast', 'a/2:parser', 'a/3:fast', 'a/4:parser', 'a/5:fast', 'a/6:fast', 'pingresp:parser', 'ü/7:fast'],
    );
    assert.equal(seen.find((s) => s.topic === 'a/2')!.retain, true);
    assert.equal(seen.find((s) => s.topic === 'a/4')!.qos, 1);
  });

  it('after a packet went to a busy parser, later publishes wait for it (order across reads)', async () => {
    const { fast, seen, settled } = harness(4, true);
    // One read each: a QoS 1 publish (parser, answers asynchronously), then a plain one.
    await feed(fast, Buffer.concat(v4.slice(5, 7)), [v4[5]!.length]);
    await settled();
    assert.deepEqual(seen.map((s) => `${key(s)}:${s.via}`), ['a/4:parser', 'a/5:parser']);
  });

  it('MQTT 5: a publish without properties is taken, one with properties goes to mqtt.js', async () => {
    const { fast, seen, parserErrors } = harness(5);
    const bytes = Buffer.concat([
      gen({ cmd: 'publish', topic: 'b/1', payload: Buffer.from('x'), qos: 0, retain: false, dup: false }, 5),
      gen({ cmd: 'publish', topic: 'b/2', payload: Buffer.from('y'), qos: 0, retain: false, dup: false, properties: { contentType: 'text/plain' } }, 5),
      gen({ cmd: 'publish', topic: 'b/3', payload: Buffer.from('z'), qos: 0, retain: false, dup: false }, 5),
    ]);
    await feed(fast, bytes, []);
    assert.deepEqual(seen.map((s) => [s.topic, s.payload]), [['b/1', 'x'], ['b/2', 'y'], ['b/3', 'z']]);
    assert.equal(seen[0]!.via, 'fast');
    assert.equal(seen[1]!.via, 'parser');
    assert.deepEqual(parserErrors, []);
  });

  it('hands a malformed remaining length to mqtt.js, which refuses it', async () => {
    const { fast, seen, parserErrors } = harness(4);
    await feed(fast, Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00]), []);
    assert.deepEqual(seen, []);
    assert.equal(parserErrors.length, 1);
  });
});
