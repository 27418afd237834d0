/**
 * The 16 message kinds of the Go gateway's `hack/mqtt-test.sh` (seed 001,
 * "Test Messages"): text, sensor JSON, device status, events and alerts,
 * configuration, metrics and telemetry, node discovery, firmware, tasks, error
 * logs, SPORE light control, binary data and the edge cases — an empty and a
 * large payload. Used by `npm run mqtt:test` and the tests.
 */
export interface TestMessage {
  kind: string;
  topic: string;
  payload: Buffer;
}

export function testMessages(options: { largeBytes?: number; now?: Date } = {}): TestMessage[] {
  const now = (options.now ?? new Date()).toISOString();
  const largeBytes = options.largeBytes ?? 200 * 1024;
  const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
  const large = Buffer.alloc(largeBytes);
  // Readable, non-repeating-looking text so a truncated copy is easy to spot.
  for (let i = 0; i < largeBytes; i++) large[i] = 0x41 + (((i * 7) ^ (i >> 5)) % 26);
  return [
    { kind: 'simple text', topic: 'test/simple', payload: Buffer.from('Hello from SPORE mqtt:test') },
    { kind: 'temperature sensor', topic: 'sensor/temperature/living-room', payload: json({ temperature: 23.5, unit: 'celsius', timestamp: now }) },
    { kind: 'humidity sensor', topic: 'sensor/humidity/bedroom', payload: json({ humidity: 45.2, unit: 'percent', timestamp: now }) },
    { kind: 'device status', topic: 'device/status/esp32-001', payload: json({ device: 'esp32-001', status: 'online', uptime: 3600, rssi: -61 }) },
    { kind: 'system event', topic: 'system/events', payload: json({ event: 'startup', service: 'spore-gateway', timestamp: now }) },
    { kind: 'alert', topic: 'system/alerts', payload: json({ level: 'warning', message: 'temperature above threshold', value: 31.2, threshold: 30 }) },
    { kind: 'configuration update', topic: 'config/update', payload: json({ setting: 'sampleIntervalMs', value: 5000, by: 'mqtt:test' }) },
    { kind: 'metrics and telemetry', topic: 'metrics/system', payload: json({ cpu: 12.5, memory: 48.1, disk: 71.0, networkKbps: 132 }) },
    { kind: 'node discovery', topic: 'cluster/node/discovered', payload: json({ hostname: 'spore-node-7', ip: '192.168.1.107', status: 'ACTIVE' }) },
    { kind: 'firmware update', topic: 'firmware/update', payload: json({ node: 'esp32-001', version: '1.2.0', status: 'started' }) },
    { kind: 'task status', topic: 'tasks/status', payload: json({ task: 'heartbeat', enabled: true, running: true, interval: 2000 }) },
    { kind: 'error log', topic: 'logs/error', payload: json({ level: 'error', component: 'wifi', message: 'reconnect failed', code: 'E_TIMEOUT' }) },
    { kind: 'light control (SPORE)', topic: 'spore/control', payload: json({ node: 'esp32-001', action: 'pattern', pattern: 'rainbow', brightness: 128 }) },
    { kind: 'binary data', topic: 'binary/data', payload: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) },
    { kind: 'edge case: empty message', topic: 'edge/empty', payload: Buffer.alloc(0) },
    { kind: `edge case: large payload (${largeBytes} bytes)`, topic: 'edge/large', payload: large },
  ];
}
