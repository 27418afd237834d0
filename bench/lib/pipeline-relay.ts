// The peer of bench/pipeline-throughput.ts: the same records, straight from the source broker to
// the export broker with raw mqtt.js (QoS 1 publishes, like mosquitto_pub -q 1), same transform,
// same JSON — and no durable buffer. Run as its own process, like the gateway.
import mqtt from 'mqtt';

const [source, target, qosText] = process.argv.slice(2) as [string, string, string];
const qos = Number(qosText) as 0 | 1;
const seq = new Map<string, number>();
const out = await mqtt.connectAsync(target, { clientId: `bench-relay-out-${process.pid}`, reconnectPeriod: 500 });
const inn = await mqtt.connectAsync(source, { clientId: `bench-relay-in-${process.pid}`, reconnectPeriod: 500 });
inn.on('message', (topic, payload) => {
  const device = topic.split('/')[1]!;
  const doc = JSON.parse(payload.toString()) as { t0: number; v: number };
  const n = (seq.get(device) ?? 0) + 1;
  seq.set(device, n);
  const record = { gateway: 'relay', device, connector: 'src', ts: new Date().toISOString(), seq: n, values: { t0: doc.t0, v: Math.round(doc.v * 0.1 * 10) / 10 } };
  out.publish(`telemetry/relay/${device}`, JSON.stringify(record), { qos: 1 });
});
await inn.subscribeAsync('bench/+', { qos });
process.send?.({ ready: true });
process.on('disconnect', () => process.exit(0));
