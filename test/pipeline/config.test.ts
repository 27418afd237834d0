import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, validateConfig } from '../../src/config/load-config.js';
import { http, spawnTs, startTestGateway } from '../helpers/gateway-harness.js';

/** The example configuration, as YAML users would write it. */
const EXAMPLE = `
gateway: { id: plant-1 }
pipeline:
  connectors:
    - { id: plc, type: modbus-tcp, host: 127.0.0.1, port: 5020, unitId: 1, pollMs: 500,
        devices: [ { id: boiler, channels: [
          { name: temperature, kind: holding, address: 0, type: int16, transform: [ { scale: 0.1 } ] },
          { name: counter, kind: holding, address: 1, type: uint16 } ] } ] }
    - { id: sensors, type: mqtt, url: "mqtt://127.0.0.1:1883",
        subscribe: [ { topic: "sensors/+/reading", device: "{1}", channels: { temperature: "$.t", humidity: "$.h" } } ] }
    - { id: weather, type: http, url: "http://127.0.0.1:8080/weather", pollMs: 60000, device: weather,
        channels: { temp: "$.main.temp" } }
    - { id: nodes, type: spore, pollMs: 10000 }
  sinks:
    - { id: cloud, type: mqtt, url: "mqtt://127.0.0.1:1884", topic: "telemetry/{gateway}/{device}", qos: 1,
        buffer: { maxMessages: 1000000, maxAgeHours: 168 } }
`;

const BROKEN = {
  pipeline: {
    connectors: [
      {
        id: 'plc',
        type: 'modbus-tcp',
        host: '127.0.0.1',
        port: 70000,
        devices: [
          {
            id: 'boiler',
            channels: [
              { name: 'temperature', address: 0, type: 'int16', transform: [{ scale: 0 }] },
              { name: 'counter', kind: 'holding', address: 1, type: 'int17' },
              { name: 'bad name!', kind: 'coil', address: 2, type: 'float32' },
              { name: 'x', kind: 'register', transform: [{ scale: 1, offset: 2 }, { frobnicate: 1 }] },
              { name: 'counter', address: 9, writable: 'yes' },
              { name: 'ro', kind: 'input', address: 3, writable: true },
            ],
          },
        ],
      },
      { id: 'sensors', type: 'mqtt', url: 'http://broker', subscribe: [{ topic: 'a/#/b', device: '{1}', channels: { t: '$.t[', 'h h': '$.h' } }] },
      { id: 'fixed', type: 'mqtt', url: 'mqtt://broker', subscribe: [{ topic: 'a/+', device: '{4}', channels: { t: '$.t' } }] },
      { id: 'w', type: 'http', url: 'http://127.0.0.1/w', device: 'boiler', channels: { temp: '$.main.temp' } },
      { id: 'plc', type: 'bacnet' },
      { type: 'spore', pollMs: 5 },
    ],
    sinks: [
      { id: 'cloud', type: 'mqtt', url: 'mqtt://h', topic: 'telemetry/{site}/x', qos: 3, buffer: { maxMessages: 0, maxAgeHours: -1 } },
      { id: 'f', type: 'kafka' },
    ],
  },
};

/** Every problem in BROKEN: its path and what the message must say. */
const EXPECTED: Array<[string, RegExp]> = [
  ['pipeline.connectors[0].port', /65535/],
  ['pipeline.connectors[0].devices[0].channels[0].transform[0].scale', /must not be 0/],
  ['pipeline.connectors[0].devices[0].channels[1].type', /"int17" is not accepted \(accepted: int16, uint16, int32, uint32, float32, float64, bool\)/],
  ['pipeline.connectors[0].devices[0].channels[2].name', /letters, digits/],
  ['pipeline.connectors[0].devices[0].channels[2].type', /single bit: type must be bool/],
  ['pipeline.connectors[0].devices[0].channels[3].kind', /accepted: holding, input, coil, discrete/],
  ['pipeline.connectors[0].devices[0].channels[3].address', /required/],
  ['pipeline.connectors[0].devices[0].channels[3].transform[0]', /exactly one key \(accepted: scale, offset, round, clamp, deadband, range, map\)/],
  ['pipeline.connectors[0].devices[0].channels[3].transform[1].frobnicate', /unknown transform "frobnicate" \(accepted: scale, offset/],
  ['pipeline.connectors[0].devices[0].channels[4].writable', /boolean/],
  ['pipeline.connectors[0].devices[0].channels[4].name', /duplicate channel name "counter"/],
  ['pipeline.connectors[0].devices[0].channels[5].writable', /input registers are read-only/],
  ['pipeline.connectors[1].url', /mqtt:\/\/, mqtts:\/\//],
  ['pipeline.connectors[1].subscribe[0].topic', /"#" must be the last level on its own/],
  ['pipeline.connectors[1].subscribe[0].channels.t', /JSON path "\$\.t\["/],
  ['pipeline.connectors[1].subscribe[0].channels.h h', /channel name "h h"/],
  ['pipeline.connectors[2].subscribe[0].device', /\{4\} refers to topic level 4, but "a\/\+" has levels 0-1/],
  ['pipeline.connectors[3].device', /device id "boiler" is already used by pipeline.connectors\[0\].devices\[0\].id/],
  ['pipeline.connectors[4].type', /unknown connector type "bacnet" \(accepted: modbus-tcp, modbus-rtu, modbus-rtu-tcp, mbus, mbus-tcp, mqtt, http, spore, opcua, zwave\)/],
  ['pipeline.connectors[4].id', /duplicate connector id "plc"/],
  ['pipeline.connectors[5].id', /connector id is required/],
  ['pipeline.connectors[5].pollMs', />=100/],
  ['pipeline.sinks[0].topic', /unknown placeholder \{site\} \(accepted: \{gateway\}, \{device\}, \{connector\}\)/],
  ['pipeline.sinks[0].qos', /qos must be 0, 1 or 2/],
  ['pipeline.sinks[0].buffer.maxMessages', />=1/],
  ['pipeline.sinks[0].buffer.maxAgeHours', />0/],
  ['pipeline.sinks[1].type', /unknown sink type "kafka" \(accepted: mqtt, sparkplug, websocket, file\)/],
];

function problemsOf(raw: unknown): string[] {
  try {
    validateConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('the configuration was accepted');
}

describe('pipeline configuration', () => {
  it('accepts the issue\'s example and fills in the defaults', async () => {
    const { parse } = await import('yaml');
    const config = validateConfig(parse(EXAMPLE));
    const [plc, sensors, weather, nodes] = config.pipeline.connectors;
    assert.equal(plc!.type, 'modbus-tcp');
    if (plc!.type === 'modbus-tcp') {
      assert.equal(plc.wordOrder, 'big');
      assert.equal(plc.byteOrder, 'big');
      assert.deepEqual(plc.devices[0]!.channels[0]!.transform, [{ scale: 0.1 }]);
      assert.equal(plc.devices[0]!.channels[1]!.writable, false);
    }
    assert.equal(sensors!.type, 'mqtt');
    assert.equal(weather!.type, 'http');
    assert.equal(nodes!.type, 'spore');
    const sink = config.pipeline.sinks[0]!;
    assert.equal(sink.type, 'mqtt');
    if (sink.type === 'mqtt') assert.deepEqual(sink.buffer, { maxMessages: 1_000_000, maxAgeHours: 168, maxInflight: 2048 });
    assert.equal(config.pipeline.store.synchronous, 'FULL');
    assert.deepEqual(validateConfig({}).pipeline.connectors, [], 'no pipeline without configuration');
  });

  it('reports every problem at once, each with its path', () => {
    const problems = problemsOf(BROKEN);
    for (const [path, message] of EXPECTED) {
      const line = problems.find((p) => p.startsWith(`${path}: `) && message.test(p));
      assert.ok(line, `expected a problem at ${path} matching ${message}; got:\n${problems.join('\n')}`);
    }
    assert.equal(problems.length, EXPECTED.length, problems.join('\n'));
  });

  it('makes the gateway exit with every problem listed, no stack trace', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-pipe-config-'));
    try {
      const file = join(dir, 'bad.json');
      await writeFile(file, JSON.stringify(BROKEN));
      const p = spawnTs('src/cli/gateway-main.ts', ['-config', file, '-port', '0', '-udp-port', '0', '-data-dir', dir]);
      assert.equal(await p.exited, 2);
      const err = p.stderr();
      assert.match(err, /invalid configuration/);
      for (const [path] of EXPECTED) assert.ok(err.includes(`${path}: `), `${path} in:\n${err}`);
      assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start on a store it cannot open, naming the file, rather than start over', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-pipe-store-'));
    try {
      await mkdir(join(dir, 'pipeline'));
      await writeFile(join(dir, 'pipeline', 'pipeline.db'), 'not a database, not at all');
      const file = join(dir, 'c.json');
      await writeFile(file, JSON.stringify({ pipeline: { sinks: [{ id: 'ws', type: 'websocket' }] } }));
      const p = spawnTs('src/cli/gateway-main.ts', ['-config', file, '-port', '0', '-udp-port', '0', '-bind', '127.0.0.1', '-data-dir', dir, '-log-level', 'error']);
      assert.equal(await p.exited, 2, "a start-up refusal exits 2 (issue 12 item 16)");
      assert.match(p.stderr(), /cannot open the pipeline store .*pipeline\.db: file is not a database/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers 503 pipeline_disabled when no pipeline is configured', async () => {
    const gw = await startTestGateway();
    try {
      for (const [path, body] of [['/api/devices', undefined], ['/api/devices/x', undefined], ['/api/pipeline/stats', undefined], ['/api/devices/x/write', { channel: 'c', value: 1 }]] as const) {
        const res = await http(`${gw.url}${path}`, body ? { body } : {});
        assert.equal(res.status, 503, path);
        assert.equal(res.body.error, 'pipeline_disabled');
        assert.match(res.body.message, /pipeline/);
      }
      assert.ok(!Object.keys((await http(`${gw.url}/api/health`)).body.components).some((c) => c.startsWith('connector:') || c.startsWith('sink:')));
      assert.doesNotMatch(await (await fetch(`${gw.url}/metrics`)).text(), /spore_pipeline_/);
    } finally {
      await gw.stop();
    }
  });
});
