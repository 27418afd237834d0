#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [substring-filter ...]
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = findTests('test')
  .map((f) => relative('.', f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Two cores on CI machines: two files at a time keeps socket-heavy tests honest.
const concurrency = process.env.SPORE_TEST_CONCURRENCY ?? '2';
// No test may hang the run: each test file fails after this long (ms), and a test file's
// process exits when its tests are done even if something it started is still open.
const timeoutMs = process.env.SPORE_TEST_TIMEOUT_MS ?? '300000';
const reporter = process.env.SPORE_TEST_REPORTER ?? 'spec';

// Files that spend most of their time waiting on purpose (a 60 s link cut, a 10 s broker outage,
// scheduled windows, namespaces' links down) run one at a time in a lane of their own, beside the
// others: on two cores their waits would otherwise hold one of the two places for minutes.
const WAITING_FILES = [
  'test/mqtt/osgate-bridge.test.ts',
  'test/cluster/real-lan.test.ts',
  'test/mqtt/multi-site.test.ts',
  'test/pipeline/outage.test.ts',
  'test/pipeline/fieldbus-outage.test.ts',
  'test/config/remote-failures.test.ts',
  'test/firmware/rollout-window.test.ts',
  'test/mqtt/mosquitto-bridge.test.ts',
];
// The longest of the rest start first, so that no long file is left alone at the end.
const LONG_FILES = [
  'test/cli/spore-cli.test.ts',
  'test/pipeline/zwave-connector.test.ts',
  'test/web/operations-ui.test.ts',
  'test/web/connector-tools-ui.test.ts',
  'test/pipeline/opcua-connector.test.ts',
  'test/packaging/npm-pack.test.ts',
  'test/cli/gateway-cli.test.ts',
  'test/packaging/image-layout.test.ts',
  'test/cli/spore-cli-fleet-ota.test.ts',
  'test/pipeline/mqtt-qos1-kill.test.ts',
];
const lanes = process.env.SPORE_TEST_LANES !== '1' && filters.length === 0;
const waiting = lanes ? files.filter((f) => WAITING_FILES.includes(f)) : [];
const rest = files.filter((f) => !waiting.includes(f));
rest.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
function rank(file) {
  const i = LONG_FILES.indexOf(file);
  return i === -1 ? LONG_FILES.length : i;
}

function runLane(laneFiles, laneConcurrency) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import', 'tsx', '--test', `--test-concurrency=${laneConcurrency}`, `--test-timeout=${timeoutMs}`, '--test-force-exit',
        `--test-reporter=${reporter}`, '--test-reporter-destination=stdout', ...laneFiles,
      ],
      { stdio: 'inherit' },
    );
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const codes = await Promise.all([runLane(rest, concurrency), ...(waiting.length > 0 ? [runLane(waiting, '1')] : [])]);
process.exit(codes.find((c) => c !== 0) ?? 0);
