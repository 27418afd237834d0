import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { http, spawnTs } from '../helpers/gateway-harness.js';
import { freePort, freeUdpPort, waitFor } from '../helpers/net.js';
import { parseFlags, FlagError } from '../../src/cli/parse-flags.js';
import { GATEWAY_FLAGS, flagsToConfig } from '../../src/cli/gateway-flags.js';

const MAIN = 'src/cli/gateway-main.ts';

describe('spore-gateway command line (CONTRACT §1)', () => {
  it('accepts -x v, --x v, --x=v and -x=v alike', () => {
    for (const argv of [['-port', '3005'], ['--port', '3005'], ['--port=3005'], ['-port=3005']]) {
      const { values } = parseFlags(argv, GATEWAY_FLAGS);
      assert.deepEqual(flagsToConfig(values), { http: { port: 3005 } }, argv.join(' '));
    }
    const { values } = parseFlags(['-udp-port', '4999', '-log-level', 'debug', '-node-port', '8080', '-data-dir', '/tmp/x', '-mqtt', 'tcp://h:1883'], GATEWAY_FLAGS);
    assert.deepEqual(flagsToConfig(values), {
      udp: { port: 4999 },
      log: { level: 'debug' },
      nodes: { port: 8080 },
      dataDir: '/tmp/x',
      mqtt: { url: 'tcp://h:1883' },
    });
  });

  it('names the option and the accepted values on bad input', () => {
    const cases: Array<[string[], RegExp]> = [
      [['-port', 'abc'], /-port.*integer 0-65535/],
      [['-port', '70000'], /-port/],
      [['-log-level', 'loud'], /-log-level.*debug \| info \| warn \| error/],
      [['-mqtt', 'http://x'], /-mqtt.*tcp:\/\//],
      [['-nope'], /unknown option -nope/],
      [['-port'], /-port needs a value/],
    ];
    for (const [argv, pattern] of cases) {
      assert.throws(() => parseFlags(argv, GATEWAY_FLAGS), (err: unknown) => err instanceof FlagError && pattern.test(err.message), argv.join(' '));
    }
  });

  it('exits non-zero with one line naming -port for `-port abc`', async () => {
    const p = spawnTs(MAIN, ['-port', 'abc']);
    const code = await p.exited;
    assert.notEqual(code, 0);
    const lines = p.stderr().trim().split('\n').filter((l) => !l.includes('ExperimentalWarning'));
    assert.equal(lines.length, 1, p.stderr());
    assert.match(lines[0]!, /-port/);
    assert.doesNotMatch(p.stderr(), /\n\s+at /, 'no stack trace');
  });

  it('reports every config-file problem at once with its path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-cli-'));
    try {
      const file = join(dir, 'gw.yaml');
      await writeFile(file, 'http:\n  port: -1\nnodes:\n  activeThresholdMs: "soon"\nlog:\n  level: loud\nbogus: 1\n');
      const p = spawnTs(MAIN, ['-config', file]);
      assert.equal(await p.exited, 2);
      const err = p.stderr();
      assert.match(err, /http\.port/);
      assert.match(err, /nodes\.activeThresholdMs/);
      assert.match(err, /log\.level.*debug/);
      assert.match(err, /bogus/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves /api/health and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const udpPort = await freeUdpPort();
    const dir = await mkdtemp(join(tmpdir(), 'spore-cli-'));
    const p = spawnTs(MAIN, ['-port', String(port), '--udp-port', String(udpPort), '-log-level', 'warn', `--data-dir=${dir}`]);
    try {
      const health = await waitFor(async () => {
        const res = await http(`http://127.0.0.1:${port}/api/health`);
        return res.status === 200 ? res : undefined;
      }, 'gateway health', 20_000);
      assert.equal(health.body.status, 'degraded', 'no ACTIVE node yet → degraded');
      assert.equal(health.body.components.http.status, 'up');
      assert.equal(health.body.components.udp.status, 'up');
      assert.match(health.body.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.equal(await p.kill('SIGTERM'), 0);
    } finally {
      await p.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the installed binaries (npm ci builds them; README quick start)', () => {
  const npx = (args: string[]) => {
    // Its own process group: npx does not pass signals on to the program it runs.
    const child = spawn('npx', ['--no-install', ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const stop = async (): Promise<void> => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      await exited;
    };
    return { child, exited, stderr: () => err, stop };
  };

  it('`npx spore-gateway -port abc` exits non-zero with one line naming -port', async () => {
    const p = npx(['spore-gateway', '-port', 'abc']);
    assert.notEqual(await p.exited, 0);
    const ours = p.stderr().split('\n').filter((l) => l.startsWith('spore-gateway:'));
    assert.equal(ours.length, 1, p.stderr());
    assert.match(ours[0]!, /-port.*integer/);
  });

  it('`npx spore-gateway -port <n> -udp-port <n> -log-level warn` serves /api/health', async () => {
    const port = await freePort();
    const udpPort = await freeUdpPort();
    const dir = await mkdtemp(join(tmpdir(), 'spore-npx-'));
    const p = npx(['spore-gateway', '-port', String(port), '-udp-port', String(udpPort), '-log-level', 'warn', '-data-dir', dir]);
    try {
      const health = await waitFor(async () => {
        const res = await http(`http://127.0.0.1:${port}/api/health`);
        return res.status === 200 ? res : undefined;
      }, 'health from the built binary', 30_000);
      assert.equal(health.body.components.udp.port, udpPort);
    } finally {
      await p.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
