import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { SimCluster, makeFirmwareImage, NODE_API } from '../../emulator/index.js';
import { freePort, randomBaseIp, waitFor } from '../helpers/net.js';

/** A stand-in for the gateway's UDP socket: records every datagram with its source address. */
async function udpCollector(): Promise<{ socket: dgram.Socket; port: number; got: Array<{ from: string; text: string }> }> {
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const got: Array<{ from: string; text: string }> = [];
  socket.on('message', (msg, rinfo) => got.push({ from: rinfo.address, text: msg.toString() }));
  await new Promise<void>((r) => socket.bind(0, '0.0.0.0', () => r()));
  return { socket, port: socket.address().port, got };
}

async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}

async function upload(url: string, image: Buffer, field = 'file'): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append(field, new Blob([image]), 'firmware.bin');
  const res = await fetch(url, { method: 'POST', body: form });
  return { status: res.status, body: await res.json() };
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch (err) {
    return /ECONNREFUSED|ECONNRESET|other side closed/.test(String((err as { cause?: unknown }).cause ?? err));
  }
}

describe('emulated SPORE nodes (CONTRACT §2–3)', () => {
  let sim: SimCluster;
  let gw: Awaited<ReturnType<typeof udpCollector>>;
  let port: number;
  const base = (i: number): string => `http://${sim.ips[i]}:${port}`;

  before(async () => {
    gw = await udpCollector();
    port = await freePort();
    sim = await SimCluster.start({
      count: 3,
      baseIp: randomBaseIp(),
      httpPort: port,
      gatewayPort: gw.port,
      heartbeatIntervalMs: 200,
      rebootMs: 400,
      latencyMs: { min: 0, max: 1 },
      labels: (i) => ({ zone: i === 0 ? 'north' : 'south' }),
      firmwareVersion: '1.0.0',
    });
  });
  after(async () => {
    await sim?.stop();
    gw?.socket.close();
  });

  it('announces itself from its own address: NODE_UPDATE with labels and version, then heartbeats', async () => {
    const ip = sim.ips[0]!;
    const update = await waitFor(() => gw.got.find((d) => d.from === ip && d.text.startsWith('NODE_UPDATE:')), 'NODE_UPDATE');
    const [, hostname, ...json] = update.text.split(':');
    assert.equal(hostname, sim.nodes[0]!.hostname);
    const info = JSON.parse(json.join(':'));
    assert.deepEqual(info.labels, { zone: 'north' });
    assert.equal(info.version, '1.0.0');
    await waitFor(() => gw.got.filter((d) => d.from === ip && d.text === `CLUSTER_HEARTBEAT:${hostname}`).length >= 2, 'two heartbeats');
    assert.ok(gw.got.every((d) => sim.ips.includes(d.from)), 'every datagram comes from a node address');
  });

  it('answers CLUSTER_DISCOVERY with CLUSTER_RESPONSE and records CLUSTER_EVENTs', async () => {
    const ip = sim.ips[1]!;
    gw.socket.send('CLUSTER_DISCOVERY', gw.port, ip);
    await waitFor(() => gw.got.find((d) => d.from === ip && d.text === `CLUSTER_RESPONSE:${sim.nodes[1]!.hostname}`), 'response');
    gw.socket.send('CLUSTER_EVENT:{"event":"led/set","data":{"color":"#FF0000","brightness":10}}', gw.port, ip);
    await waitFor(() => sim.nodes[1]!.receivedEvents.length === 1, 'event received');
    const led = await getJson(`${base(1)}/api/led`);
    assert.deepEqual(led, { color: '#ff0000', brightness: 10, on: true });
  });

  it('serves /api/node/status, /api/cluster/members and /api/tasks/status in SPORE shapes', async () => {
    const status = await getJson(`${base(0)}/api/node/status`);
    for (const key of ['freeHeap', 'chipId', 'sdkVersion', 'cpuFreqMHz', 'flashChipSize', 'api']) assert.ok(key in status, key);
    assert.equal(status.sdkVersion, '2.2.2-dev(38a443e)');
    assert.equal(status.flashChipSize, 1048576);
    assert.deepEqual(status.api, NODE_API);
    assert.equal(status.version, '1.0.0');

    const { members } = await getJson(`${base(0)}/api/cluster/members`);
    assert.equal(members.length, 3);
    for (const m of members) {
      assert.deepEqual(Object.keys(m).sort(), ['api', 'hostname', 'ip', 'labels', 'lastSeen', 'latency', 'resources', 'status']);
      assert.equal(m.status, 'ACTIVE');
      assert.equal(typeof m.lastSeen, 'number');
      assert.ok(m.lastSeen < 1e11, 'lastSeen in epoch seconds');
    }

    const tasks = await getJson(`${base(0)}/api/tasks/status`);
    assert.deepEqual(Object.keys(tasks).sort(), ['summary', 'system', 'tasks']);
    assert.equal(tasks.summary.totalTasks, tasks.tasks.length);
    for (const t of tasks.tasks) assert.deepEqual(Object.keys(t).sort(), ['autoStart', 'enabled', 'interval', 'name', 'running']);
    assert.deepEqual(Object.keys(tasks.system).sort(), ['freeHeap', 'uptime']);
  });

  it('free heap jitters like a running sketch', async () => {
    const heaps = new Set<number>();
    for (let i = 0; i < 10; i++) heaps.add((await getJson(`${base(2)}/api/node/status`)).freeHeap);
    assert.ok(heaps.size > 1, 'free heap changes between reads');
    for (const h of heaps) assert.ok(h > 4096 && h < 80_000, String(h));
  });

  it('task control: disabling the heartbeat task silences the node; bad input is refused', async () => {
    const post = (body: Record<string, string>) =>
      fetch(`${base(2)}/api/tasks/control`, { method: 'POST', body: new URLSearchParams(body) });
    assert.equal((await post({ task: 'heartbeat', action: 'disable' })).status, 200);
    const mark = sim.nodes[2]!.lastHeartbeatAt;
    await new Promise((r) => setTimeout(r, 600)); // three heartbeat intervals
    assert.equal(sim.nodes[2]!.lastHeartbeatAt, mark, 'no heartbeat while the task is disabled');
    assert.equal((await post({ task: 'heartbeat', action: 'enable' })).status, 200);
    assert.equal((await post({ task: 'nope', action: 'enable' })).status, 404);
    assert.equal((await post({ task: 'heartbeat', action: 'explode' })).status, 400);
    assert.equal((await post({ action: 'enable' })).status, 400);
  });

  it('capabilities: LED strip and relay validate their form fields', async () => {
    const led = await fetch(`${base(0)}/api/led`, { method: 'POST', body: new URLSearchParams({ color: '#00ff00', brightness: '128' }) });
    assert.deepEqual(await led.json() as unknown, { success: true, color: '#00ff00', brightness: 128, on: true });
    assert.equal((await fetch(`${base(0)}/api/led`, { method: 'POST', body: new URLSearchParams({ color: 'green' }) })).status, 400);
    assert.equal((await fetch(`${base(0)}/api/led`, { method: 'POST', body: new URLSearchParams({ brightness: '300' }) })).status, 400);
    const relay = await fetch(`${base(0)}/api/relay`, { method: 'POST', body: new URLSearchParams({ state: 'toggle' }) });
    assert.deepEqual(await relay.json() as unknown, { success: true, state: 'on' });
    assert.equal((await fetch(`${base(0)}/api/relay`, { method: 'POST', body: new URLSearchParams({ state: 'maybe' }) })).status, 400);
    assert.equal((await fetch(`${base(0)}/api/unknown`)).status, 404);
  });

  it('OTA: accepts an image, goes silent for the reboot, comes back on the marked version', async () => {
    const node = sim.nodes[0]!;
    const image = makeFirmwareImage({ version: '2.0.0', size: 100_000 });
    const res = await upload(`${base(0)}/api/node/update`, image);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'OK');
    assert.equal(node.uploads.at(-1)!.size, image.length);
    assert.equal(node.uploads.at(-1)!.version, '2.0.0');
    assert.ok(await refused(`${base(0)}/api/node/status`), 'refuses connections while rebooting');
    await waitFor(() => node.alive, 'back from reboot');
    assert.equal((await getJson(`${base(0)}/api/node/status`)).version, '2.0.0');
    await waitFor(() => gw.got.find((d) => d.from === node.ip && d.text.includes('"version":"2.0.0"')), 'NODE_UPDATE with the new version');
  });

  it('OTA faults: not an ESP image, refused image, old version, never returns', async () => {
    const node = sim.nodes[1]!;
    const notEsp = await upload(`${base(1)}/api/node/update`, Buffer.from('#!/bin/sh\necho hi\n'));
    assert.equal(notEsp.status, 500);
    assert.equal(notEsp.body.status, 'FAIL');
    assert.match(notEsp.body.message, /Magic byte/);
    assert.equal((await upload(`${base(1)}/api/node/update`, makeFirmwareImage({ version: '3.0.0' }), 'image')).status, 400, 'field must be "file"');

    node.failNextUpdate('refuse');
    const refusedRes = await upload(`${base(1)}/api/node/update`, makeFirmwareImage({ version: '3.0.0' }));
    assert.equal(refusedRes.status, 500);
    assert.equal(node.alive, true, 'a refused image does not reboot the node');
    assert.equal(node.version, '1.0.0');

    node.failNextUpdate('old-version');
    assert.equal((await upload(`${base(1)}/api/node/update`, makeFirmwareImage({ version: '3.0.0' }))).status, 200);
    await waitFor(() => !node.alive, 'rebooting');
    await waitFor(() => node.alive, 'back');
    assert.equal(node.version, '1.0.0', 'came back on the old version');

    node.failNextUpdate('never-return');
    assert.equal((await upload(`${base(1)}/api/node/update`, makeFirmwareImage({ version: '3.0.0' }))).status, 200);
    await new Promise((r) => setTimeout(r, 900)); // two reboot times
    assert.equal(node.alive, false, 'never came back');
    await node.revive();
    assert.equal(node.alive, true);
  });

  it('fault injection: kill refuses HTTP, revive restores, slow delays, mute stops heartbeats only', async () => {
    const node = sim.nodes[2]!;
    node.kill();
    assert.ok(await refused(`${base(2)}/api/node/status`));
    await node.revive();
    assert.equal((await fetch(`${base(2)}/api/node/status`)).status, 200);

    node.slow(300);
    const t0 = performance.now();
    await fetch(`${base(2)}/api/node/status`);
    assert.ok(performance.now() - t0 >= 290, 'answer delayed by the injected slowness');
    node.slow(0);

    node.mute(true);
    const mark = node.lastHeartbeatAt;
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(node.lastHeartbeatAt, mark, 'no heartbeat while muted');
    assert.equal((await fetch(`${base(2)}/api/node/status`)).status, 200, 'HTTP still answers');
    node.mute(false);
    await waitFor(() => node.lastHeartbeatAt > mark, 'heartbeats resume');
  });
});
