// The load generator of bench/mqtt-qos1-ingest.ts, in its own process: publishes `count` QoS 1
// messages as fast as the broker acknowledges them (at most `window` unacknowledged), then
// reports how long that took. Run: node --import tsx bench/lib/qos1-publisher.ts <url> <topic> <count> [window]
import mqtt from 'mqtt';

const [url, topic, countText, windowText] = process.argv.slice(2) as [string, string, string, string?];
const count = Number(countText);
const window = Number(windowText ?? 1000);
const client = await mqtt.connectAsync(url, { clientId: `bench-qos1-pub-${process.pid}`, reconnectPeriod: 0 });
const t0 = performance.now();
let sent = 0;
let acked = 0;
await new Promise<void>((resolve, reject) => {
  const pump = (): void => {
    while (sent < count && sent - acked < window) {
      const i = ++sent;
      client.publish(topic, JSON.stringify({ n: i, v: i % 1000 }), { qos: 1 }, (err) => {
        if (err) return reject(err);
        if (++acked === count) resolve();
        else pump();
      });
    }
  };
  pump();
});
const seconds = (performance.now() - t0) / 1000;
await client.endAsync();
process.stdout.write(JSON.stringify({ count, seconds, perSec: count / seconds }) + '\n');
