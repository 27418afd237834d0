/**
 * Issue 16 §3: V8's JIT compilers are held off while the gateway loads and starts
 * (src/cli/startup-compilers.ts), and are on again once it has started.
 * The child processes run the built module (`npm run build` first) with `--allow-natives-syntax`.
 * That way they can ask V8 how a function is compiled (%GetOptimizationStatus).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../../dist/src/cli/startup-compilers.js', import.meta.url));

/** V8's OptimizationStatus bits (src/runtime/runtime.h). */
const TURBOFANNED = 1 << 6;
const BASELINE = 1 << 15;

// A hot function is run until V8 has compiled it, or up to a bound. Then the compilers are
// switched on, and a second one is run the same way. Each call yields now and then, so that a
// concurrent compile can finish. Without the deferral, or if V8 ignored the flags once running,
// `first` would be compiled, or `second` would not be.
const CHILD = `
const m = await import(${JSON.stringify(MODULE)});
const status = (f) => %GetOptimizationStatus(f);
const heat = async (f) => {
  for (let i = 0; i < 20000 && !(status(f) & ${TURBOFANNED}); i++) {
    f(200);
    if (i % 500 === 0) await new Promise((r) => setImmediate(r));
  }
  return status(f);
};
function first(n) { let s = 0; for (let i = 0; i < n; i++) s += (i * 7) % 13; return s; }
function second(n) { let s = 0; for (let i = 0; i < n; i++) s += (i * 7) % 13; return s; }
const deferredAtStart = m.compilersDeferred();
const before = await heat(first);
m.enableCompilers();
const after = await heat(second);
console.log(JSON.stringify({ deferredAtStart, before, after, deferredAfter: m.compilersDeferred() }));
`;

function run(nodeArgs: string[]): Promise<{ deferredAtStart: boolean; before: number; after: number; deferredAfter: boolean }> {
  return new Promise((done, fail) => {
    execFile(process.execPath, ['--allow-natives-syntax', ...nodeArgs, '--input-type=module', '-e', CHILD], { timeout: 60_000 }, (err, stdout, stderr) =>
      err ? fail(new Error(`${err.message}\n${stderr}`)) : done(JSON.parse(stdout.trim().split('\n').pop()!)),
    );
  });
}

describe('V8 compilers held off during start-up (issue 16 §3)', { concurrency: true }, () => {
  it('with the module loaded, hot code stays interpreted; after enableCompilers() it is baseline-compiled and optimized', async () => {
    assert.ok(existsSync(MODULE), 'dist/ is missing: run `npm run build` first');
    const r = await run([]);
    assert.equal(r.deferredAtStart, true);
    assert.equal(r.before & (TURBOFANNED | BASELINE), 0, `held off: status ${r.before.toString(2)}`);
    assert.ok(r.after & TURBOFANNED, `optimized once switched on: status ${r.after.toString(2)}`);
    assert.equal(r.deferredAfter, false);
  });

  it("an operator's own tier flag (--no-opt) is kept: nothing is switched", async () => {
    const r = await run(['--no-opt']);
    assert.equal(r.deferredAtStart, false);
    assert.equal(r.after & TURBOFANNED, 0, `--no-opt still holds: status ${r.after.toString(2)}`);
  });

  it('gateway-main imports only the deferral statically and loads the gateway with import(); gateway-cli switches the compilers on after start', () => {
    const main = readFileSync('src/cli/gateway-main.ts', 'utf8');
    const staticImports = [...main.matchAll(/^import\s[^;]*?['"]([^'"]+)['"]/gm)].map((m) => m[1]);
    assert.deepEqual(staticImports, ['./startup-compilers.js']);
    assert.match(main, /await import\('\.\/gateway-cli\.js'\)/);
    const cli = readFileSync('src/cli/gateway-cli.ts', 'utf8');
    assert.match(cli, /await startGateway\([^)]*\)\)\) return 2;\n\s*enableCompilers\(\);/);
  });
});
