import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { configFromEnv } from '../../src/config/env-overrides.js';
import { configSchema } from '../../src/config/schema.js';
import { http } from '../helpers/gateway-harness.js';
import { freePort, freeUdpPort, waitFor } from '../helpers/net.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  steps: Instruction[];
}

/** The Dockerfile's stages and instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line)!;
    const op = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, ' ');
    if (op === 'FROM') {
      const f = /^(\S+)(?: AS (\S+))?$/i.exec(args)!;
      stages.push({ name: f[2] ?? String(stages.length), from: f[1]!, steps: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.steps.push({ op, args });
    }
  }
  return stages;
}

const step = (stage: Stage, op: string): Instruction[] => stage.steps.filter((s) => s.op === op);
/** `KEY=value KEY2=value` of ENV instructions. */
function envOf(stage: Stage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of step(stage, 'ENV')) for (const m of s.args.matchAll(/(\w+)=(\S+)/g)) out[m[1]!] = m[2]!;
  return out;
}

/**
 * Issue 18 §1: the container image, where no container engine is available. The image's
 * /app is made by the very script its build stage runs (scripts/stage-runtime.mjs: `npm ci
 * --omit=dev` + dist/), and the gateway is started from that copy the way the runtime stage
 * says: its ENTRYPOINT, its ENV, as a non-root user, its HEALTHCHECK, its STOPSIGNAL.
 */
describe('container image: Dockerfile, its runtime layout, compose.yaml', () => {
  let dir = '';
  let app = '';
  const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const build = dockerfile.find((s) => s.name === 'build')!;
  const runtime = dockerfile.at(-1)!;

  before(async () => {
    assert.ok(existsSync(join(ROOT, 'dist/src/cli/gateway-main.js')), 'dist/ is missing: run `npm run build` first');
    dir = await mkdtemp(join(tmpdir(), 'spore-image-'));
    await chmod(dir, 0o755); // the image's user (not root) reads /app
    app = join(dir, 'app');
    const stage = step(build, 'RUN').find((r) => r.args.includes('stage-runtime'))!;
    assert.ok(stage, 'the build stage makes /app with scripts/stage-runtime.mjs');
    assert.equal(stage.args, 'node scripts/stage-runtime.mjs /app');
    await run(process.execPath, ['scripts/stage-runtime.mjs', app], { cwd: ROOT, maxBuffer: 64 << 20 });
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is multi-stage: builds with dev dependencies, runs with the production layout only, as a non-root user', () => {
    assert.ok(dockerfile.length >= 2, 'at least a build and a runtime stage');
    assert.ok(step(build, 'RUN').some((r) => /^npm ci$/.test(r.args)), 'the build stage installs everything (npm ci, with prepare = build)');
    assert.equal(runtime.from, dockerfile[0]!.from, 'the same Node base, so the addon compiled in the build stage loads');
    const copies = step(runtime, 'COPY');
    assert.deepEqual(copies.map((c) => c.args), ['--from=build /app /app'], 'the runtime stage copies the staged /app and nothing else');
    assert.equal(step(runtime, 'RUN').some((r) => /\bnpm\b/.test(r.args)), false, 'no npm in the runtime stage');
    const user = step(runtime, 'USER').at(-1)?.args;
    assert.ok(user && user !== 'root' && user !== '0', `runs as a non-root user (USER ${user})`);
    assert.deepEqual(JSON.parse(step(runtime, 'VOLUME')[0]!.args), ['/data']);
    assert.equal(envOf(runtime).SPORE_DATA_DIR, '/data', 'the state goes to the volume');
    assert.equal(step(runtime, 'STOPSIGNAL')[0]?.args, 'SIGTERM');
    const entry = JSON.parse(step(runtime, 'ENTRYPOINT')[0]!.args) as string[];
    assert.equal(entry[0], 'node', 'node itself is PID 1 (exec form), not npm/npx/sh');
    assert.match(step(runtime, 'HEALTHCHECK')[0]!.args, /CMD \["node", "\/app\/dist\/src\/cli\/healthcheck-main\.js"\]/);
  });

  it('the staged /app holds production dependencies and dist/ only', async () => {
    const top = (await readdir(app)).sort();
    assert.deepEqual(top, ['README.md', 'dist', 'node_modules', 'package-lock.json', 'package.json']);
    const modules = new Set(await readdir(join(app, 'node_modules')));
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies)) assert.ok(modules.has(dep.split('/')[0]!), `${dep} is there`);
    for (const dev of ['typescript', 'tsx', 'vite', 'playwright-core', 'esbuild']) assert.ok(!modules.has(dev), `${dev} (dev) is not`);
    const lock = JSON.parse(await readFile(join(app, 'node_modules/.package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    assert.equal(Object.values(lock.packages).filter((p) => p.dev).length, 0, 'no package marked dev in what npm installed');
    assert.ok(existsSync(join(app, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node')), 'the native SQLite addon is in place');
    assert.ok(existsSync(join(app, 'dist/web/index.html')), 'the web UI');
  });

  it('starts from the layout as the image does: ENTRYPOINT, ENV, non-root, HEALTHCHECK healthy, SIGTERM stops it cleanly', async () => {
    const nobody = 65534;
    const data = join(dir, 'data');
    await mkdir(data);
    await chown(data, nobody, nobody); // the image's RUN chown of /data
    const port = await freePort();
    const udpPort = await freeUdpPort();
    const inImage = (p: string) => p.replace(/^\/app(?=\/|$)/, app);
    const env = {
      PATH: process.env.PATH,
      ...envOf(runtime),
      SPORE_DATA_DIR: data, // the /data volume
      SPORE_HTTP_PORT: String(port),
      SPORE_UDP_PORT: String(udpPort),
      SPORE_LOG_LEVEL: 'warn',
    };
    const entry = (JSON.parse(step(runtime, 'ENTRYPOINT')[0]!.args) as string[]).map(inImage);
    const health = (JSON.parse(/CMD (\[.*\])/.exec(step(runtime, 'HEALTHCHECK')[0]!.args)![1]!) as string[]).map(inImage);
    const healthcheck = () =>
      run(health[0] === 'node' ? process.execPath : health[0]!, health.slice(1), { env, uid: nobody, gid: nobody }).then(
        () => 0,
        (e: { code: number }) => e.code,
      );
    assert.equal(await healthcheck(), 1, 'the healthcheck fails while no gateway answers');

    const cwd = inImage(step(runtime, 'WORKDIR').at(-1)!.args);
    const child = spawn(entry[0] === 'node' ? process.execPath : entry[0]!, entry.slice(1), { cwd, env, uid: nobody, gid: nobody, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    try {
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`the gateway exited: ${out}`);
        return (await http(`http://127.0.0.1:${port}/api/health`).catch(() => undefined))?.status === 200;
      }, 'the gateway from the image layout', 20_000);
      assert.equal(await healthcheck(), 0, 'HEALTHCHECK passes once it runs');
      // The process signalled is node itself (what Docker signals as PID 1).
      assert.match(await readFile(`/proc/${child.pid}/cmdline`, 'utf8'), /node\0.*gateway-main\.js/);
    } finally {
      child.kill(step(runtime, 'STOPSIGNAL')[0]!.args as NodeJS.Signals);
    }
    assert.deepEqual(await exited, { code: 0, signal: null }, `a clean exit on SIGTERM: ${out}`);
    const written = await readdir(data);
    assert.ok(written.length > 0, 'state written to the volume');
    assert.equal((await stat(join(data, written[0]!))).uid, nobody, 'by the non-root user');
  });

  it('compose.yaml: the gateway on host networking next to a Mosquitto, its settings valid SPORE_* variables', () => {
    const compose = parseYaml(readFileSync(join(ROOT, 'compose.yaml'), 'utf8')) as {
      services: Record<string, { image?: string; build?: unknown; network_mode?: string; environment?: Record<string, string>; volumes?: string[]; ports?: string[] }>;
    };
    const gw = compose.services.gateway!;
    assert.equal(gw.build, '.', 'built from this Dockerfile');
    assert.equal(gw.network_mode, 'host', 'UDP broadcast discovery needs the LAN: host networking');
    assert.ok(gw.volumes?.some((v) => v.endsWith(':/data')), 'the data volume');
    const broker = compose.services.mosquitto!;
    assert.match(broker.image ?? '', /^eclipse-mosquitto:/);
    assert.ok(broker.ports?.includes('127.0.0.1:1883:1883'), 'the broker is reachable from the host network');
    assert.equal(gw.environment?.SPORE_MQTT_URL, 'mqtt://127.0.0.1:1883');
    // Every variable must be a real setting, and the result a valid configuration.
    const layer = configFromEnv(configSchema, { ...gw.environment });
    assert.deepEqual([...layer.sources.values()].sort(), Object.keys(gw.environment!).sort(), 'every variable names a setting');
    const config = configSchema.parse(layer.values);
    assert.equal(config.gateway.id, 'site-1');
    assert.equal(config.mqtt.url, 'mqtt://127.0.0.1:1883');
  });
});
