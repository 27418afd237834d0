import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBrokerUrl } from '../../src/mqtt/connection.js';
import { DuplicateSuppressor, TopicRateLimiter } from '../../src/mqtt/message-guards.js';
import { OwnPublications } from '../../src/mqtt/own-publications.js';
import { RetentionBuffer } from '../../src/mqtt/retention-buffer.js';
import { compileFilter, topicFilterProblem, topicMatches } from '../../src/mqtt/topic-filter.js';
import { formatMqttMessage, markReplayed } from '../../src/mqtt/ws-format.js';
import { MqttWsEncoder } from '../../src/mqtt/ws-message-encoder.js';
import { validateConfig } from '../../src/config/load-config.js';
import { GATEWAY_FLAGS, flagsToConfig } from '../../src/cli/gateway-flags.js';
import { parseFlags, FlagError } from '../../src/cli/parse-flags.js';

describe('broker URLs (CONTRACT §1/§6)', () => {
  it('fills in the default port of each scheme and /mqtt for WebSocket', () => {
    const cases: Array<[string, string, number, string, string]> = [
      ['tcp://broker', 'mqtt', 1883, '', 'tcp://broker:1883'],
      ['mqtt://broker:1999', 'mqtt', 1999, '', 'mqtt://broker:1999'],
      ['tls://broker', 'mqtts', 8883, '', 'tls://broker:8883'],
      ['mqtts://broker', 'mqtts', 8883, '', 'mqtts://broker:8883'],
      ['ws://broker', 'ws', 80, '/mqtt', 'ws://broker:80/mqtt'],
      ['ws://broker:9001/', 'ws', 9001, '/mqtt', 'ws://broker:9001/mqtt'],
      ['wss://broker/custom/path', 'wss', 443, '/custom/path', 'wss://broker:443/custom/path'],
      ['ws://broker:80', 'ws', 80, '/mqtt', 'ws://broker:80/mqtt'],
      ['tcp://[::1]', 'mqtt', 1883, '', 'tcp://[::1]:1883'],
    ];
    for (const [url, transport, port, path, display] of cases) {
      const a = parseBrokerUrl(url);
      assert.equal(a.transport, transport, url);
      assert.equal(a.port, port, url);
      assert.equal(a.path, path, url);
      assert.equal(a.display, display, url);
    }
    assert.equal(parseBrokerUrl('tcp://[::1]').host, '::1');
  });

  it('takes credentials from the URL but never shows them', () => {
    const a = parseBrokerUrl('mqtt://alice:s%40cret@broker:1884');
    assert.equal(a.username, 'alice');
    assert.equal(a.password, 's@cret');
    assert.doesNotMatch(a.display, /alice|cret/);
  });

  it('refuses unknown schemes and bad ports with the accepted forms', () => {
    assert.throws(() => parseBrokerUrl('http://broker'), /tcp:\/\/host/);
    assert.throws(() => parseBrokerUrl('tcp://broker:70000'), /port|valid URL/);
  });
});

describe('MQTT topic filters', () => {
  it('matches like a broker does', () => {
    const yes: Array<[string, string]> = [
      ['#', 'a'],
      ['#', 'a/b/c'],
      ['a/#', 'a'],
      ['a/#', 'a/b/c'],
      ['a/+/c', 'a/b/c'],
      ['+/+', 'a/b'],
      ['+', ''],
      ['a/+', 'a/'],
      ['$SYS/#', '$SYS/x'],
    ];
    const no: Array<[string, string]> = [
      ['#', '$SYS/x'],
      ['+/x', '$SYS/x'],
      ['a/+', 'a/b/c'],
      ['a/+/c', 'a/b/d'],
      ['a/b', 'a/b/c'],
      ['a', 'b'],
    ];
    for (const [f, t] of yes) {
      assert.ok(topicMatches(f, t), `${f} ~ ${t}`);
      assert.ok(compileFilter(f)(t), `compiled ${f} ~ ${t}`);
    }
    for (const [f, t] of no) {
      assert.ok(!topicMatches(f, t), `${f} !~ ${t}`);
      assert.ok(!compileFilter(f)(t), `compiled ${f} !~ ${t}`);
    }
  });

  it('explains invalid filters', () => {
    assert.equal(topicFilterProblem('a/#'), undefined);
    assert.match(topicFilterProblem('a/#/b')!, /last level/);
    assert.match(topicFilterProblem('a+')!, /whole level/);
    assert.match(topicFilterProblem('')!, /empty/);
  });
});

describe('WebSocket format of MQTT messages (CONTRACT §5)', () => {
  it('is exactly {topic, data, timestamp, source} for UTF-8 payloads', () => {
    const json = formatMqttMessage('sensor/"t"', Buffer.from('{"v":23.5} ünïcode'), '2024-01-15T10:30:00.123Z');
    assert.deepEqual(JSON.parse(json), { topic: 'sensor/"t"', data: '{"v":23.5} ünïcode', timestamp: '2024-01-15T10:30:00.123Z', source: 'mqtt' });
    assert.deepEqual(Object.keys(JSON.parse(json)), ['topic', 'data', 'timestamp', 'source']);
  });

  it('sends non-UTF-8 payloads as base64 with "encoding":"base64", byte-exact', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3]);
    const m = JSON.parse(formatMqttMessage('bin', bytes, '2024-01-15T10:30:00.123Z'));
    assert.equal(m.encoding, 'base64');
    assert.deepEqual(Buffer.from(m.data, 'base64'), bytes);
  });

  it('adds MQTT 5 content type and user properties, and marks replays', () => {
    const json = formatMqttMessage('t', Buffer.from('x'), '2024-01-15T10:30:00.123Z', { contentType: 'text/plain', userProperties: { a: '1', b: ['2', '3'] } });
    assert.deepEqual(JSON.parse(markReplayed(json)), {
      topic: 't',
      data: 'x',
      timestamp: '2024-01-15T10:30:00.123Z',
      source: 'mqtt',
      contentType: 'text/plain',
      userProperties: { a: '1', b: ['2', '3'] },
      replay: true,
    });
  });
});

describe('WebSocket JSON written as bytes (issue 16 §5, src/mqtt/ws-message-encoder.ts)', () => {
  const ts = '2024-01-15T10:30:00.123Z';
  it('is byte for byte what formatMqttMessage builds, for every kind of payload', () => {
    const encoder = new MqttWsEncoder();
    const every = Buffer.from(Array.from({ length: 128 }, (_, i) => i)); // every ASCII byte, controls and " \\ included
    const payloads: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from('|12|345|xxxx'),
      every,
      Buffer.from('{"v":23.5,"s":"a\\b"} ünïcode € 😀 \u2028'),
      Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3]), // not UTF-8: base64
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate is not UTF-8 either
      Buffer.concat([Buffer.from('"\n\t\u0001'.repeat(30_000)), every]), // 150 KB, mostly escapes: the scratch grows
      Buffer.from('x'.repeat(1024)),
    ];
    const extras = [undefined, { contentType: 'text/"plain"' }, { userProperties: { a: '1', b: ['2', 'ü'] } }];
    for (const topic of ['bench/sensor', 'sensor/"t"/ü', 'a\\b']) {
      for (const payload of payloads) {
        for (const extra of extras) {
          const bytes = encoder.encode(topic, payload, ts, extra);
          assert.equal(bytes.toString('utf8'), formatMqttMessage(topic, payload, ts, extra), `${topic} / ${payload.subarray(0, 20).toString('hex')} / ${JSON.stringify(extra)}`);
        }
      }
    }
    // One byte to escape (or not) at every position and alignment: the word-at-a-time check.
    for (const topic of ['t', 'to', 'top', 'topi']) {
      for (const value of [0x00, 0x08, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f]) {
        for (let at = 0; at < 19; at++) {
          const payload = Buffer.from('abcdefghijklmnopqrs');
          payload[at] = value;
          assert.equal(encoder.encode(topic, payload, ts).toString('utf8'), formatMqttMessage(topic, payload, ts), `${topic} ${value} at ${at}`);
        }
      }
    }
    // A later message reuses the buffer: what was returned before is only valid until then.
    const first = Buffer.from(encoder.encode('t', Buffer.from('one'), ts));
    encoder.encode('t', Buffer.from('two'), ts);
    assert.deepEqual(JSON.parse(first.toString()).data, 'one');
  });

  it('the retention buffer keeps the bytes and gives back the same text', () => {
    const encoder = new MqttWsEncoder();
    const r = new RetentionBuffer({ perTopic: 3, maxTopics: 10, maxBytes: 1 << 20 });
    const texts = ['plain', 'ünïcode € 😀', 'quote " and \\'];
    for (const t of texts) r.addBytes('t', encoder.encode('t', Buffer.from(t), ts));
    assert.deepEqual(r.query('#', 10).map((j) => JSON.parse(j).data), texts);
    assert.equal(r.stats().bytes, texts.reduce((n, t) => n + Buffer.byteLength(formatMqttMessage('t', Buffer.from(t), ts)), 0));
  });
});

describe('retention buffer', () => {
  it('keeps the last N per topic, oldest first, filtered and limited', () => {
    const r = new RetentionBuffer({ perTopic: 3, maxTopics: 100, maxBytes: 1 << 20 });
    for (let i = 0; i < 5; i++) {
      r.add('a/x', `{"a":${i}}`);
      r.add('b/x', `{"b":${i}}`);
    }
    assert.deepEqual(r.query('a/#', 10), ['{"a":2}', '{"a":3}', '{"a":4}']);
    assert.deepEqual(r.query('#', 4), ['{"b":2}', '{"a":3}', '{"b":3}', '{"a":4}', '{"b":4}'].slice(1));
    assert.equal(r.stats().messages, 6);
    assert.equal(r.stats().evicted, 4);
  });

  it('stays within its topic and byte bounds, evicting the least recently updated topic', () => {
    const r = new RetentionBuffer({ perTopic: 10, maxTopics: 2, maxBytes: 1024 });
    r.add('t1', 'x'.repeat(100));
    r.add('t2', 'x'.repeat(100));
    r.add('t1', 'y'.repeat(100));
    r.add('t3', 'x'.repeat(100)); // t2 is now the least recently updated
    assert.deepEqual(r.query('#', 10).length, 3);
    assert.deepEqual(r.query('t2', 10), []);
    for (let i = 0; i < 50; i++) r.add('t3', 'z'.repeat(100));
    assert.ok(r.stats().bytes <= 1024);
  });
});

describe('duplicate suppression and rate limit (seed 001)', () => {
  it('drops the same topic and payload within the window only', () => {
    const d = new DuplicateSuppressor(1000, 100);
    assert.equal(d.isDuplicate('t', Buffer.from('a'), 0), false);
    assert.equal(d.isDuplicate('t', Buffer.from('a'), 500), true);
    assert.equal(d.isDuplicate('u', Buffer.from('a'), 500), false, 'another topic');
    assert.equal(d.isDuplicate('t', Buffer.from('b'), 600), false, 'another payload');
    assert.equal(d.isDuplicate('t', Buffer.from('a'), 1600), false, 'after the window');
  });

  it('allows rate × time plus the burst per topic', () => {
    const l = new TopicRateLimiter(2, 2, 100);
    const allowed = (t: string, now: number): boolean => l.allow(t, now);
    assert.deepEqual([allowed('t', 0), allowed('t', 0), allowed('t', 0)], [true, true, false]);
    assert.equal(allowed('other', 0), true);
    assert.equal(allowed('t', 500), true, 'one token back after 0.5 s at 2/s');
    assert.equal(allowed('t', 500), false);
  });
});

describe('own publications', () => {
  it('recognises each echo once', () => {
    const own = new OwnPublications();
    own.remember('s/state', Buffer.from('{"a":1}'), 0);
    assert.equal(own.consume('s/state', Buffer.from('{"a":2}'), 1), false);
    assert.equal(own.consume('s/state', Buffer.from('{"a":1}'), 1), true);
    assert.equal(own.consume('s/state', Buffer.from('{"a":1}'), 2), false, 'consumed');
    own.remember('s/state', Buffer.from('x'), 0);
    assert.equal(own.consume('s/state', Buffer.from('x'), 60_000), false, 'expired');
    assert.equal(own.size, 0);
  });
});

describe('MQTT configuration and flags', () => {
  it('has working defaults', () => {
    const c = validateConfig({ mqtt: { url: 'tcp://h' } }).mqtt;
    assert.deepEqual(c.subscriptions, [{ topic: '#', qos: 0 }]);
    assert.equal(c.reconnectPeriodMs, 10_000);
    assert.equal(c.cluster.enabled, true);
    assert.equal(c.homeAssistant.enabled, false);
    assert.equal(c.dedupWindowMs, 0);
    assert.equal(c.rateLimitPerTopic, 0);
    assert.equal(c.echoOwnPublications, false);
    assert.equal(c.tls.allowSelfSigned, false);
  });

  it('reports bad MQTT settings with their paths', () => {
    assert.throws(
      () => validateConfig({ mqtt: { subscriptions: [{ topic: 'a/#/b', qos: 3 }], protocolVersion: 6, tls: { certFile: '/x' }, cluster: { prefix: 'a/#' }, bogus: 1 } }),
      (err: Error) =>
        /mqtt\.subscriptions\[0\]\.topic/.test(err.message) &&
        /mqtt\.subscriptions\[0\]\.qos/.test(err.message) &&
        /mqtt\.protocolVersion/.test(err.message) &&
        /mqtt\.tls\.keyFile/.test(err.message) &&
        /mqtt\.cluster\.prefix/.test(err.message) &&
        /bogus/.test(err.message),
    );
  });

  it('maps the -mqtt-* flags onto the configuration', () => {
    const { values } = parseFlags(
      ['-mqtt', 'embedded', '-mqtt-port', '1999', '-mqtt-ws-port', '0', '-mqtt-topics', 'sensor/#:1,spore/+/x:2,plain', '-mqtt-protocol', '5', '-mqtt-insecure', '-mqtt-ha', '-mqtt-reconnect', '500'],
      GATEWAY_FLAGS,
    );
    const config = validateConfig(flagsToConfig(values));
    assert.equal(config.mqtt.url, 'embedded');
    assert.equal(config.mqtt.embedded.port, 1999);
    assert.equal(config.mqtt.embedded.wsPort, 0);
    assert.deepEqual(config.mqtt.subscriptions, [
      { topic: 'sensor/#', qos: 1 },
      { topic: 'spore/+/x', qos: 2 },
      { topic: 'plain', qos: 0 },
    ]);
    assert.equal(config.mqtt.protocolVersion, 5);
    assert.equal(config.mqtt.tls.allowSelfSigned, true);
    assert.equal(config.mqtt.homeAssistant.enabled, true);
    assert.equal(config.mqtt.reconnectPeriodMs, 500);
    assert.throws(() => parseFlags(['-mqtt-topics', 'a/#/b'], GATEWAY_FLAGS), (e: Error) => e instanceof FlagError && /-mqtt-topics.*filter\[:qos\]/.test(e.message));
    assert.throws(() => parseFlags(['-mqtt-protocol', '4'], GATEWAY_FLAGS), (e: Error) => e instanceof FlagError && /3\.1 \| 3\.1\.1 \| 5/.test(e.message));
  });
});

describe('-mqtt URL validation', () => {
  it('refuses at once a URL the bridge could not use, naming the option', () => {
    for (const bad of ['tcp://host:99999', 'http://host', 'tcp://', 'mqtt://ho st']) {
      assert.throws(() => parseFlags(['-mqtt', bad], GATEWAY_FLAGS), (e: Error) => e instanceof FlagError && /-mqtt/.test(e.message), bad);
      assert.throws(() => validateConfig({ mqtt: { url: bad } }), /mqtt\.url/, bad);
    }
    for (const good of ['embedded', 'tcp://h', 'mqtts://h:8883', 'ws://h/x', 'wss://u:p@h']) assert.equal(validateConfig({ mqtt: { url: good } }).mqtt.url, good);
  });
});
