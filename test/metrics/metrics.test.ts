import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { http, WsRecorder } from '../helpers/gateway-harness.js';
import { gatewaySuite } from '../helpers/suites.js';
import { waitFor } from '../helpers/net.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';

describe('Prometheus /metrics (issue 7)', () => {
  const suite = gatewaySuite({ nodes: 2 });

  const scrape = async () => {
    const res = await http(`${suite.gw.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    return parsePrometheus(res.text);
  };

  it('parses as Prometheus text with the gateway\'s metrics', async () => {
    // prom-client is loaded at the first scrape (issue 16 §3): requests before it count too.
    for (let i = 0; i < 2; i++) await http(`${suite.gw.url}/api/discovery/nodes`);
    const { samples, types } = await scrape();
    assert.ok((sampleValue(samples, 'spore_http_request_duration_seconds_count', { route: '/api/discovery/nodes', method: 'GET', status: '200' }) ?? 0) >= 2, 'requests before the first scrape are counted');
    assert.equal(types.get('spore_nodes'), 'gauge');
    assert.equal(types.get('spore_udp_datagrams_total'), 'counter');
    assert.equal(types.get('spore_http_request_duration_seconds'), 'histogram');
    assert.equal(sampleValue(samples, 'spore_nodes', { status: 'ACTIVE' }), 2);
    assert.ok(sampleValue(samples, 'spore_process_resident_memory_bytes')! > 0);
    assert.equal(types.get('spore_rollouts'), 'gauge');
    assert.equal(sampleValue(samples, 'spore_rollouts', { status: 'running' }), 0);
    assert.equal(types.get('spore_mqtt_connected'), 'gauge');
    assert.equal(sampleValue(samples, 'spore_mqtt_connected'), 0, 'no bridge configured');
  });

  it('moves with traffic: datagrams, junk, HTTP requests, WebSocket clients', async () => {
    const before = (await scrape()).samples;
    const junkBefore = sampleValue(before, 'spore_udp_datagrams_total', { result: 'junk' }) ?? 0;
    const validBefore = sampleValue(before, 'spore_udp_datagrams_total', { result: 'valid' })!;
    const routeCount = (s: typeof before) => sampleValue(s, 'spore_http_request_duration_seconds_count', { route: '/api/discovery/nodes', method: 'GET', status: '200' }) ?? 0;
    const countBefore = routeCount(before);

    const sender = dgram.createSocket('udp4');
    await new Promise<void>((r) => sender.send('NOT_SPORE', suite.gw.udpPort, '127.0.0.1', () => r()));
    sender.close();
    for (let i = 0; i < 3; i++) await http(`${suite.gw.url}/api/discovery/nodes`);
    const ws = await WsRecorder.connect(suite.gw.url);
    try {
      await waitFor(() => suite.gw.gateway.discovery.stats.junk > junkBefore && suite.gw.gateway.discovery.stats.valid > validBefore, 'junk and heartbeats counted');
      const after = (await scrape()).samples;
      assert.equal(sampleValue(after, 'spore_udp_datagrams_total', { result: 'junk' }), junkBefore + 1);
      assert.ok(sampleValue(after, 'spore_udp_datagrams_total', { result: 'valid' })! > validBefore, 'heartbeats counted');
      assert.equal(routeCount(after), countBefore + 3);
      assert.equal(sampleValue(after, 'spore_websocket_clients'), 1);
      assert.equal(sampleValue(after, 'spore_udp_junk_datagrams_total', { reason: 'unknown-prefix' }), 1);
    } finally {
      ws.close();
    }
    suite.sim.kill(1);
    await waitFor(async () => sampleValue((await scrape()).samples, 'spore_nodes', { status: 'INACTIVE' }) === 1, 'a killed node counted INACTIVE');
  });
});
