import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { http } from '../helpers/gateway-harness.js';
import { freePort, freeUdpPort, randomBaseIp, waitFor } from '../helpers/net.js';
import { findBinary, skipUnlessPeer } from '../helpers/peers.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const SYSTEMD_ANALYZE = findBinary('systemd-analyze');

/** A child process with its output kept, for the binaries installed from the tarball. */
function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

/**
 * Issue 18 §1: the package as users get it. `npm pack` makes the tarball from the built
 * checkout (dist/ from `npm ci`'s prepare), it is installed into an empty directory with
 * production dependencies only, and the installed `spore-gateway` and `spore-sim` run from
 * there — a file missing from `files`, or a runtime import of a dev dependency, fails here.
 */
describe('npm pack → npm install --omit=dev → the binaries run', () => {
  let dir = '';
  let tarball = '';
  let site = '';
  let packed: string[] = [];

  before(async () => {
    assert.ok(existsSync(join(ROOT, 'dist/src/cli/gateway-main.js')), 'dist/ is missing: run `npm run build` first');
    dir = await mkdtemp(join(tmpdir(), 'spore-pack-'));
    // --ignore-scripts: prepare (the build) already ran; packing again must not rebuild.
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 64 << 20 });
    const [info] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(dir, info!.filename);
    packed = info!.files.map((f) => f.path);
    site = join(dir, 'site');
    await mkdir(site);
    await writeFile(join(site, 'package.json'), JSON.stringify({ name: 'spore-site', private: true }));
    // --ignore-scripts: better-sqlite3's install script would fetch a prebuilt binary from the
    // internet or compile for minutes; its addon, built by this checkout's `npm ci` for this
    // very Node, is copied below instead (the only package allowed to run install scripts).
    await run('npm', ['install', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: site, maxBuffer: 64 << 20 });
    const addon = join(site, 'node_modules/better-sqlite3');
    const ours = join(ROOT, 'node_modules/better-sqlite3');
    const version = async (d: string) => (JSON.parse(await readFile(join(d, 'package.json'), 'utf8')) as { version: string }).version;
    if ((await version(addon)) === (await version(ours))) {
      await mkdir(join(addon, 'build/Release'), { recursive: true });
      await cp(join(ours, 'build/Release/better_sqlite3.node'), join(addon, 'build/Release/better_sqlite3.node'));
    } else {
      await run('npm', ['rebuild', 'better-sqlite3', '--loglevel=error'], { cwd: site, maxBuffer: 64 << 20 });
    }
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('packs the compiled gateway, emulator and web UI, and no sources or tests', () => {
    for (const bin of Object.values(pkg.bin)) assert.ok(packed.includes(bin), `${bin} (a bin) is in the tarball`);
    assert.ok(packed.includes('dist/web/index.html'), 'the web UI is in the tarball');
    assert.ok(packed.includes('dist/src/cli/healthcheck-main.js'), 'the container healthcheck is in the tarball');
    assert.ok(packed.includes('package.json') && packed.includes('README.md'));
    const stray = packed.filter((p) => /^(src|test|bench|web\/src|node_modules)\//.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts')));
    assert.deepEqual(stray, [], 'no sources, tests or benchmarks are packed');
  });

  it('installs production dependencies only', async () => {
    const installed = new Set(await readdir(join(site, 'node_modules')));
    assert.ok(installed.has(pkg.name), 'the package itself');
    for (const dep of Object.keys(pkg.dependencies)) assert.ok(installed.has(dep.split('/')[0]!), `dependency ${dep} installed`);
    // Dev dependencies that nothing in production depends on must be absent.
    for (const dev of ['typescript', 'tsx', 'vite', 'playwright-core', 'autocannon', 'fast-check', 'preact']) {
      assert.ok(!installed.has(dev), `dev dependency ${dev} is not installed`);
    }
  });

  it('runs spore-gateway and spore-sim from the installed package: the nodes are discovered', async () => {
    const bin = (name: string) => join(site, 'node_modules/.bin', name);
    const port = await freePort();
    const udpPort = await freeUdpPort();
    const nodePort = await freePort();
    const data = join(dir, 'data');
    const version = start(bin('spore-gateway'), ['-version']);
    assert.equal(await version.exited, 0, version.output());
    assert.equal(version.output().trim(), `spore-gateway ${pkg.version}`);
    const gw = start(bin('spore-gateway'), ['-port', String(port), '-udp-port', String(udpPort), '-node-port', String(nodePort), '-data-dir', data, '-log-level', 'warn', '-active-threshold', '3000', '-broadcast', '127.255.255.255'], {}, site);
    const sim = start(bin('spore-sim'), ['-count', '3', '-base-ip', randomBaseIp(), '-http-port', String(nodePort), '-gateway', '127.0.0.1', '-udp-port', String(udpPort), '-heartbeat-ms', '300', '-quiet'], {}, site);
    try {
      const nodes = await waitFor(async () => {
        if (gw.child.exitCode !== null) throw new Error(`spore-gateway exited: ${gw.output()}`);
        if (sim.child.exitCode !== null) throw new Error(`spore-sim exited: ${sim.output()}`);
        const res = await http(`http://127.0.0.1:${port}/api/discovery/nodes`).catch(() => undefined);
        return res?.status === 200 && res.body.nodes.filter((n: { status: string }) => n.status === 'ACTIVE').length === 3 ? res.body : undefined;
      }, 'three ACTIVE nodes from the installed spore-sim', 30_000);
      assert.equal(nodes.totalNodes, 3);
      const ui = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(ui.status, 200, 'the packed web UI is served');
      assert.match(await ui.text(), /<html/i);
      // The `spore` CLI from the package talks to it too.
      const members = start(bin('spore'), ['-gateway', `http://127.0.0.1:${port}`, '-json', 'cluster', 'members']);
      assert.equal(await members.exited, 0, members.output());
      assert.ok(Array.isArray(JSON.parse(members.output()).members ?? JSON.parse(members.output())), members.output());
    } finally {
      sim.child.kill('SIGTERM');
      gw.child.kill('SIGTERM');
    }
    assert.equal(await gw.exited, 0, `spore-gateway stops cleanly on SIGTERM: ${gw.output()}`);
    await sim.exited;
    assert.doesNotMatch(gw.output(), /ERR_MODULE_NOT_FOUND|Cannot find (module|package)/, 'no missing module at runtime');
  });

  it('the systemd unit verifies and runs the installed binary the way it says (non-root, state directory)', async (t) => {
    const skip = skipUnlessPeer('systemd-analyze (Debian package systemd)', SYSTEMD_ANALYZE !== undefined);
    if (skip) return t.skip(skip);
    const unit = await readFile(join(ROOT, 'deploy/systemd/spore-gateway.service'), 'utf8');
    const service = sectionOf(unit, 'Service');
    assert.equal(service.get('Type')?.[0], 'simple');
    assert.equal(service.get('DynamicUser')?.[0], 'yes');
    assert.equal(service.get('StateDirectory')?.[0], 'spore-gateway');
    assert.equal(service.get('ProtectSystem')?.[0], 'strict');
    assert.equal(service.get('Restart')?.[0], 'on-failure');
    assert.deepEqual(service.get('AmbientCapabilities'), [''], 'no capability by default (every default port is above 1024)');
    assert.deepEqual(service.get('CapabilityBoundingSet'), ['']);
    const lowPort = sectionOf(await readFile(join(ROOT, 'deploy/systemd/spore-gateway-low-port.conf'), 'utf8'), 'Service');
    assert.deepEqual(lowPort.get('AmbientCapabilities'), ['CAP_NET_BIND_SERVICE'], 'the drop-in for ports below 1024 adds exactly that one');
    const execStart = service.get('ExecStart')![0]!;
    assert.match(execStart, /^\/usr\/local\/bin\/spore-gateway(\s|$)/, 'the bin itself, no npm/npx in between');

    // systemd's own checker, on the unit pointed at the binary installed above.
    const installed = join(site, 'node_modules/.bin/spore-gateway');
    const copy = join(dir, 'spore-gateway.service');
    await writeFile(copy, unit.replace(/^ExecStart=\S+/m, `ExecStart=${installed}`));
    const verify = await run(SYSTEMD_ANALYZE!, ['verify', copy]).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    assert.equal(verify.code, 0, verify.out);
    assert.equal(verify.out.trim(), '', `systemd-analyze verify has no complaint: ${verify.out}`);

    // What the unit does: a user that is not root, SPORE_DATA_DIR = the StateDirectory, SIGTERM to stop.
    const state = join(dir, 'var-lib-spore-gateway');
    await mkdir(state);
    await chmod(dir, 0o755);
    const nobody = 65534;
    await run('chown', ['-R', `${nobody}:${nobody}`, state]);
    const env: NodeJS.ProcessEnv = {};
    for (const line of service.get('Environment') ?? []) {
      const [k, ...v] = line.split('=');
      env[k!] = v.join('=');
    }
    assert.equal(env.SPORE_DATA_DIR, '/var/lib/spore-gateway', 'the data directory is the StateDirectory');
    const port = await freePort();
    const udpPort = await freeUdpPort();
    const child = spawn(installed, [], {
      uid: nobody,
      gid: nobody,
      env: { PATH: process.env.PATH, ...env, SPORE_DATA_DIR: state, SPORE_HTTP_PORT: String(port), SPORE_UDP_PORT: String(udpPort), SPORE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`the gateway exited: ${out}`);
        return (await http(`http://127.0.0.1:${port}/api/health`).catch(() => undefined))?.status === 200;
      }, 'health as the unit runs it', 20_000);
    } finally {
      child.kill(service.get('KillSignal')![0] as NodeJS.Signals);
    }
    assert.equal(await exited, 0, out);
    const written = await readdir(state);
    assert.ok(written.length > 0, 'the gateway keeps its state in the StateDirectory');
    assert.equal((await stat(join(state, written[0]!))).uid, nobody, 'written by the service user, not root');
  });
});

/** The `key=value` lines of one section of a systemd unit (repeated keys in order). */
function sectionOf(unit: string, name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || line === '') continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1]!;
      continue;
    }
    if (current !== name) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}
