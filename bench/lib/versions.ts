/**
 * Every tool version a benchmark result depends on, recorded in its JSON (issue 16 §1): Node.js,
 * the gateway's commit, the libraries on the measured paths, and the system peers.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function tryRun(cmd: string, args: string[], pick: RegExp): string | undefined {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    return pick.exec(out)?.[1];
  } catch (err) {
    // `mosquitto -h` exits 3 after printing its version.
    const e = err as { stdout?: string; stderr?: string };
    return pick.exec(`${e.stdout ?? ''}${e.stderr ?? ''}`)?.[1];
  }
}

function pkgVersion(name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join('node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** Libraries on the measured paths and the load generators. */
const PACKAGES = ['fastify', 'ws', 'mqtt', 'aedes', 'better-sqlite3', 'autocannon', 'playwright-core', 'node-opcua-client', 'preact', 'tsx'];

let cached: Record<string, string> | undefined;

export function toolVersions(): Record<string, string> {
  if (cached) return cached;
  const v: Record<string, string> = { node: process.version };
  const commit = tryRun('git', ['rev-parse', '--short', 'HEAD'], /^(\w+)/);
  if (commit) v['gateway commit'] = commit;
  const dirty = tryRun('git', ['status', '--porcelain', '--untracked-files=no'], /^([\s\S]+)$/);
  if (commit && dirty) v['gateway commit'] += ' (with uncommitted changes)';
  const mosquitto = tryRun('mosquitto', ['-h'], /mosquitto version (\S+)/);
  if (mosquitto) v.mosquitto = mosquitto;
  const chromium = tryRun('/usr/bin/chromium', ['--version'], /Chromium (\S+)/);
  if (chromium) v.chromium = chromium;
  const kernel = tryRun('uname', ['-r'], /^(\S+)/);
  if (kernel) v['linux kernel'] = kernel;
  for (const name of PACKAGES) {
    const ver = pkgVersion(name);
    if (ver) v[name] = ver;
  }
  cached = v;
  return v;
}
