// The peer of bench/mqtt-qos1-ingest.ts, in its own process: a bare mqtt.js QoS 1 subscriber on a
// persistent session that acknowledges every message as it arrives (mqtt.js's default) and stores
// nothing. Prints {"ready":true} once subscribed, then, once it has `count` messages, the time
// from its first message to its last.
// Run: node --import tsx bench/lib/qos1-bare-subscriber.ts <url> <clientId> <filter> <count>
import mqtt from 'mqtt';

const [url, clientId, filter, countText] = process.argv.slice(2) as [string, string, string, string];
const count = Number(countText);
let received = 0;
let first = 0;
// The handler is in place before CONNACK: a resumed session delivers its queue right after it.
const client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 0 });
client.on('message', () => {
  if (received++ === 0) first = performance.now();
  if (received === count) {
    const seconds = (performance.now() - first) / 1000;
    // n messages, n-1 intervals between the first and the last.
    process.stdout.write(JSON.stringify({ count, seconds, perSec: (count - 1) / seconds }) + '\n');
    void client.endAsync().then(() => process.exit(0));
  }
});
await new Promise((resolve, reject) => {
  client.once('connect', resolve);
  client.once('error', reject);
});
await client.subscribeAsync(filter, { qos: 1 });
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
