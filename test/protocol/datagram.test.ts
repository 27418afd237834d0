import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDatagram, encodeDatagram, isValidHostname, MAX_DATAGRAM_BYTES } from '../../src/protocol/datagram.js';
import { isValidIpv4 } from '../../src/protocol/ip.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('SPORE datagram codec (CONTRACT §2)', () => {
  it('decodes the six datagram kinds', () => {
    assert.deepEqual(decodeDatagram(enc('CLUSTER_DISCOVERY')), { ok: true, datagram: { kind: 'discovery' } });
    assert.deepEqual(decodeDatagram(enc('CLUSTER_RESPONSE:esp-1')), { ok: true, datagram: { kind: 'response', hostname: 'esp-1' } });
    assert.deepEqual(decodeDatagram(enc('CLUSTER_HEARTBEAT:esp_123456')), {
      ok: true,
      datagram: { kind: 'heartbeat', hostname: 'esp_123456' },
    });
    assert.deepEqual(decodeDatagram(enc('NODE_UPDATE:esp-1:{"labels":{"room":"hall"},"version":"1.2.0","uptime":5}')), {
      ok: true,
      datagram: { kind: 'node-update', hostname: 'esp-1', info: { labels: { room: 'hall' }, version: '1.2.0', uptime: 5 } },
    });
    assert.deepEqual(decodeDatagram(enc('CLUSTER_EVENT:{"event":"led/set","data":{"r":1}}')), {
      ok: true,
      datagram: { kind: 'event', event: 'led/set', data: { r: 1 } },
    });
    assert.deepEqual(decodeDatagram(enc('RAW:anything: goes')), { ok: true, datagram: { kind: 'raw', payload: 'anything: goes' } });
  });

  it('accepts a NODE_UPDATE whose JSON contains colons', () => {
    const r = decodeDatagram(enc('NODE_UPDATE:n1:{"api":[{"uri":"/a:b","method":"GET"}]}'));
    assert.equal(r.ok, true);
    assert.equal(r.ok && r.datagram.kind === 'node-update' && r.datagram.info.api?.[0]?.uri, '/a:b');
  });

  it('round-trips through encodeDatagram', () => {
    for (const d of [
      { kind: 'discovery' as const },
      { kind: 'heartbeat' as const, hostname: 'a.b-c_d' },
      { kind: 'response' as const, hostname: 'x' },
      { kind: 'node-update' as const, hostname: 'n', info: { labels: { a: 'b' } } },
      { kind: 'event' as const, event: 'e', data: [1, 'two'] },
      { kind: 'raw' as const, payload: 'p:q' },
    ]) {
      assert.deepEqual(decodeDatagram(enc(encodeDatagram(d))), { ok: true, datagram: d });
    }
  });

  it('classifies junk with a reason', () => {
    const cases: Array<[Uint8Array, string]> = [
      [enc('HELLO'), 'unknown-prefix'],
      [enc(''), 'unknown-prefix'],
      [enc('CLUSTER_HEARTBEAT:'), 'bad-hostname'],
      [enc('CLUSTER_HEARTBEAT:bad host'), 'bad-hostname'],
      [enc(`CLUSTER_HEARTBEAT:${'a'.repeat(65)}`), 'bad-hostname'],
      [enc('CLUSTER_HEARTBEAT:a/b'), 'bad-hostname'],
      [enc('NODE_UPDATE:n1:{not json'), 'bad-json'],
      [enc('NODE_UPDATE:n1:[1,2]'), 'bad-json'],
      [enc('NODE_UPDATE:n1'), 'bad-shape'],
      [enc('NODE_UPDATE:n1:{"labels":{"a":1}}'), 'bad-shape'],
      [enc('NODE_UPDATE:n1:{"labels":"x"}'), 'bad-shape'],
      [enc('CLUSTER_EVENT:{"data":1}'), 'bad-shape'],
      [enc('CLUSTER_EVENT:nope'), 'bad-json'],
      [new Uint8Array([0xff, 0xfe, 0x00, 0x80]), 'not-utf8'],
      [new Uint8Array(MAX_DATAGRAM_BYTES + 1).fill(65), 'too-large'],
      [enc('cluster_heartbeat:esp'), 'unknown-prefix'],
    ];
    for (const [bytes, reason] of cases) {
      assert.deepEqual(decodeDatagram(bytes), { ok: false, reason }, `for ${new TextDecoder().decode(bytes.slice(0, 40))}`);
    }
  });

  it('validates hostnames and IPv4 addresses strictly', () => {
    assert.ok(isValidHostname('esp_123456'));
    assert.ok(isValidHostname('a'.repeat(64)));
    assert.ok(!isValidHostname(''));
    assert.ok(!isValidHostname('a:b'));
    assert.ok(isValidIpv4('192.168.1.100'));
    assert.ok(isValidIpv4('127.0.1.1'));
    for (const bad of ['256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4 ', 'a.b.c.d', '::1', '1.2.3.4.5', '']) assert.ok(!isValidIpv4(bad), bad);
  });
});
