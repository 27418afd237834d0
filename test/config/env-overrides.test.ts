import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromEnv, envSettings } from '../../src/config/env-overrides.js';
import { configSchema } from '../../src/config/schema.js';
import { maskSecrets, MASK } from '../../src/config/mask-secrets.js';
import { loadGatewayConfig } from '../../src/cli/load-gateway-config.js';
import { ConfigError } from '../../src/config/load-config.js';
import { spawnTs } from '../helpers/gateway-harness.js';

describe('configuration from flags, environment and file (issue 7)', () => {
  it('derives SPORE_<SECTION>_<KEY> for every setting of the schema', () => {
    const names = new Set(envSettings(configSchema).map((s) => s.variable));
    for (const expected of ['SPORE_HTTP_PORT', 'SPORE_NODES_REQUEST_TIMEOUT_MS', 'SPORE_UDP_BROADCAST_ADDRESS', 'SPORE_DATA_DIR', 'SPORE_GATEWAY_ID', 'SPORE_AUTH_PROTECT_READS', 'SPORE_REMOTE_CONFIG_URL', 'SPORE_LOG_LEVEL']) {
      assert.ok(names.has(expected), expected);
    }
    assert.ok(!names.has('SPORE_GATEWAY'), 'the CLI\'s SPORE_GATEWAY is not configuration');
  });

  it('parses numbers, booleans and JSON, and leaves unrelated SPORE_ variables alone', () => {
    const { values, sources } = configFromEnv(configSchema, {
      SPORE_HTTP_PORT: '3999',
      SPORE_AUTH_PROTECT_READS: 'true',
      SPORE_AUTH_API_KEYS: '[{"name":"ci","key":"0123456789abcdef","scope":"admin"}]',
      SPORE_GATEWAY: 'http://localhost:3001',
      SPORE_REQUIRE_PEERS: '1',
      PATH: '/usr/bin',
    });
    assert.deepEqual(values, {
      http: { port: 3999 },
      auth: { protectReads: true, apiKeys: [{ name: 'ci', key: '0123456789abcdef', scope: 'admin' }] },
    });
    assert.equal(sources.get('http.port'), 'SPORE_HTTP_PORT');
  });

  it('flags win over the environment, which wins over the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-env-'));
    try {
      const file = join(dir, 'gw.json');
      await writeFile(file, JSON.stringify({ http: { port: 1111 }, udp: { port: 2222 }, nodes: { port: 3333 } }));
      const loaded = await loadGatewayConfig(['-config', file, '-port', '5555'], {
        env: { SPORE_HTTP_PORT: '4444', SPORE_UDP_PORT: '6666', SPORE_DATA_DIR: dir },
      });
      assert.equal(loaded.config.http.port, 5555, 'flag');
      assert.equal(loaded.config.udp.port, 6666, 'environment over file');
      assert.equal(loaded.config.nodes.port, 3333, 'file');
      assert.equal(loaded.manager?.source, 'file');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the variable when an environment value is invalid, with every problem at once', async () => {
    await assert.rejects(
      loadGatewayConfig([], { env: { SPORE_HTTP_PORT: 'abc', SPORE_LOG_LEVEL: 'loud' } }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 2 &&
        err.problems.some((p) => /http\.port.*SPORE_HTTP_PORT/.test(p)) &&
        err.problems.some((p) => /log\.level.*debug.*SPORE_LOG_LEVEL/.test(p)),
    );
  });

  it('refuses short plain-text keys and duplicate key names', async () => {
    await assert.rejects(
      loadGatewayConfig([], { env: { SPORE_AUTH_API_KEYS: JSON.stringify([{ name: 'a', key: 'short', scope: 'admin' }, { name: 'a', key: 'sha256:' + 'b'.repeat(64), scope: 'read' }]) } }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.some((p) => /auth\.apiKeys.*key.*at least 16 characters/.test(p)) &&
        err.problems.some((p) => /unique/.test(p)),
    );
  });

  it('masks secrets: keys, passwords, URL credentials', () => {
    const masked = maskSecrets({
      auth: { apiKeys: [{ name: 'ops', key: 'sha256:' + 'a'.repeat(64), scope: 'admin' }] },
      mqtt: { url: 'mqtt://bob:hunter2@broker:1883', password: 'hunter2', tls: { keyFile: '/etc/key.pem' } },
      pipeline: { connectors: [{ headers: { Authorization: 'Bearer abc', 'X-Api-Key': 'xyz', Accept: 'application/json' }, passwordEnv: 'MQTT_PASSWORD' }] },
    });
    assert.deepEqual(masked.pipeline.connectors[0]!.headers, { Authorization: MASK, 'X-Api-Key': MASK, Accept: 'application/json' });
    assert.equal(masked.pipeline.connectors[0]!.passwordEnv, 'MQTT_PASSWORD', 'the name of a variable is not a secret');
    assert.equal(masked.auth.apiKeys[0]!.key, MASK);
    assert.equal(masked.auth.apiKeys[0]!.name, 'ops');
    assert.equal(masked.mqtt.url, `mqtt://${MASK}:${MASK}@broker:1883`, 'the whole user-info is masked (issue 12 item 7)');
    assert.equal(masked.mqtt.password, MASK);
    assert.equal(masked.mqtt.tls.keyFile, '/etc/key.pem', 'a path to a key is not a secret');
  });

  it('--print-config shows the effective configuration with secrets masked', async () => {
    const secret = 'correct-horse-battery-staple';
    const p = spawnTs('src/cli/gateway-main.ts', ['--print-config', '-port', '4321'], {
      SPORE_AUTH_API_KEYS: JSON.stringify([{ name: 'ops', key: secret, scope: 'admin' }]),
    });
    assert.equal(await p.exited, 0, p.stderr());
    const printed = JSON.parse(p.stdout());
    assert.equal(printed.http.port, 4321);
    assert.equal(printed.auth.apiKeys[0].name, 'ops');
    assert.ok(!p.stdout().includes(secret), 'the key is not printed');
  });
});
