import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeFirmwareImage } from '../../emulator/index.js';
import { http } from '../helpers/gateway-harness.js';
import { freePort, waitFor } from '../helpers/net.js';
import { gatewaySuite } from '../helpers/suites.js';

const MAIN = resolve('src/cli/spore-main.ts');
/** tsx's loader by absolute URL, so the CLI can run from any directory (a project with its .env). */
const TSX = import.meta.resolve('tsx');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `spore` CLI from source, stdout piped (so: plain lines, no bars). */
function spore(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
  return new Promise((done) => {
    const env = { ...process.env, ...opts.env };
    if (opts.env && 'API_NODE' in opts.env && opts.env.API_NODE === undefined) delete env.API_NODE;
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], { env, cwd: opts.cwd ?? process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => done({ code, stdout, stderr: stderr.split('\n').filter((l) => !l.includes('ExperimentalWarning') && !l.includes('--trace-warnings')).join('\n') }));
  });
}

describe('the spore command line, end to end against a running gateway (issue 4 §5)', () => {
  const suite = gatewaySuite({ nodes: 4, config: { firmware: { verifyPollIntervalMs: 100 } }, sim: { labels: (i) => ({ ring: i < 2 ? 'a' : 'b' }) } });
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const image = (version: string, seed = 1) => {
    const file = join(dir, `app-${version}.bin`);
    return writeFile(file, makeFirmwareImage({ version, size: 40 * 1024, seed })).then(() => file);
  };

  before(async () => {
    await waitFor(() => suite.sim.ips.every((ip) => suite.gw.gateway.registry.getByIp(ip)?.labels.ring), 'nodes discovered');
    await waitFor(async () => (await http(`${suite.gw.url}/api/cluster/members`)).status === 200, 'a primary answers');
    dir = await mkdtemp(join(tmpdir(), 'spore-cli-'));
    env = { SPORE_GATEWAY: suite.gw.url, API_NODE: undefined };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('explains usage mistakes in one line naming the option or argument and the accepted values (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['bogus'], /unknown command "bogus" \(accepted: cluster members, node status, ota update, ota all/],
      [['rollout'], /"spore rollout" needs an action: list, status, pause, resume, cancel/],
      [['ota', 'all', 'x.bin', '--batch', '0'], /invalid value "0" for option -batch: expected an integer 1-1000/],
      [['ota', 'all', 'x.bin', '--labels', 'ring'], /option -labels: expected k=v pairs separated by commas/],
      [['firmware', 'list', '--batch', '2'], /option -batch does not apply to "spore firmware list" \(accepted there: .*-gateway/],
      [['node', 'status', '1.2.3'], /<ip> "1\.2\.3" is not an IPv4 address/],
      [['ota', 'update', '10.0.0.1'], /needs <file>/],
      [['ota', 'update', '10.0.0.1', join(dir, 'missing.bin')], /<file> ".*missing\.bin": no such file/],
      [['cluster', 'members', '--gateway', 'ftp://x'], /option -gateway: expected an http:\/\/ or https:\/\/ URL/],
      [['rollout', 'list', '--status', 'done'], /option -status: expected pending, scheduled, running, paused, succeeded, failed, cancelled/],
      [['firmware', 'list', '--direct'], /needs the gateway.*drop -direct/],
      [['cluster', 'members', '--direct'], /needs API_NODE/],
    ];
    const runs = await Promise.all(cases.map(([args]) => spore(args, { env, cwd: dir })));
    runs.forEach((run, i) => {
      const [args, pattern] = cases[i]!;
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, pattern, args.join(' '));
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(run.stderr.trim().split('\n').length, 1, `one line: ${run.stderr}`);
    });
    const help = await spore(['--help'], { env });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /spore ota all <file>.*\[-labels <labels>\]/);
    const unreachable = await spore(['cluster', 'members', '--gateway', `http://127.0.0.1:${await freePort()}`]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  it('shows cluster members and node status, as text and as JSON', async () => {
    const [members, membersJson, status, statusJson] = await Promise.all([
      spore(['cluster', 'members'], { env }),
      spore(['cluster', 'members', '--json'], { env }),
      spore(['node', 'status', suite.sim.ips[1]!], { env }),
      spore(['node', 'status', '--json'], { env }),
    ]);
    assert.equal(members.code, 0, members.stderr);
    assert.match(members.stdout, /^HOSTNAME\s+IP\s+STATUS/);
    for (const h of suite.sim.hostnames) assert.match(members.stdout, new RegExp(h));
    assert.equal(JSON.parse(membersJson.stdout).members.length, 4);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`Node ${suite.sim.ips[1]!.replace(/\./g, '\\.')}`));
    assert.match(status.stdout, /chipId\s+\d+/);
    assert.equal(typeof JSON.parse(statusJson.stdout).freeHeap, 'number');
  });

  it('uploads, lists and removes firmware', async () => {
    const file = await image('3.1.0', 7);
    const up = await spore(['firmware', 'upload', file, '--labels', 'board=esp01', '--json'], { env });
    assert.equal(up.code, 0, up.stderr);
    const record = JSON.parse(up.stdout);
    assert.equal(record.name, 'app-3.1.0', 'named after the file');
    assert.equal(record.version, '3.1.0', 'version from the image marker');
    assert.deepEqual(record.labels, { board: 'esp01' });
    const list = await spore(['firmware', 'list'], { env });
    assert.match(list.stdout, /app-3\.1\.0\s+3\.1\.0\s+40\.0 KiB/);
    const dup = await spore(['firmware', 'upload', file], { env });
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /409.*already stored/);
    const rm1 = await spore(['firmware', 'rm', 'app-3.1.0@3.1.0'], { env });
    assert.equal(rm1.code, 0, rm1.stderr);
    assert.match(rm1.stdout, /Deleted app-3\.1\.0 3\.1\.0/);
    const rm2 = await spore(['firmware', 'rm', record.id], { env });
    assert.equal(rm2.code, 2);
    assert.match(rm2.stderr, /no stored firmware has that id/);
    const noMarker = join(dir, 'plain.bin');
    await writeFile(noMarker, Buffer.from([0xe9, 1, 2, 3]));
    const needsVersion = await spore(['firmware', 'upload', noMarker], { env });
    assert.equal(needsVersion.code, 2);
    assert.match(needsVersion.stderr, /carries no SPORE-VERSION marker: give its version with -version/);
  });

  it('ota update: streams to one node and exits 0 once the gateway verified its return, 1 when it did not', async () => {
    const file = await image('4.0.0');
    const ok = await spore(['ota', 'update', suite.sim.ips[0]!, file], { env });
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /is back on version 4\.0\.0: verified/);
    assert.equal(suite.sim.node(0).version, '4.0.0');
    suite.sim.failNextUpdate(1, 'old-version');
    const bad = await spore(['ota', 'update', suite.sim.ips[1]!, file, '--json'], { env });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /could not be verified: node came back on version 1\.0\.0, expected 4\.0\.0/);
    assert.equal(JSON.parse(bad.stdout).details.verification.status, 'unverified');
  });

  it('ota all: a rollout by label, followed live to the end (plain lines when piped, JSON with --json)', async () => {
    const file = await image('5.0.0');
    const run = await spore(['ota', 'all', file, '--labels', 'ring=b', '--batch', '2', '--boot-timeout', '10'], { env });
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /Stored app-5\.0\.0 5\.0\.0/);
    assert.match(run.stdout, /Rollout [0-9a-f-]+ started: app-5\.0\.0 5\.0\.0 to 2 node\(s\)/);
    assert.match(run.stdout, /Z 127\.\S+\s+spore-sim-\S+ (uploading \d+%|rebooting)\n/);
    assert.match(run.stdout, /Z 127\.\S+\s+spore-sim-\S+ succeeded\n/);
    assert.match(run.stdout, /Rollout succeeded: 2\/2 updated/);
    assert.doesNotMatch(run.stdout, /\x1b\[/, 'no terminal control sequences when piped');
    assert.equal(suite.sim.node(2).version, '5.0.0');
    assert.equal(suite.sim.node(3).version, '5.0.0');
    assert.notEqual(suite.sim.node(1).version, '5.0.0', 'ring=a untouched');

    // The same file again: reused from the store (same bytes), every node already on it.
    const again = await spore(['ota', 'all', file, '--labels', 'ring=b', '--dry-run'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Using stored firmware app-5\.0\.0 5\.0\.0/);
    assert.match(again.stdout, /skipped .* already on version 5\.0\.0/);

    suite.sim.failNextUpdate(0, 'refuse');
    const failed = await spore(['ota', 'all', 'app-5.0.0@5.0.0', '--ips', `${suite.sim.ips[0]},${suite.sim.ips[1]}`, '--json'], { env });
    assert.equal(failed.code, 1, failed.stdout);
    const result = JSON.parse(failed.stdout);
    assert.equal(result.status, 'failed');
    assert.match(failed.stderr, /rollout .* failed: 1 node failed, more than maxFailures \(0\)/);

    const list = await spore(['rollout', 'list'], { env });
    assert.match(list.stdout, /succeeded\s+app-5\.0\.0 5\.0\.0\s+2\/2 updated/);
    const status = await spore(['rollout', 'status', result.id], { env });
    assert.equal(status.code, 0);
    assert.match(status.stdout, /refused the image/);
  });

  it('rollout pause, resume and cancel', async () => {
    const file = await image('6.0.0');
    // A slow flash (40 KiB at 4 KiB/s) keeps the rollout running while the commands go in,
    // however fast the machine.
    suite.sim.cluster.settings.flashBytesPerSec = 4096;
    try {
      const started = await spore(['ota', 'all', file, '--labels', 'ring=a', '--no-wait', '--json'], { env });
      assert.equal(started.code, 0, started.stderr);
      const id = JSON.parse(started.stdout.slice(started.stdout.indexOf('{'))).id as string;
      const pause = await spore(['rollout', 'pause', id], { env });
      assert.equal(pause.code, 0, pause.stderr);
      assert.match(pause.stdout, /is paused/);
      const again = await spore(['rollout', 'pause', id], { env });
      assert.equal(again.code, 1);
      assert.match(again.stderr, /409.*only a running or scheduled rollout can be paused/);
      const resume = await spore(['rollout', 'resume', id], { env });
      assert.match(resume.stdout, /is running/);
      const cancel = await spore(['rollout', 'cancel', id, '--json'], { env });
      assert.equal(cancel.code, 0);
      assert.equal(JSON.parse(cancel.stdout).status, 'cancelled');
      const follow = await spore(['rollout', 'status', id, '--follow'], { env });
      assert.equal(follow.code, 1, 'following a cancelled rollout exits non-zero');
      assert.match(follow.stdout, /Rollout cancelled/);
    } finally {
      suite.sim.cluster.settings.flashBytesPerSec = 0;
    }
  });

  it('--direct talks to the nodes like ctl.sh, with API_NODE from a .env file', async () => {
    const project = await mkdtemp(join(dir, 'project-'));
    await writeFile(join(project, '.env'), `# SPORE\nexport API_NODE=${suite.sim.ips[3]}\nexport WIFI_SSID=x\n`);
    const nodePort = String(suite.gw.nodePort);
    const members = await spore(['cluster', 'members', '--direct', '--node-port', nodePort], { env, cwd: project });
    assert.equal(members.code, 0, members.stderr);
    for (const h of suite.sim.hostnames) assert.match(members.stdout, new RegExp(h));
    const status = await spore(['node', 'status', '--direct', '--node-port', nodePort, '--json'], { env, cwd: project });
    assert.equal(JSON.parse(status.stdout).version, suite.sim.node(3).version);
    const file = await image('7.0.0');
    const update = await spore(['ota', 'update', suite.sim.ips[2]!, file, '--direct', '--node-port', nodePort], { env, cwd: project });
    assert.equal(update.code, 0, update.stderr);
    assert.match(update.stdout, /accepted the image/);
    await waitFor(() => suite.sim.node(2).version === '7.0.0', 'node 2 rebooted into 7.0.0');
    const badEnv = await spore(['cluster', 'members', '--direct'], { env: { ...env, API_NODE: 'not-an-ip' }, cwd: project });
    assert.equal(badEnv.code, 2);
    assert.match(badEnv.stderr, /API_NODE "not-an-ip" from the environment is not a node address/);
  });
});
