import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeFirmwareImage } from '../../emulator/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { startSim, type TestSim } from '../helpers/sim.js';

const MAIN = resolve('src/cli/spore-main.ts');
const TSX = import.meta.resolve('tsx');
const ADMIN_KEY = 'spore-admin-key-0123456789';

function spore(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], { env: { ...process.env, SPORE_API_KEY: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('spore against a gateway with API keys (docs/security.md)', () => {
  let gw: TestGateway;
  let sim: TestSim;
  let dir: string;

  before(async () => {
    gw = await startTestGateway({
      auth: { apiKeys: [{ name: 'ops', key: ADMIN_KEY, scope: 'admin' }], protectReads: true },
      firmware: { verifyPollIntervalMs: 100 },
    });
    sim = await startSim(gw, 1);
    await waitFor(() => gw.gateway.registry.getByIp(sim.ips[0]!), 'node discovered');
    dir = await mkdtemp(join(tmpdir(), 'spore-cli-auth-'));
  });
  after(async () => {
    await sim?.stop();
    await gw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('says how to give the key when it is missing, and works with -api-key or SPORE_API_KEY', async () => {
    const env = { SPORE_GATEWAY: gw.url };
    const denied = await spore(['firmware', 'list'], env);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /401.*give the key with -api-key or SPORE_API_KEY/);
    const byFlag = await spore(['firmware', 'list', '--api-key', ADMIN_KEY, '--json'], env);
    assert.equal(byFlag.code, 0, byFlag.stderr);
    assert.deepEqual(JSON.parse(byFlag.stdout), []);
    // The WebSocket (firmware/upload progress and verdict) carries the key too.
    const file = join(dir, 'fw.bin');
    await writeFile(file, makeFirmwareImage({ version: '2.0.0', size: 20 * 1024 }));
    const update = await spore(['ota', 'update', sim.ips[0]!, file], { ...env, SPORE_API_KEY: ADMIN_KEY });
    assert.equal(update.code, 0, update.stderr);
    assert.match(update.stdout, /verified/);
  });
});
