/**
 * Alerts (issue 15 §2): a sink pointed at a stopped Mosquitto makes the
 * gateway degraded with the sink's reason and raises an alert that reaches a
 * webhook receiver (signed with HMAC-SHA256), the UI's WebSocket and MQTT;
 * when Mosquitto starts the alert resolves, both events delivered. Node and
 * rollout rules are checked on the engine with a clock.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { WebSocket } from 'ws';
import { AlertEngine, type AlertEvent } from '../../src/alerts/alert-engine.js';
import { alertsSectionSchema } from '../../src/alerts/config-schema.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { GatewayEvents } from '../../src/events/gateway-events.js';
import { silentLogger } from '../../src/logger.js';
import { http } from '../helpers/gateway-harness.js';
import { gatewayYaml, startFileGateway, type FileGateway } from '../helpers/file-gateway.js';
import { MOSQUITTO, Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';

const SECRET = 'webhook-secret-0123';

describe('alert engine (issue 15 §2)', () => {
  it('fires after `for`, resolves when the condition clears; rollout.failed until a later rollout succeeds', () => {
    let now = 1_000_000;
    const nodes = [{ hostname: 'n1', ip: '10.0.0.1', status: 'ACTIVE' as 'ACTIVE' | 'INACTIVE' | 'DEAD' }];
    const events: Array<[string, AlertEvent]> = [];
    const bus = new EventBus<GatewayEvents>();
    const engine = new AlertEngine({
      rules: alertsSectionSchema.parse([
        { when: 'node.dead', for: '30s', notify: ['webhook', 'ui'] },
        { when: 'rollout.failed', for: 0, notify: ['mqtt'] },
      ]),
      gatewayId: 'gw',
      bus,
      logger: silentLogger(),
      evaluateIntervalMs: 60_000,
      historySize: 10,
      clock: () => now,
      notify: (channel, e) => events.push([channel, e]),
      sources: { nodes: () => nodes, sinks: () => [], connectors: () => [], devices: () => [] },
    });
    engine.start();
    try {
      nodes[0]!.status = 'DEAD';
      engine.evaluate();
      assert.equal(events.length, 0, 'pending until `for` has passed');
      now += 29_000;
      engine.evaluate();
      assert.equal(events.length, 0);
      now += 1_000;
      engine.evaluate();
      assert.deepEqual(events.map(([c, e]) => [c, e.event, e.alert.subject]), [['webhook', 'raised', 'node:n1'], ['ui', 'raised', 'node:n1']]);
      assert.equal(engine.list().active.length, 1);
      nodes[0]!.status = 'ACTIVE';
      now += 1_000;
      engine.evaluate();
      assert.deepEqual(events.slice(2).map(([c, e]) => [c, e.event]), [['webhook', 'resolved'], ['ui', 'resolved']]);
      assert.equal(engine.list().recent[0]!.state, 'resolved');
      // A condition that clears before `for` never fires.
      nodes[0]!.status = 'DEAD';
      engine.evaluate();
      nodes[0]!.status = 'ACTIVE';
      engine.evaluate();
      assert.equal(events.length, 4);

      bus.emit('rollout/progress', { rolloutId: 'r1', status: 'failed', nodeIp: null, state: null, progress: 100 });
      assert.deepEqual(events.slice(4).map(([c, e]) => [c, e.event, e.alert.subject]), [['mqtt', 'raised', 'rollout:r1']]);
      bus.emit('rollout/progress', { rolloutId: 'r2', status: 'succeeded', nodeIp: null, state: null, progress: 100 });
      assert.deepEqual(events.slice(5).map(([c, e]) => [c, e.event, e.alert.subject]), [['mqtt', 'resolved', 'rollout:r1']]);
    } finally {
      engine.stop();
    }
    assert.throws(() => alertsSectionSchema.parse([{ when: 'sink.backlogAboveMs' }]), /thresholdMs/);
    assert.throws(() => alertsSectionSchema.parse([{ when: 'node.on-fire' }]));
  });
});

describe('alerts end to end: a sink at a stopped Mosquitto (issue 15 §2)', { skip: skipUnlessPeer('mosquitto', MOSQUITTO !== undefined) }, () => {
  let broker: Mosquitto;
  let hook: Server;
  const received: Array<{ body: any; signature: string | undefined; raw: string }> = [];
  let g: FileGateway;

  before(async () => {
    broker = await Mosquitto.start();
    await broker.stop();
    hook = createServer((req, res) => {
      let raw = '';
      req.on('data', (d) => (raw += d));
      req.on('end', () => {
        // The first delivery fails: the notifier must retry.
        if (received.length === 0 && !(hook as any).failedOnce) {
          (hook as any).failedOnce = true;
          res.writeHead(503).end();
          return;
        }
        received.push({ body: JSON.parse(raw), signature: req.headers['x-spore-signature'] as string | undefined, raw });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  });
  after(async () => {
    await g?.destroy();
    await broker?.destroy();
    hook?.close();
  });

  it('degrades health with the reason, raises the alert to the webhook, WebSocket and MQTT, and resolves when the broker is back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-alerts-'));
    const yaml = await gatewayYaml(
      dir,
      [
        'mqtt:',
        '  url: embedded',
        '  embedded: { host: 127.0.0.1, port: 0 }',
        'pipeline:',
        '  connectors:',
        '    - { id: nodes, type: spore, pollMs: 60000 }',
        '  sinks:',
        `    - { id: cloud, type: mqtt, url: "${broker.url}", topic: "t/{device}", reconnectPeriodMs: 200 }`,
        'alerts:',
        '  - { when: sink.down, for: 1s, notify: [webhook, mqtt, ui] }',
        'notify:',
        `  webhook: { url: "http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook", secret: ${SECRET}, retryDelayMs: 50 }`,
        '  evaluateIntervalMs: 200',
      ].join('\n'),
    );
    g = await startFileGateway({ dir, yaml });
    const ws = new WebSocket(`${g.url.replace('http', 'ws')}/ws`);
    const wsAlerts: any[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.topic?.startsWith('alert/')) wsAlerts.push(m);
    });
    const sub = mqtt.connect(g.gateway.mqtt.embeddedBroker!.localUrl);
    const mqttAlerts: any[] = [];
    sub.on('message', (_t, p) => mqttAlerts.push(JSON.parse(String(p))));
    await new Promise<void>((r) => sub.subscribe(`${g.gateway.mqtt.prefix}/alerts`, { qos: 1 }, () => r()));
    try {
      const health = await waitFor(async () => {
        const h = await http(`${g.url}/api/health`);
        return h.body.components['sink:cloud']?.status === 'down' ? h.body : null;
      }, 'the sink down in health');
      assert.equal(health.status, 'degraded');
      assert.ok(health.components['sink:cloud'].lastError || health.components['sink:cloud'].connected === false);

      const raised = await waitFor(() => received.find((r) => r.body.event === 'raised'), 'the raised alert at the webhook', 15_000);
      assert.equal(raised.body.alert.subject, 'sink:cloud');
      assert.equal(raised.body.alert.state, 'firing');
      assert.equal(raised.signature, `sha256=${createHmac('sha256', SECRET).update(raised.raw).digest('hex')}`, 'signed with the secret');
      assert.equal((hook as any).failedOnce, true, 'a failed delivery was retried');
      await waitFor(() => wsAlerts.some((m) => m.topic === 'alert/raised'), 'alert/raised on the WebSocket');
      await waitFor(() => mqttAlerts.some((m) => m.event === 'raised'), `the alert on ${g.gateway.mqtt.prefix}/alerts`);
      const list = await http(`${g.url}/api/alerts`);
      assert.equal(list.body.active[0].subject, 'sink:cloud');

      await broker.start();
      const resolved = await waitFor(() => received.find((r) => r.body.event === 'resolved'), 'the resolved alert at the webhook', 20_000);
      assert.equal(resolved.body.alert.id, raised.body.alert.id);
      assert.equal(resolved.body.alert.state, 'resolved');
      await waitFor(() => wsAlerts.some((m) => m.topic === 'alert/resolved'), 'alert/resolved on the WebSocket');
      await waitFor(() => mqttAlerts.some((m) => m.event === 'resolved'), 'the resolution on MQTT');
      assert.equal((await http(`${g.url}/api/alerts`)).body.active.length, 0);
      assert.equal((await http(`${g.url}/api/health`)).body.components['sink:cloud'].status, 'up');
    } finally {
      ws.close();
      sub.end(true);
    }
  });
});
