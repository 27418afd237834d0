/**
 * Unit tests of the UI's pure modules: MQTT topic filters (Events page),
 * the bounded event buffer, payload formatting and the reconnection backoff.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { backoffDelay, BACKOFF_FIRST_MS, BACKOFF_MAX_MS } from '../../web/src/lib/backoff.js';
import { base64ToBytes, bytesToHex, flatten, formatAgo, formatBytes, formatDuration, formatLatency, hexDump, parseLabels } from '../../web/src/lib/format.js';
import { compileTopicFilter, isValidFilter, topicMatches } from '../../web/src/lib/mqtt-topic.js';
import { RingBuffer } from '../../web/src/lib/ring-buffer.js';

test('MQTT filters: + is one level, # is the rest (and the parent), $ topics need an explicit first level', () => {
  const cases: Array<[string, string, boolean]> = [
    ['sensors/+/temp', 'sensors/kitchen/temp', true],
    ['sensors/+/temp', 'sensors/kitchen/hall/temp', false],
    ['sensors/+/temp', 'sensors/temp', false],
    ['sensors/#', 'sensors', true],
    ['sensors/#', 'sensors/a/b/c', true],
    ['sensors/#', 'sensorsX/a', false],
    ['#', 'anything/at/all', true],
    ['+', 'one', true],
    ['+', 'one/two', false],
    ['+/+', '/x', true],
    ['#', '$SYS/broker/uptime', false],
    ['+/broker/uptime', '$SYS/broker/uptime', false],
    ['$SYS/#', '$SYS/broker/uptime', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/c', false],
  ];
  for (const [filter, topic, expected] of cases) assert.equal(topicMatches(filter, topic), expected, `${filter} vs ${topic}`);
});

test('MQTT filters: invalid ones are recognised', () => {
  for (const bad of ['a/#/b', 'a#', 'a/b+', '+a', '']) assert.equal(isValidFilter(bad), false, bad);
  for (const good of ['#', '+', 'a/+/b', 'a/#', '/', 'a//b']) assert.equal(isValidFilter(good), true, good);
  const compiled = compileTopicFilter('sensors/# a/#/b');
  assert.match(compiled.error ?? '', /a\/#\/b/);
});

test('the search box: several filters, plain words match anywhere, empty matches all', () => {
  const f = compileTopicFilter('cluster/#  temp');
  assert.equal(f.error, null);
  assert.equal(f.test('cluster/event'), true);
  assert.equal(f.test('home/kitchen/temperature'), true);
  assert.equal(f.test('home/kitchen/humidity'), false);
  assert.equal(compileTopicFilter('  ').test('x/y'), true);
  assert.equal(compileTopicFilter('home/kitchen').test('home/kitchen/temperature'), true);
});

test('ring buffer: keeps the newest items, counts evictions, indexes oldest first', () => {
  const rb = new RingBuffer<number>(3);
  for (let i = 1; i <= 5; i++) rb.push(i);
  assert.equal(rb.length, 3);
  assert.equal(rb.evicted, 2);
  assert.deepEqual(rb.toArray(), [3, 4, 5]);
  assert.equal(rb.at(0), 3);
  assert.equal(rb.at(2), 5);
  assert.equal(rb.at(3), undefined);
  rb.clear();
  assert.equal(rb.length, 0);
  assert.throws(() => new RingBuffer(0), RangeError);
});

test('binary payloads: base64 decodes to the exact bytes and shows as hex', () => {
  const bytes = Uint8Array.from([0x00, 0xff, 0x10, 0x80, 0x41]);
  const b64 = Buffer.from(bytes).toString('base64');
  assert.deepEqual(base64ToBytes(b64), bytes);
  assert.equal(bytesToHex(bytes), '00 ff 10 80 41');
  assert.equal(bytesToHex(bytes, 2), '00 ff …');
  assert.match(hexDump(bytes), /^00000000  00 ff 10 80 41\s+\.\.\.\.A$/);
  assert.equal(base64ToBytes('not base64!'), null);
});

test('display helpers', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(41_517), '40.5 KiB');
  assert.equal(formatBytes(1_310_720), '1.25 MiB');
  assert.equal(formatDuration(3_723_000), '1 h 2 min');
  assert.equal(formatLatency(12.4), '12 ms');
  assert.equal(formatBytes(null), '–');
  assert.equal(formatAgo(10_000, 13_400), '3 s ago');
  assert.equal(formatAgo(0, 13_400), '–');
  assert.deepEqual(parseLabels('role=sensor, site = lab'), { labels: { role: 'sensor', site: 'lab' }, error: null });
  assert.match(parseLabels('role').error ?? '', /key=value/);
  assert.deepEqual(flatten({ a: { b: 1, c: { d: 'x' } }, e: [1] }), [
    ['a.b', 1],
    ['a.c.d', 'x'],
    ['e', [1]],
  ]);
});

test('reconnection backoff doubles up to a ceiling, with bounded jitter', () => {
  assert.equal(backoffDelay(1, () => 0.5), BACKOFF_FIRST_MS);
  assert.equal(backoffDelay(2, () => 0.5), BACKOFF_FIRST_MS * 2);
  assert.equal(backoffDelay(50, () => 0.5), BACKOFF_MAX_MS);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(3);
    assert.ok(d >= BACKOFF_FIRST_MS * 4 * 0.8 && d <= BACKOFF_FIRST_MS * 4 * 1.2, String(d));
  }
});
