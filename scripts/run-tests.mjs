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
const child = spawn(
  process.execPath,
  [
    '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${timeoutMs}`, '--test-force-exit',
    `--test-reporter=${reporter}`, '--test-reporter-destination=stdout', ...files,
  ],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
