import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeFirmwareImage } from '../../emulator/index.js';
import { http, trackChild } from '../helpers/gateway-harness.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { freePort, waitFor } from '../helpers/net.js';
import { startSim, type TestSim } from '../helpers/sim.js';

// The built binaries (as users run them; `npm run build` first): a tsx start costs seconds per run on a loaded machine.
const MAIN = resolve('dist/src/cli/spore-main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The `spore` CLI from source, stdout piped (plain lines). */
function spore(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

/** Every file under a directory (relative paths), to prove a dry run wrote nothing. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !/\.(db|sqlite)(-wal|-shm|-journal)?$/.test(e.name))
    .map((e) => join(e.parentPath, e.name).slice(dir.length))
    .sort();
}

/**
 * Issue 12 §17 and §18 against the real gateway process: a dry run changes nothing, the counts
 * of `ota all` agree, `node status` names the primary, values carry units, plan warnings on stderr.
 */
describe('spore CLI: dry runs, counts, names and units (issue 12 §17)', () => {
  let gw: GatewayProcess;
  let oldNodes: TestSim;
  let newNode: TestSim;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const ips = () => [...oldNodes.ips, ...newNode.ips];

  before(async () => {
    const nodePort = await freePort();
    assert.ok(existsSync(MAIN), 'dist/ is missing: run `npm run build` first');
    gw = await startGatewayProcess({ fromDist: true, args: ['-node-port', String(nodePort)], env: { SPORE_FIRMWARE_VERIFY_POLL_INTERVAL_MS: '100' } });
    // Two nodes on 1.0.0 and one already on 2.0.0 (its own cluster: the version is per cluster).
    oldNodes = await startSim({ udpPort: gw.udpPort, nodePort }, 2, { firmwareVersion: '1.0.0', labels: { fleet: 'p12' } });
    newNode = await startSim({ udpPort: gw.udpPort, nodePort }, 1, { firmwareVersion: '2.0.0', labels: { fleet: 'p12' }, hostnamePrefix: 'spore-new' });
    dir = await mkdtemp(join(tmpdir(), 'spore-plan12-'));
    env = { SPORE_GATEWAY: gw.url };
    await waitFor(async () => {
      const body = (await http(`${gw.url}/api/discovery/nodes`)).body as { primaryNode: string | null; nodes: Array<{ ip: string; status: string; labels?: Record<string, string> }> };
      return body.primaryNode !== null && ips().every((ip) => body.nodes.some((n) => n.ip === ip && n.status === 'ACTIVE' && n.labels?.fleet === 'p12'));
    }, 'three nodes ACTIVE with their labels, and a primary', 30_000);
  });
  after(async () => {
    await Promise.all([oldNodes?.stop(), newNode?.stop()]);
    await gw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('ota all -dry-run of a new file stores nothing, anywhere', async () => {
    const file = join(dir, 'app-2.0.0.bin');
    await writeFile(file, makeFirmwareImage({ version: '2.0.0', size: 24 * 1024, seed: 7 }));
    const before = await filesUnder(gw.dataDir);

    const dry = await spore(['ota', 'all', file, '-name', 'app', '-labels', 'fleet=p12', '-dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual((await http(`${gw.url}/api/firmware`)).body, [], 'the store is still empty');
    assert.deepEqual((await http(`${gw.url}/api/rollouts`)).body, [], 'no rollout recorded');
    assert.deepEqual(await filesUnder(gw.dataDir), before, 'no file was left in the data directory (image or spool)');
    assert.doesNotMatch(dry.stdout, /Stored /);
    assert.match(dry.stdout, /\(nothing changed\)/);
    assert.match(dry.stdout, new RegExp(`skipped ${newNode.ips[0]!.replace(/\./g, '\\.')} .*already on version 2\\.0\\.0`));

    // Planning an unsaved image is a dry run only.
    const refused = await http(`${gw.url}/api/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: { name: 'app', version: '2.0.0', size: 1, sha256: 'a'.repeat(64), imageBytes: 1, espImage: true }, target: {} }),
    });
    assert.equal(refused.status, 400);
    assert.match((refused.body as { message: string }).message, /image: an unsaved image can only be planned with dryRun: true/);
  });

  it('ota all counts over the same nodes: "started … to 2 node(s)", then "2/2 updated, 1 skipped"', async () => {
    const file = join(dir, 'app-2.0.0.bin');
    const real = await spore(['ota', 'all', file, '-name', 'app', '-labels', 'fleet=p12', '-boot-timeout', '15'], env);
    assert.equal(real.code, 0, `${real.stdout}\n${real.stderr}`);
    assert.match(real.stdout, /started: app 2\.0\.0 to 2 node\(s\)/);
    assert.match(real.stdout, new RegExp(`skipped ${newNode.ips[0]!.replace(/\./g, '\\.')} `));
    assert.match(real.stdout, /Rollout succeeded: 2\/2 updated, 1 skipped/, 'the same N as "started … to 2 node(s)"; the skipped node apart');
    assert.doesNotMatch(real.stdout, /\/3 updated/);
  });

  it('node status without an IP names the primary; sizes, uptime and latency carry units', async () => {
    const discovery = (await http(`${gw.url}/api/discovery/nodes`)).body as { primaryNode: string; nodes: Array<{ ip: string; hostname: string }> };
    const primary = discovery.nodes.find((n) => n.ip === discovery.primaryNode)!;
    const [status, members] = await Promise.all([spore(['node', 'status'], env), spore(['cluster', 'members'], env)]);
    assert.equal(status.code, 0, status.stderr);
    assert.doesNotMatch(status.stdout, /the primary node/);
    assert.match(status.stdout.split('\n')[0]!, new RegExp(`^Primary node ${primary.ip.replace(/\./g, '\\.')} \\(${primary.hostname}\\)$`));
    assert.match(status.stdout, /freeHeap\s+\d+\.\d KiB\n/);
    assert.match(status.stdout, /flashChipSize\s+\d+\.\d\d MiB\n/);
    assert.match(status.stdout, /uptime\s+\d+ (ms|s|min \d+ s|h \d+ min)\n/);
    assert.match(status.stdout, /cpuFreqMHz\s+\d+ MHz\n/);
    assert.equal(members.code, 0, members.stderr);
    const rows = members.stdout.trim().split('\n').slice(1);
    assert.ok(rows.length > 0, members.stdout);
    for (const row of rows) assert.match(row, /\s(\d+(\.\d)? ms|–)\s/, `latency with its unit: ${row}`);
  });

  it('ota all warns on stderr, before anything is sent, about an image the nodes will reject (issue 12 §18)', async () => {
    const junk = join(dir, 'junk.bin');
    await writeFile(junk, Buffer.alloc(4096, 0x42));
    const stored = await spore(['firmware', 'upload', junk, '-name', 'junk', '-version', '9.9.9', '-force', '-json'], env);
    assert.equal(stored.code, 0, stored.stderr);
    const { id } = JSON.parse(stored.stdout) as { id: string };
    const plan = await spore(['ota', 'all', id, '-labels', 'fleet=p12', '-dry-run'], env);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stderr, /^spore: warning: junk 9\.9\.9 is not an ESP8266 application image .*the 3 node\(s\) will most likely reject it$/m);
    assert.doesNotMatch(plan.stdout, /warning/, 'warnings go to stderr only');
    assert.match(plan.stdout, /\(nothing changed\)/);
  });
});
