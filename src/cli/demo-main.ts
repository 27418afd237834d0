#!/usr/bin/env node
/**
 * `npm run demo`: the gateway plus a few emulated SPORE nodes, on embedded
 * defaults, printing what to open and what to try.
 */
import { DemoFieldDevices, SimCluster } from '../../emulator/index.js';
import { Gateway } from '../gateway.js';
import { DemoSensorTraffic } from '../mqtt/demo-traffic.js';
import { firstFreePort } from '../mqtt/free-port.js';
import { GATEWAY_FLAGS } from './gateway-flags.js';
import { loadGatewayConfig } from './load-gateway-config.js';
import { formatHelp, parsers, type FlagSpec } from './parse-flags.js';
import { explainStartupError, runUntilSignal, startGateway } from './run-gateway.js';
import { runMain } from './run-main.js';

const DEMO_FLAGS: FlagSpec[] = [
  { name: 'count', description: 'how many emulated nodes', accepts: 'an integer 0-1000', parse: parsers.integer(0, 1000), defaultText: '5' },
];

/** Emulated nodes cannot bind port 80 without root, so the demo's nodes serve on 8080. */
const DEMO_DEFAULTS = { nodes: { port: 8080 }, log: { level: 'warn' } };

const USAGE = 'Usage: npm run demo -- [options]\n\nThe SPORE gateway with emulated nodes. Takes every spore-gateway option, and:';

const fieldDevices = new DemoFieldDevices();

async function main(argv: string[]): Promise<number> {
  let loaded;
  try {
    // The demo runs the embedded MQTT broker: where -mqtt-port (or SPORE_MQTT_EMBEDDED_PORT) says,
    // otherwise on 1883 unless something (a Mosquitto) already uses it. The flags are read first,
    // so the demo takes the same port flags as the gateway.
    const explicitPort = argv.some((a) => /^--?mqtt-port(=|$)/.test(a)) || process.env.SPORE_MQTT_EMBEDDED_PORT !== undefined;
    const wantsHelp = argv.some((a) => /^--?(help|version)(=|$)/.test(a));
    const mqttPort = explicitPort || wantsHelp ? undefined : await firstFreePort(1883, '0.0.0.0');
    // Field devices over TCP (nothing needs a serial port): a Modbus RTU meter behind an emulated
    // serial device server and an M-Bus heat meter, read by the pipeline (the Devices page).
    if (!wantsHelp) await fieldDevices.start();
    const defaults = { ...DEMO_DEFAULTS, ...(wantsHelp ? {} : { pipeline: fieldDevices.pipeline() }), mqtt: { url: 'embedded', ...(mqttPort !== undefined ? { embedded: { port: mqttPort } } : {}) } };
    loaded = await loadGatewayConfig(argv, { extraFlags: DEMO_FLAGS, defaults });
  } catch (err) {
    return explainStartupError('demo', err);
  }
  if (loaded.help || loaded.version) {
    process.stdout.write(formatHelp(USAGE, [...DEMO_FLAGS, ...GATEWAY_FLAGS]));
    return 0;
  }
  const config = loaded.config;
  const gateway = new Gateway(config, { configManager: loaded.manager });
  if (!(await startGateway('demo', gateway))) return 2;

  let sim: SimCluster;
  try {
    sim = await SimCluster.start({
      count: (loaded.extra.get('count') as number | undefined) ?? 5,
      httpPort: config.nodes.port,
      gatewayHost: config.udp.host === '0.0.0.0' ? '127.0.0.1' : config.udp.host,
      gatewayPort: gateway.udpPort,
    });
  } catch (err) {
    process.stderr.write(`demo: cannot start the emulated nodes: ${(err as Error).message}\n`);
    await gateway.stop();
    return 1;
  }

  // Pretend sensors publish to the broker the bridge reads, so MQTT messages show up at once.
  const mqttUrl = gateway.mqtt.embeddedBroker?.localUrl ?? config.mqtt.url;
  let sensors: DemoSensorTraffic | undefined;
  if (mqttUrl && mqttUrl !== 'embedded') {
    const username = process.env.MQTT_USER || config.mqtt.username;
    const password = process.env.MQTT_PASSWORD || config.mqtt.password;
    sensors = new DemoSensorTraffic(mqttUrl, { ...(username ? { username } : {}), ...(password ? { password } : {}) }, gateway.logger);
    await sensors.start();
  }

  const url = gateway.url;
  const first = sim.ips[0] ?? '127.0.1.1';
  process.stdout.write(
    [
      '',
      `SPORE gateway demo: ${sim.nodes.length} emulated node(s) on ${sim.ips[0] ?? '-'} … ${sim.ips.at(-1) ?? '-'} (HTTP port ${config.nodes.port})`,
      '',
      `  Open the web UI:  ${url}/`,
      '',
      `  REST API     ${url}/api/discovery/nodes`,
      `  Health       ${url}/api/health`,
      `  WebSocket    ${url.replace(/^http/, 'ws')}/ws`,
      '',
      'Try:',
      `  curl -s ${url}/api/discovery/nodes`,
      `  curl -s ${url}/api/cluster/members`,
      `  curl -s ${url}/api/node/status/${first}`,
      `  curl -s -X POST ${url}/api/proxy-call -H 'content-type: application/json' \\`,
      `       -d '{"ip":"${first}","method":"POST","uri":"/api/led","params":[{"name":"color","value":"#00ff00","location":"body"}]}'`,
      `  curl -s -X POST ${url}/api/discovery/random-primary`,
      '',
      ...(mqttUrl
        ? [
            `MQTT: ${gateway.mqtt.embeddedBroker ? `embedded broker on ${mqttUrl.replace('127.0.0.1', 'localhost')}` : `bridge to ${gateway.mqtt.status()?.broker ?? mqttUrl}`}, demo sensors publishing sensor/temperature/… and sensor/humidity/… every 2 s`,
            `  curl -s '${url}/api/mqtt/messages?topic=sensor/%23&limit=5'`,
            `  curl -s ${url}/api/mqtt/stats`,
            `  websocat '${url.replace(/^http/, 'ws')}/ws?replay=sensor/%23'      # replay, then live messages`,
            ...(gateway.mqtt.embeddedBroker
              ? [
                  `  mosquitto_sub -p ${gateway.mqtt.embeddedBroker.port} -t '${gateway.mqtt.prefix}/#' -v   # the cluster on MQTT`,
                  `  mosquitto_pub -p ${gateway.mqtt.embeddedBroker.port} -t '${gateway.mqtt.prefix}/nodes/${sim.nodes[0]?.hostname ?? 'spore-sim-1'}/command' -m '{"method":"GET","uri":"/api/node/status"}'`,
                  `  npm run mqtt:test -- -url ${mqttUrl.replace('127.0.0.1', 'localhost')}   # the 16 test message kinds`,
                ]
              : []),
            '',
          ]
        : []),
      `Field buses (the Devices page): a Modbus RTU energy meter over TCP (127.0.0.1:${fieldDevices.rtuPort}) and an M-Bus heat meter over TCP (127.0.0.1:${fieldDevices.mbusPort})`,
      `  curl -s ${url}/api/devices/heat-meter`,
      `  curl -s -X POST ${url}/api/connectors/heat-lan/scan -H 'content-type: application/json' -d '{"from":1,"to":10}'`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );

  await runUntilSignal(gateway, async () => {
    await sensors?.stop();
    await sim.stop();
    await gateway.stop();
    await fieldDevices.stop();
  }, { binary: 'demo' });
  return 0;
}

runMain('demo', main);
