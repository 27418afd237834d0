#!/usr/bin/env node
/**
 * `npm run mqtt:test`: publishes the 16 message kinds of the Go project's
 * hack/mqtt-test.sh (seed 001) — binary, empty and large payloads included —
 * to a broker, to watch them arrive on the gateway's WebSocket.
 * Credentials from MQTT_USER / MQTT_PASSWORD.
 */
import mqtt from 'mqtt';
import { parseBrokerUrl, type QoS } from '../mqtt/connection.js';
import { testMessages } from '../mqtt/test-messages.js';
import { HELP_FLAG, parseCommandLine, parsers, type FlagSpec } from './parse-flags.js';
import { runMain } from './run-main.js';

const FLAGS: FlagSpec[] = [
  {
    name: 'url',
    description: 'broker URL',
    accepts: 'tcp://, mqtt://, tls://, mqtts://, ws://, wss:// URL',
    parse: (raw) => (/^(tcp|mqtt|tls|mqtts|ws|wss):\/\/[^\s/]+/.test(raw) ? raw : undefined),
    defaultText: 'mqtt://localhost:1883',
  },
  { name: 'qos', description: 'QoS of the publications', accepts: '0 | 1 | 2', parse: (raw) => ({ '0': 0, '1': 1, '2': 2 } as Record<string, number>)[raw], defaultText: '0' },
  { name: 'delay', description: 'pause between messages, ms', accepts: 'an integer >= 0', parse: parsers.integer(0, 60_000), defaultText: '200' },
  { name: 'large-bytes', description: 'size of the large payload, bytes', accepts: 'an integer 1-10000000', parse: parsers.integer(1, 10_000_000), defaultText: '204800' },
  { name: 'insecure', description: 'accept any TLS certificate', accepts: 'no value', boolean: true, parse: parsers.boolean },
  HELP_FLAG,
];

const USAGE = 'Usage: npm run mqtt:test -- [options]\n\nPublishes the 16 test message kinds of seed 001 to an MQTT broker.';

async function main(argv: string[]): Promise<number> {
  const values = parseCommandLine('mqtt-test', argv, FLAGS, USAGE);
  if (typeof values === 'number') return values;
  const url = (values.get('url') as string | undefined) ?? 'mqtt://localhost:1883';
  const address = parseBrokerUrl(url);
  const qos = ((values.get('qos') as number | undefined) ?? 0) as QoS;
  const delay = (values.get('delay') as number | undefined) ?? 200;
  const options: mqtt.IClientOptions = {
    protocol: address.transport,
    host: address.host,
    port: address.port,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    clientId: `spore-mqtt-test-${process.pid}`,
    rejectUnauthorized: values.get('insecure') !== true,
  };
  if (address.path) options.path = address.path;
  const username = process.env.MQTT_USER || address.username;
  const password = process.env.MQTT_PASSWORD || address.password;
  if (username) options.username = username;
  if (password) options.password = password;
  let client: mqtt.MqttClient;
  try {
    client = await mqtt.connectAsync(options);
  } catch (err) {
    process.stderr.write(`mqtt-test: cannot connect to ${address.display}: ${(err as Error).message}\n`);
    return 1;
  }
  const messages = testMessages({ largeBytes: (values.get('large-bytes') as number | undefined) ?? 200 * 1024 });
  process.stdout.write(`Publishing ${messages.length} test messages to ${address.display} (QoS ${qos})\n`);
  for (const [i, m] of messages.entries()) {
    await client.publishAsync(m.topic, m.payload, { qos });
    const preview = m.payload.length === 0 ? '(empty)' : m.payload.length > 80 || m.kind === 'binary data' ? `(${m.payload.length} bytes)` : m.payload.toString();
    process.stdout.write(`${String(i + 1).padStart(2)}. ${m.kind.padEnd(40)} ${m.topic.padEnd(32)} ${preview}\n`);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
  }
  await client.endAsync();
  process.stdout.write('Done.\n');
  return 0;
}

runMain('mqtt-test', main);
