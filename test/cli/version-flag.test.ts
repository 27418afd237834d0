/**
 * `-version` works on every binary (issue 12 §17), also on those where `-version` is an
 * option with a value elsewhere (`spore firmware upload -version`, `spore-sim -version`).
 * Each binary is run from source, as `npm test` has it, in parallel.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

const BINARIES: Array<[string, string]> = [
  ['spore', 'src/cli/spore-main.ts'],
  ['spore-gateway', 'src/cli/gateway-main.ts'],
  ['spore-sim', 'emulator/cli/sim-main.ts'],
  ['spore-fieldbus-sim', 'emulator/cli/fieldbus-sim-main.ts'],
  ['spore-healthcheck', 'src/cli/healthcheck-main.ts'],
  ['mqtt-broker', 'src/cli/mqtt-broker-main.ts'],
  ['mqtt-test', 'src/cli/mqtt-test-main.ts'],
  ['demo', 'src/cli/demo-main.ts'],
];
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

function run(file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(process.execPath, ['--import', 'tsx', file, ...args], { timeout: 60_000 }, (err, stdout, stderr) => done({ code: child.exitCode ?? (err ? 1 : 0), stdout, stderr }));
  });
}

describe('-version on every binary (issue 12 §17)', () => {
  it('prints "<binary> <package version>" and exits 0', async () => {
    const results = await Promise.all(BINARIES.map(async ([name, file]) => ({ name, ...(await run(file, ['-version'])) })));
    for (const r of results) {
      assert.equal(r.code, 0, `${r.name}: ${r.stderr}`);
      assert.equal(r.stdout.trim().split('\n').at(-1), `${r.name} ${VERSION}`, `${r.name} printed ${JSON.stringify(r.stdout)}`);
    }
  });
});
