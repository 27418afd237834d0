#!/usr/bin/env node
/**
 * `npm run mqtt:broker`: an MQTT broker for trying things (like the Go
 * project's hack/mosquitto.sh, with nothing to install): the same in-process
 * aedes broker as `spore-gateway -mqtt embedded`, on its own.
 * Credentials: when MQTT_USER and MQTT_PASSWORD are set, clients must give them.
 */
import { createLogger } from '../logger.js';
import { EmbeddedBroker } from '../mqtt/embedded-broker.js';
import { HELP_FLAG, parseCommandLine, parsers, type FlagSpec } from './parse-flags.js';
import { runMain } from './run-main.js';

const FLAGS: FlagSpec[] = [
  { name: 'port', description: 'MQTT (TCP) port', accepts: 'an integer 0-65535', parse: parsers.port(0), defaultText: '1883' },
  { name: 'ws-port', description: 'MQTT over WebSocket port', accepts: 'an integer 0-65535', parse: parsers.port(0), defaultText: 'off' },
  { name: 'bind', description: 'bind address', accepts: 'an IP address or host name', parse: parsers.nonEmpty, defaultText: '0.0.0.0' },
  { name: 'verbose', description: 'log every connection and publication', accepts: 'no value', boolean: true, parse: parsers.boolean },
  HELP_FLAG,
];

const USAGE = 'Usage: npm run mqtt:broker -- [options]\n\nAn MQTT broker for trying the gateway (MQTT 3.1, 3.1.1 and 5.0; MQTT_USER / MQTT_PASSWORD turn on authentication).';

async function main(argv: string[]): Promise<number> {
  const values = parseCommandLine('mqtt-broker', argv, FLAGS, USAGE);
  if (typeof values === 'number') return values;
  const verbose = values.get('verbose') === true;
  const logger = createLogger(verbose ? 'debug' : 'info');
  const username = process.env.MQTT_USER || undefined;
  const password = process.env.MQTT_PASSWORD || undefined;
  const wsPort = values.get('ws-port') as number | undefined;
  const broker = new EmbeddedBroker(
    {
      host: (values.get('bind') as string | undefined) ?? '0.0.0.0',
      port: (values.get('port') as number | undefined) ?? 1883,
      ...(wsPort !== undefined ? { wsPort } : {}),
      ...(username !== undefined && password !== undefined ? { username, password } : {}),
      logTraffic: verbose,
    },
    logger,
  );
  try {
    await broker.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    process.stderr.write(`mqtt-broker: cannot start: ${e.code === 'EADDRINUSE' ? `address ${e.address ?? ''}:${e.port ?? ''} is already in use (try -port)` : e.message}\n`);
    return 1;
  }
  const host = broker.localUrl.replace(/^mqtt:\/\//, '').replace(/:\d+$/, '');
  process.stderr.write(
    [
      `MQTT broker on mqtt://${host}:${broker.port}${broker.wsPort !== null ? ` and ws://${host}:${broker.wsPort}/mqtt` : ''}${username ? ' (authentication on)' : ''}`,
      `  gateway:   npx spore-gateway -mqtt tcp://${host}:${broker.port}`,
      `  messages:  npm run mqtt:test -- -url mqtt://${host}:${broker.port}`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      broker.stop().then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

runMain('mqtt-broker', main);
