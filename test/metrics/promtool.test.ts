import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { http } from '../helpers/gateway-harness.js';
import { gatewaySuite } from '../helpers/suites.js';
import { findBinary, skipUnlessPeer } from '../helpers/peers.js';

/** Debian's `prometheus` package ships promtool (required in CI: .ci/run). */
const PROMTOOL = findBinary('promtool');

describe('/metrics passes promtool check metrics (issue 19)', { skip: skipUnlessPeer('promtool', PROMTOOL !== undefined) }, () => {
  // Every metric family a gateway can expose: nodes, the MQTT bridge on the embedded broker, a pipeline.
  const suite = gatewaySuite({
    nodes: 2,
    config: {
      mqtt: { url: 'embedded', embedded: { host: '127.0.0.1', port: 0 } },
      pipeline: { connectors: [{ id: 'nodes', type: 'spore', pollMs: 60_000 }] },
    },
  });

  it('reports no problem, and the exposition still has the families promtool checks', async () => {
    const res = await http(`${suite.gw.url}/metrics`);
    assert.equal(res.status, 200);
    for (const family of ['spore_nodes', 'spore_mqtt_connected', 'spore_nodejs_active_handles', 'spore_http_request_duration_seconds']) {
      assert.match(res.text, new RegExp(`^# TYPE ${family} `, 'm'), `${family} is exposed`);
    }
    const check = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
    // promtool exits 3 on lint problems, 1 on parse errors, and prints each problem.
    assert.equal(`${check.stdout}${check.stderr}`.trim(), '', 'promtool reports nothing');
    assert.equal(check.status, 0);
  });

  it('is the check that catches a gauge named like a counter (the test can fail)', () => {
    const bad = '# HELP x_active_total A gauge.\n# TYPE x_active_total gauge\nx_active_total 1\n';
    const check = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: bad, encoding: 'utf8' });
    assert.notEqual(check.status, 0);
    assert.match(`${check.stdout}${check.stderr}`, /_total/);
  });
});
