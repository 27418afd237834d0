import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { http, trackChild, watchChild } from '../helpers/gateway-harness.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { freePort, freeUdpPort, waitFor } from '../helpers/net.js';

const GATEWAY = fileURLToPath(new URL('../../dist/src/cli/gateway-main.js', import.meta.url));
const START_LINE = /SPORE gateway on (http:\/\/[^\s/]+\/)/;
const WAIT = 60_000; // ms: generous — a CI machine at load 20 takes tens of seconds to start three gateways at once

/** The URLs of the start-up lines, once the gateway has printed `count` of them. */
async function startUrls(gw: GatewayProcess, count = 1): Promise<string[]> {
  return waitFor(() => {
    const urls = gw.stdout().split('\n').map((l) => START_LINE.exec(l)?.[1]).filter((u): u is string => u !== undefined);
    return urls.length >= count ? urls : null;
  }, 'the start-up line', WAIT);
}

/** The gateway's IPv4 addresses the start-up lines must name when it binds 0.0.0.0: loopback first. */
function ownIpv4(): string[] {
  const all = Object.values(networkInterfaces()).flat().filter((a) => a?.family === 'IPv4');
  return [...new Set([...all.filter((a) => a!.internal), ...all.filter((a) => !a!.internal)].map((a) => a!.address))];
}

/** Issue 12 §16 against the real gateway binary: where to point a browser, and readable or JSON logs. */
describe('gateway start-up output: the address line, pretty or JSON logs (issue 12 §16)', { concurrency: true }, () => {
  it('piped stdout: JSON lines, with a start line whose URL answers; -log-format pretty: readable lines; -bind 0.0.0.0: every IPv4 address', async () => {
    assert.ok(existsSync(GATEWAY), 'dist/ is missing: run `npm run build` first');
    const [json, pretty, everywhere] = await Promise.all([
      startGatewayProcess({ fromDist: true }),
      startGatewayProcess({ fromDist: true, args: ['-log-format', 'pretty'] }),
      startGatewayProcess({ fromDist: true, args: ['-bind', '0.0.0.0'] }),
    ]);
    try {
      const [jsonUrl] = await startUrls(json);
      assert.equal(jsonUrl, `http://127.0.0.1:${json.httpPort}/`);
      const page = await http(jsonUrl!);
      assert.equal(page.status, 200, 'the URL of the start line answers GET (the web UI)');
      const lines = json.stdout().trim().split('\n');
      assert.ok(lines.length >= 3, json.stdout());
      for (const line of lines) JSON.parse(line); // every line is one JSON object
      assert.ok(lines.some((l) => JSON.parse(l).msg === `SPORE gateway on ${jsonUrl}`));

      const [prettyUrl] = await startUrls(pretty);
      assert.equal((await http(prettyUrl!)).status, 200);
      const readable = pretty.stdout().trim().split('\n');
      for (const line of readable) assert.throws(() => JSON.parse(line), `not JSON: ${line}`);
      assert.ok(
        readable.some((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: SPORE gateway on http:\/\/127\.0\.0\.1:\d+\/( |$)/.test(l)),
        `a readable line with time and level: ${pretty.stdout()}`,
      );
      assert.doesNotMatch(pretty.stdout(), /\x1b\[/, 'no colours when stdout is not a terminal');

      const expected = ownIpv4().map((a) => `http://${a}:${everywhere.httpPort}/`);
      const urls = await startUrls(everywhere, expected.length);
      assert.deepEqual(urls, expected, 'one line per IPv4 address of the machine, loopback first');
      assert.equal((await http(urls[0]!)).status, 200);
    } finally {
      await Promise.all([json.stop(), pretty.stop(), everywhere.stop()]);
    }
  });

  it('on a terminal (script(1) gives it a pty) the logs are human-readable by default', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'spore-i12-tty-'));
    const port = await freePort();
    const command = [process.execPath, GATEWAY, '-port', String(port), '-udp-port', String(await freeUdpPort()), '-bind', '127.0.0.1', '-data-dir', dataDir].map((a) => `'${a}'`).join(' ');
    // detached: script and the gateway under it form one process group, stopped together below.
    const child = spawn('script', ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const proc = watchChild(child);
    trackChild(child);
    try {
      await waitFor(() => START_LINE.test(proc.stdout()) || child.exitCode !== null, 'the start-up line on the terminal', WAIT);
      const out = proc.stdout().replace(/\x1b\[[0-9;]*m/g, ''); // colours: it is a terminal
      assert.match(out, /\[\d\d:\d\d:\d\d\.\d{3}\] INFO: SPORE gateway on http:\/\/127\.0\.0\.1:\d+\//, out);
      assert.doesNotMatch(out, /^\{"level"/m, 'no JSON lines on a terminal');
      assert.equal((await http(`http://127.0.0.1:${port}/api/health`)).status, 200);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
      await proc.exited;
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a bad -log-format: one line naming the option and the accepted values, exit 2; a bad log.format: its path and the accepted values', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-i12-logfmt-'));
    try {
      const file = join(dir, 'gateway.json');
      await writeFile(file, JSON.stringify({ log: { format: 'fancy' } }));
      const runs = await Promise.all(
        [['-log-format', 'fancy'], ['-config', file]].map(async (args) => {
          const p = watchChild(spawn(process.execPath, [GATEWAY, '-data-dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
          return { code: await p.exited, stderr: p.stderr(), stdout: p.stdout() };
        }),
      );
      for (const run of runs) {
        assert.equal(run.code, 2, run.stderr);
        assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      }
      assert.equal(runs[0]!.stderr.trim().split('\n').length, 1, runs[0]!.stderr);
      assert.match(runs[0]!.stderr, /option -log-format: expected json \| pretty \| auto/);
      // A configuration file: every problem on its own line, with its path (the one config schema).
      assert.match(runs[1]!.stderr, /^\s+log\.format: "fancy" is not accepted \(accepted: auto, json, pretty\)$/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
