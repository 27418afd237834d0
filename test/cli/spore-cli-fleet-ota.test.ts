import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeFirmwareImage } from '../../emulator/index.js';
import { generateKeyPair } from '../../src/firmware/firmware-signing.js';
import { http } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { gatewaySuite } from '../helpers/suites.js';

const MAIN = resolve('src/cli/spore-main.ts');
const TSX = import.meta.resolve('tsx');

function spore(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('spore CLI: keys, signing, scheduled and dynamic rollouts, retry and rollback (issue 17 §8)', () => {
  // The gateway trusts a key the CLI generates in before(): the suite starts with another trusted key, replaced below.
  const bootstrap = generateKeyPair();
  const suite = gatewaySuite({
    nodes: 2,
    config: { firmware: { verifyPollIntervalMs: 100, signing: { required: true, trustedKeys: [{ id: 'boot', publicKey: bootstrap.publicKeyBase64 }] } } },
    sim: { labels: { fleet: 'cli17' } },
  });
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const run = (...args: string[]) => spore(args, env, dir);

  before(async () => {
    await waitFor(() => suite.sim.ips.every((ip) => suite.gw.gateway.registry.getByIp(ip)?.labels.fleet), 'nodes discovered');
    dir = await mkdtemp(join(tmpdir(), 'spore-cli17-'));
    env = { SPORE_GATEWAY: suite.gw.url };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('generates a key pair, signs an image, uploads it with its .sig; rolls out, retries and rolls back', async () => {
    const gen = await run('keys', 'generate', '-out', 'release', '-json');
    assert.equal(gen.code, 0, gen.stderr);
    const keys = JSON.parse(gen.stdout);
    assert.equal((await stat(join(dir, 'release.key'))).mode & 0o777, 0o600, 'the private key is private');
    assert.match(await readFile(join(dir, 'release.pub'), 'utf8'), /BEGIN PUBLIC KEY/);
    assert.equal((await run('keys', 'generate', '-out', 'release')).code, 2, 'never overwrites a key');
    // Trust it (the gateway's signing policy, as a restart with the new configuration would set it).
    suite.gw.gateway.signing.update({ required: true, trustedKeys: [{ id: 'release', publicKey: keys.publicKeyBase64 }], revokedKeys: [] });

    const v1 = join(dir, 'app-1.5.0.bin');
    const v2 = join(dir, 'app-2.0.0.bin');
    await writeFile(v1, makeFirmwareImage({ version: '1.5.0', size: 16 * 1024, seed: 1 }));
    await writeFile(v2, makeFirmwareImage({ version: '2.0.0', size: 16 * 1024, seed: 2 }));
    const unsigned = await run('firmware', 'upload', v1);
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /requires signed images/);
    for (const f of [v1, v2]) {
      const signed = await run('firmware', 'sign', f, '-key', 'release.key');
      assert.equal(signed.code, 0, signed.stderr);
      assert.match(signed.stdout, /\.sig/);
    }
    const up = await run('firmware', 'upload', v1, '-name', 'app');
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /signed by release/);
    assert.match((await run('firmware', 'list')).stdout, /signed:release/);
    assert.equal((await run('firmware', 'sign', v1, '-key', 'nope.key')).code, 2);

    assert.equal((await run('ota', 'all', v1, '-name', 'app', '-labels', 'fleet=cli17', '-batch', '2', '-boot-timeout', '10')).code, 0);
    const all = await run('ota', 'all', v2, '-name', 'app', '-labels', 'fleet=cli17', '-batch', '2', '-boot-timeout', '10', '-json');
    assert.equal(all.code, 0, all.stderr);
    const rolled = JSON.parse(all.stdout);
    assert.equal(rolled.status, 'succeeded');

    const retry = await run('rollout', 'retry', rolled.id);
    assert.equal(retry.code, 1, 'nothing failed: the gateway says so');
    assert.match(retry.stderr, /no failed node/);
    const back = await run('rollout', 'rollback', rolled.id, '-json');
    assert.equal(back.code, 0, back.stderr);
    const rollback = JSON.parse(back.stdout);
    assert.equal(rollback.kind, 'rollback');
    await waitFor(async () => (await http(`${suite.gw.url}/api/rollouts/${rollback.id}`)).body.status === 'succeeded', 'rollback done', 30_000);
    assert.deepEqual(suite.sim.cluster.nodes.map((n) => n.version), ['1.5.0', '1.5.0']);
  });

  it('-at, -window, -dynamic and -auto-rollback reach the rollout; bad values exit 2 naming the option', async () => {
    const at = await run('ota', 'all', join(dir, 'app-2.0.0.bin'), '-name', 'app', '-labels', 'fleet=cli17', '-at', '2099-01-01T00:00:00Z', '-window', 'sat,sun 02:00-05:00 Europe/Berlin', '-dynamic', '-dynamic-hours', '2', '-auto-rollback', '-no-wait', '-json');
    assert.equal(at.code, 0, at.stderr);
    const plan = JSON.parse(at.stdout);
    assert.equal(plan.status, 'scheduled');
    assert.equal(plan.startAt, '2099-01-01T00:00:00.000Z');
    assert.deepEqual(plan.window, { days: ['sat', 'sun'], from: '02:00', to: '05:00', timezone: 'Europe/Berlin' });
    assert.equal(plan.dynamic, true);
    assert.equal(plan.autoRollback, true);
    const status = await run('rollout', 'status', plan.id);
    assert.match(status.stdout, /window sat,sun 02:00-05:00 Europe\/Berlin/);
    assert.match(status.stdout, /waiting for its start/);
    assert.equal((await run('rollout', 'cancel', plan.id)).code, 0);
    const badWindow = await run('ota', 'all', 'x.bin', '-window', 'weekends 2-5');
    assert.equal(badWindow.code, 2);
    assert.match(badWindow.stderr, /-window: expected days from-to \[timezone\]/);
    const badAt = await run('ota', 'all', 'x.bin', '-at', 'tomorrow');
    assert.equal(badAt.code, 2);
    assert.match(badAt.stderr, /-at: expected an RFC3339 date-time/);
  });
});
