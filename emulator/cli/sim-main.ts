#!/usr/bin/env node
/**
 * `spore-sim`: N virtual SPORE nodes for the gateway, with fault injection from
 * stdin and from an optional control HTTP port.
 */
import http from 'node:http';
import { createInterface } from 'node:readline';
import { HELP_FLAG, parseCommandLine, parsers, type FlagSpec } from '../../src/cli/parse-flags.js';
import { isValidIpv4 } from '../../src/protocol/ip.js';
import { isValidVersion } from '../firmware-image.js';
import { SimCluster, SIM_DEFAULTS } from '../sim-cluster.js';
import { applySimCommand, SimCommandError, SIM_COMMAND_HELP } from '../sim-commands.js';
import { runMain } from '../../src/cli/run-main.js';

const LABEL_PAIR = /^[A-Za-z0-9._/-]{1,64}=[^,=]{0,128}$/;

const FLAGS: FlagSpec[] = [
  { name: 'count', description: 'number of virtual nodes', accepts: 'an integer 1-10000', parse: parsers.integer(1, 10_000), defaultText: '5' },
  { name: 'base-ip', description: 'address of the first node (the others follow)', accepts: 'an IPv4 address, e.g. 127.0.1.1', parse: (r) => (isValidIpv4(r) ? r : undefined), defaultText: SIM_DEFAULTS.baseIp },
  { name: 'http-port', description: "the nodes' HTTP API port (= the gateway's -node-port)", accepts: 'an integer 1-65535', parse: parsers.port(1), defaultText: String(SIM_DEFAULTS.httpPort) },
  { name: 'gateway', description: 'gateway host the heartbeats go to', accepts: 'an IPv4 address', parse: (r) => (isValidIpv4(r) ? r : undefined), defaultText: SIM_DEFAULTS.gatewayHost },
  { name: 'udp-port', description: "the gateway's UDP port", accepts: 'an integer 1-65535', parse: parsers.port(1), defaultText: String(SIM_DEFAULTS.gatewayPort) },
  {
    name: 'name-prefix',
    description: 'hostnames are <prefix><number>; give each spore-sim on a LAN its own',
    accepts: '1-60 of [A-Za-z0-9._-]',
    parse: (r) => (/^[A-Za-z0-9._-]{1,60}$/.test(r) ? r : undefined),
    defaultText: SIM_DEFAULTS.hostnamePrefix,
  },
  { name: 'heartbeat-ms', description: 'heartbeat interval, ms', accepts: 'an integer 50-600000', parse: parsers.integer(50, 600_000), defaultText: String(SIM_DEFAULTS.heartbeatIntervalMs) },
  {
    name: 'labels',
    description: 'labels of every node (default: role and zone vary per node)',
    accepts: 'k=v pairs separated by commas, e.g. zone=lab,role=led',
    parse: (raw) => {
      const pairs = raw.split(',').filter(Boolean);
      if (pairs.length === 0 || !pairs.every((p) => LABEL_PAIR.test(p))) return undefined;
      return Object.fromEntries(pairs.map((p) => p.split('=') as [string, string]));
    },
  },
  { name: 'version', description: 'firmware version the nodes report', accepts: '1-32 of [A-Za-z0-9._+-]', parse: (r) => (isValidVersion(r) ? r : undefined), defaultText: SIM_DEFAULTS.firmwareVersion },
  { name: 'reboot-ms', description: 'how long a reboot keeps a node silent, ms', accepts: 'an integer 0-600000', parse: parsers.integer(0, 600_000), defaultText: String(SIM_DEFAULTS.rebootMs) },
  { name: 'flash-speed', description: 'simulated flash write speed during OTA, bytes/s (0 = unthrottled)', accepts: 'an integer >= 0', parse: parsers.integer(0), defaultText: '0' },
  { name: 'flash-size', description: "the nodes' flash chip size, bytes", accepts: 'an integer 524288-16777216', parse: parsers.integer(524_288, 16 * 1024 * 1024), defaultText: '1048576' },
  {
    name: 'free-sketch-space',
    description: 'freeSketchSpace the nodes report, bytes ("none": not reported)',
    accepts: 'an integer >= 0, or none',
    parse: (raw) => (raw === 'none' ? null : /^\d{1,10}$/.test(raw) ? Number(raw) : undefined),
    defaultText: 'what a 460 KiB sketch leaves',
  },
  {
    name: 'latency-ms',
    description: 'jitter added to every HTTP answer, ms',
    accepts: 'min-max, e.g. 2-12',
    parse: (raw) => {
      const m = /^(\d{1,6})-(\d{1,6})$/.exec(raw);
      if (!m || Number(m[1]) > Number(m[2])) return undefined;
      return { min: Number(m[1]), max: Number(m[2]) };
    },
    defaultText: `${SIM_DEFAULTS.latencyMs.min}-${SIM_DEFAULTS.latencyMs.max}`,
  },
  { name: 'control-port', description: 'serve fault-injection commands on 127.0.0.1:<port> (POST /command, GET /nodes)', accepts: 'an integer 1-65535', parse: parsers.port(1) },
  {
    name: 'lan',
    description: 'real-LAN mode (network namespaces, scripts/real-lan-demo.sh): hear broadcast CLUSTER_DISCOVERY probes; -gateway may be a broadcast address',
    accepts: 'no value',
    boolean: true,
    parse: parsers.boolean,
  },
  { name: 'quiet', description: 'print nothing but errors', accepts: 'no value', boolean: true, parse: parsers.boolean },
  HELP_FLAG,
];

const USAGE = `Usage: spore-sim [options]

Runs virtual SPORE nodes, each on its own loopback address, sending heartbeats to the
gateway and serving the node HTTP API. Commands on stdin (a node is its number, IP,
hostname or "all"):
${SIM_COMMAND_HELP.replace(/^/gm, '  ')}`;

function startControlServer(cluster: SimCluster, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/nodes') {
      return reply(
        200,
        cluster.nodes.map((n) => ({ number: n.index + 1, hostname: n.hostname, ip: n.ip, alive: n.alive, muted: n.muted, slowMs: n.slowMs, version: n.version, labels: n.labels, uploads: n.uploads.length })),
      );
    }
    if (req.method === 'POST' && req.url === '/command') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        body += c;
        if (body.length > 4096) req.destroy();
      });
      req.on('end', () => {
        applySimCommand(cluster, body).then(
          (output) => reply(200, { ok: true, output }),
          (err: unknown) => reply(err instanceof SimCommandError ? 400 : 500, { error: 'bad_command', message: (err as Error).message }),
        );
      });
      return;
    }
    reply(404, { error: 'not_found', message: 'Use GET /nodes or POST /command with a command line as the body.' });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function main(argv: string[]): Promise<number> {
  const values = parseCommandLine('spore-sim', argv, FLAGS, USAGE);
  if (typeof values === 'number') return values;
  const quiet = values.get('quiet') === true;
  const say = (text: string): void => {
    if (!quiet) process.stdout.write(`${text}\n`);
  };
  let cluster: SimCluster;
  try {
    cluster = await SimCluster.start({
      count: (values.get('count') as number | undefined) ?? 5,
      baseIp: values.get('base-ip') as string | undefined,
      httpPort: values.get('http-port') as number | undefined,
      gatewayHost: values.get('gateway') as string | undefined,
      gatewayPort: values.get('udp-port') as number | undefined,
      heartbeatIntervalMs: values.get('heartbeat-ms') as number | undefined,
      labels: values.get('labels') as Record<string, string> | undefined,
      firmwareVersion: values.get('version') as string | undefined,
      rebootMs: values.get('reboot-ms') as number | undefined,
      flashBytesPerSec: values.get('flash-speed') as number | undefined,
      flashChipSize: values.get('flash-size') as number | undefined,
      freeSketchSpace: values.get('free-sketch-space') as number | null | undefined,
      latencyMs: values.get('latency-ms') as { min: number; max: number } | undefined,
      lan: values.get('lan') === true,
      hostnamePrefix: values.get('name-prefix') as string | undefined,
      log: say,
    });
  } catch (err) {
    process.stderr.write(`spore-sim: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  const s = cluster.settings;
  say(`spore-sim: ${cluster.nodes.length} node(s) ${cluster.ips[0] ?? ''}${cluster.nodes.length > 1 ? ` … ${cluster.ips.at(-1)}` : ''}, HTTP port ${s.httpPort}, heartbeats to ${s.gatewayHost}:${s.gatewayPort}`);
  let control: http.Server | undefined;
  const controlPort = values.get('control-port') as number | undefined;
  if (controlPort) {
    try {
      control = await startControlServer(cluster, controlPort);
      say(`spore-sim: control on http://127.0.0.1:${controlPort} (GET /nodes, POST /command)`);
    } catch (err) {
      process.stderr.write(`spore-sim: cannot open -control-port ${controlPort}: ${(err as Error).message}\n`);
      await cluster.stop();
      return 1;
    }
  }
  say('type "help" for fault-injection commands');

  const rl = createInterface({ input: process.stdin, terminal: false });
  rl.on('line', (line) => {
    applySimCommand(cluster, line).then(
      (out) => out && say(out),
      (err: unknown) => process.stderr.write(`spore-sim: ${(err as Error).message}\n`),
    );
  });

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  rl.close();
  control?.close();
  await cluster.stop();
  return 0;
}

runMain('spore-sim', main, { forceExit: true });
