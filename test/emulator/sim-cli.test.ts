import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { spawn } from 'node:child_process';
import { freePort, freeUdpPort, randomBaseIp, waitFor } from '../helpers/net.js';
import { spawnTs } from '../helpers/gateway-harness.js';

const MAIN = 'emulator/cli/sim-main.ts';

describe('spore-sim command line', () => {
  it('names the option and accepted values on bad input, in one line', async () => {
    for (const [args, pattern] of [
      [['-count', 'many'], /-count.*integer 1-10000/],
      [['-latency-ms', '9-1'], /-latency-ms.*min-max/],
      [['-labels', 'novalue'], /-labels.*k=v/],
      [['-base-ip', '300.1.1.1'], /-base-ip.*IPv4/],
    ] as Array<[string[], RegExp]>) {
      const p = spawnTs(MAIN, args);
      assert.equal(await p.exited, 2, args.join(' '));
      const lines = p.stderr().trim().split('\n');
      assert.equal(lines.length, 1, p.stderr());
      assert.match(lines[0]!, pattern);
    }
  });

  it('runs nodes, takes fault-injection commands on stdin and on the control port', async () => {
    const udp = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const heard = new Map<string, number>();
    udp.on('message', (msg, rinfo) => {
      if (msg.toString().startsWith('CLUSTER_HEARTBEAT:')) heard.set(rinfo.address, Date.now());
    });
    const udpPort = await freeUdpPort();
    await new Promise<void>((r) => udp.bind(udpPort, '0.0.0.0', () => r()));
    const httpPort = await freePort();
    const controlPort = await freePort();
    const baseIp = randomBaseIp();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, '-count', '2', '-base-ip', baseIp, '-http-port', String(httpPort), '-udp-port', String(udpPort), '-heartbeat-ms', '200', '-control-port', String(controlPort), '-labels', 'zone=lab'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const second = baseIp.replace(/\.1$/, '.2');
    try {
      await waitFor(() => heard.has(baseIp) && heard.has(second), 'heartbeats from both nodes', 20_000);
      child.stdin.write('list\n');
      await waitFor(() => out.includes('spore-sim-2') && out.includes(second), 'list output');

      child.stdin.write('kill 2\n');
      await waitFor(async () => {
        try {
          await fetch(`http://${second}:${httpPort}/api/node/status`);
          return false;
        } catch {
          return true;
        }
      }, 'node 2 refuses HTTP');

      const nodes = (await (await fetch(`http://127.0.0.1:${controlPort}/nodes`)).json()) as Array<{ alive: boolean; labels: object }>;
      assert.deepEqual(nodes.map((n) => n.alive), [true, false]);
      assert.deepEqual(nodes[0]!.labels, { zone: 'lab' });
      const revive = await fetch(`http://127.0.0.1:${controlPort}/command`, { method: 'POST', body: 'revive 2' });
      assert.equal(revive.status, 200);
      assert.equal((await fetch(`http://${second}:${httpPort}/api/node/status`)).status, 200);
      const bad = await fetch(`http://127.0.0.1:${controlPort}/command`, { method: 'POST', body: 'explode 2' });
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { message: string }).message, /unknown command/);

      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
      udp.close();
    }
  });
});
