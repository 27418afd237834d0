#!/usr/bin/env node
/**
 * `spore-sim`: N virtual SPORE nodes for the gateway, with fault injection from
 * stdin and from an optional control HTTP port.
 */
import http from 'node:http';
import { createInterface } from 'node:readline';
import { parseCommandLine } from '../../src/cli/parse-flags.js';
import { SimCluster } from '../sim-cluster.js';
import { SIM_FLAGS } from './sim-flags.js';
import { applySimCommand, SimCommandError, SIM_COMMAND_HELP } from '../sim-commands.js';
import { runMain } from '../../src/cli/run-main.js';

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
        cluster.nodes.map((n) => ({ number: n.index + 1, hostname: n.hostname, ip: n.ip, alive: n.alive, muted: n.muted, slowMs: n.slowMs, version: n.version, labels: n.labels, uploads: n.uploads.length, statusRequests: n.statusRequests })),
      );
    }
    if (req.method === 'GET' && req.url === '/requests') {
      // HTTP requests the nodes received, per route, since start (bench/gentle-polling.ts).
      return reply(200, { requests: Object.fromEntries(cluster.requestCounts) });
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
    reply(404, { error: 'not_found', message: 'Use GET /nodes, GET /requests or POST /command with a command line as the body.' });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function main(argv: string[]): Promise<number> {
  const values = parseCommandLine('spore-sim', argv, SIM_FLAGS, USAGE);
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
      httpListen: values.get('http-listen') as string | undefined,
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
      say(`spore-sim: control on http://127.0.0.1:${controlPort} (GET /nodes, GET /requests, POST /command)`);
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
