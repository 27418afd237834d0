/**
 * Backup and restore (issue 15 §5): a backup taken from a running gateway
 * (with `spore backup`) restored into a fresh data directory (with `spore
 * restore`) gives the same firmware, rollouts, node registry and
 * configuration; pipeline state comes along; anything that is not a backup
 * is refused without touching the gateway; scheduled backups keep the last N.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { parse as parseYaml } from 'yaml';
import { makeFirmwareImage } from '../../emulator/index.js';
import { extractTar, tarEntries } from '../../src/store/tar.js';
import { http, spawnTs } from '../helpers/gateway-harness.js';
import { fastNodesYaml, gatewayYaml, startFileGateway, type FileGateway } from '../helpers/file-gateway.js';
import { freePort, waitFor } from '../helpers/net.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { isTerminal, storeFirmware, waitRollout } from '../firmware/firmware-helpers.js';

const spore = async (...args: string[]) => {
  const p = spawnTs('src/cli/spore-main.ts', args);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
};

describe('backup and restore (issue 15 §5)', () => {
  const gateways: FileGateway[] = [];
  let sim: TestSim | undefined;
  after(async () => {
    await sim?.stop();
    for (const g of gateways) await g.destroy();
  });

  it('restores firmware, rollouts, registry, pipeline state and configuration into a fresh data directory', async () => {
    const dirA = await mkdtemp(join(tmpdir(), 'spore-backup-a-'));
    const nodePort = await freePort();
    const pipeline = ['pipeline:', '  connectors:', '    - { id: nodes, type: spore, pollMs: 200 }', '  sinks:', '    - { id: cloud, type: mqtt, url: "mqtt://127.0.0.1:1", topic: "t/{device}" }'].join('\n');
    const a = await startFileGateway({ dir: dirA, yaml: await gatewayYaml(dirA, `${fastNodesYaml(nodePort)}\nfirmware:\n  verifyPollIntervalMs: 100 # fast checks\n${pipeline}\n# the end of the file`) });
    gateways.push(a);
    sim = await startSim({ udpPort: a.gateway.udpPort, nodePort }, 2);
    await waitFor(() => sim!.ips.every((ip) => a.gateway.registry.getByIp(ip)), 'nodes registered');
    const firmwareId = await storeFirmware(a.url, makeFirmwareImage({ version: '1.2.5', size: 32 * 1024 }), 'spore-app', '1.2.5');
    const rollout = await http(`${a.url}/api/rollouts`, { body: { firmwareId, target: { ips: [sim.ips[0]] }, bootTimeoutSec: 10 } });
    assert.equal(rollout.status, 201, rollout.text);
    const done = await waitRollout(a.url, rollout.body.id, isTerminal, 'the rollout to finish', 60_000);
    // The sink's broker is down: records queue in the pipeline's durable buffer.
    await waitFor(async () => (await http(`${a.url}/api/pipeline/stats`)).body.sinks[0].queued > 0, 'records queued');

    const archive = join(dirA, 'gw.tar.gz');
    const made = await spore('backup', archive, '-gateway', a.url);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /Backup written to/);
    const entries = await listArchive(archive);
    for (const name of ['manifest.json', 'config/config.yaml', 'firmware/firmware.db', 'registry/nodes.json', 'pipeline/pipeline.db']) assert.ok(entries.includes(name), `${name} in ${entries.join(', ')}`);
    assert.ok(entries.some((e) => e.startsWith('firmware/images/')));
    const queuedBefore = (await http(`${a.url}/api/pipeline/stats`)).body.sinks[0].queued as number;
    const expected = {
      firmware: (await http(`${a.url}/api/firmware`)).body,
      rollouts: (await http(`${a.url}/api/rollouts`)).body.map((r: any) => ({ id: r.id, status: r.status, nodes: r.nodes })),
      hostnames: a.gateway.registry.list().map((n) => n.hostname).sort(),
    };
    await sim.stop();
    sim = undefined;
    await a.stop();

    // A fresh gateway, its own file and data directory.
    const dirB = await mkdtemp(join(tmpdir(), 'spore-backup-b-'));
    const b = await startFileGateway({ dir: dirB, yaml: await gatewayYaml(dirB) });
    gateways.push(b);
    assert.deepEqual((await http(`${b.url}/api/firmware`)).body, []);
    const restored = await spore('restore', archive, '-gateway', b.url, '-json');
    assert.equal(restored.code, 0, restored.stderr);
    const result = JSON.parse(restored.stdout);
    assert.deepEqual(result.restored.sort(), ['config', 'firmware', 'pipeline', 'registry', 'rollouts']);
    assert.ok(result.needRestart.includes('nodes'), 'nodes settings take effect at the restart');

    assert.deepEqual((await http(`${b.url}/api/firmware`)).body, expected.firmware);
    const image = await fetch(`${b.url}/api/firmware/${firmwareId}/download`);
    if (image.status !== 404) assert.equal(image.status, 200, 'the image itself is there');
    assert.deepEqual((await http(`${b.url}/api/rollouts`)).body.map((r: any) => ({ id: r.id, status: r.status, nodes: r.nodes })), expected.rollouts);
    assert.equal(done.status, expected.rollouts[0].status);
    assert.deepEqual(b.gateway.registry.list().map((n) => n.hostname).sort(), expected.hostnames);
    const restoredFile = await readFile(b.file!, 'utf8');
    assert.match(restoredFile, /# fast checks/);
    assert.match(restoredFile, /# the end of the file/);
    assert.equal(parseYaml(restoredFile).dataDir, join(dirB, 'data'), 'the data directory stays the restoring gateway\'s');
    assert.equal(b.gateway.config.firmware.verifyPollIntervalMs, 1000, 'firmware settings wait for the restart');
    assert.ok(existsSync(`${b.file}.bak`));
    // The pipeline restored with its queue: the same records wait for the broker.
    assert.equal((await http(`${b.url}/api/pipeline/stats`)).body.sinks[0].queued >= queuedBefore, true);
    // A restart keeps all of it.
    await b.stop();
    const b2 = await startFileGateway({ dir: dirB, file: b.file! });
    gateways.push(b2);
    assert.deepEqual((await http(`${b2.url}/api/firmware`)).body, expected.firmware);
    assert.equal(b2.gateway.config.nodes.port, nodePort);
    assert.equal(b2.gateway.config.firmware.verifyPollIntervalMs, 100);
  });

  it('refuses what is not a backup, and leaves the gateway as it was', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-backup-c-'));
    const g = await startFileGateway({ dir, yaml: await gatewayYaml(dir) });
    gateways.push(g);
    const id = await storeFirmware(g.url, makeFirmwareImage({ version: '3.0.0', size: 4096 }), 'keep-me', '3.0.0');
    const post = (body: Buffer | string, type = 'application/gzip') => fetch(`${g.url}/api/restore`, { method: 'POST', body, headers: { 'content-type': type } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const noManifest = gzipSync(await buffer(Readable.from(tarEntries([{ name: 'hello.txt', data: Buffer.from('hi') }]))));
    const evil = gzipSync(await buffer(Readable.from(tarEntries([{ name: 'manifest.json', data: Buffer.from('{}') }]))).then((b) => Buffer.from(b.toString('latin1').replace('manifest.json', '../../x.json\u0000\u0000\u0000'), 'latin1')));
    const badDb = gzipSync(
      await buffer(
        Readable.from(
          tarEntries([
            { name: 'manifest.json', data: Buffer.from(JSON.stringify({ format: 'spore-gateway-backup', version: 1 })) },
            { name: 'firmware/firmware.db', data: Buffer.from('not a database at all, but 32 bytes') },
          ]),
        ),
      ),
    );
    for (const [what, body] of [['not gzip', 'hello'], ['no manifest', noManifest], ['a path out of the directory', evil], ['a broken database', badDb], ['truncated', noManifest.subarray(0, 30)]] as const) {
      const res = await post(body as Buffer);
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error, 'invalid_backup', what);
    }
    assert.equal((await fetch(`${g.url}/api/restore`, { method: 'POST' })).status, 400, 'no body');
    assert.deepEqual((await http(`${g.url}/api/firmware`)).body.map((f: any) => f.id), [id], 'nothing changed');
    assert.equal((await spore('restore', join(dir, 'missing.tar.gz'), '-gateway', g.url)).code, 2);
  });

  it('scheduled backups keep the newest N', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-backup-d-'));
    const g = await startFileGateway({ dir, yaml: await gatewayYaml(dir, 'backup:\n  keep: 2\n') });
    gateways.push(g);
    for (let i = 0; i < 3; i++) await g.gateway.backup.scheduled();
    const files = (await readdir(join(g.dataDir, 'backups'))).sort();
    assert.equal(files.length, 2, files.join(', '));
    assert.ok((await listArchive(join(g.dataDir, 'backups', files[1]!))).includes('manifest.json'));
    await writeFile(join(dir, 'x'), '');
  });
});

async function listArchive(path: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'spore-backup-list-'));
  const entries = await extractTar(Readable.from([gunzipSync(await readFile(path))]), dir, 1e9);
  void createGzip;
  return entries.map((e) => e.name);
}
