import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnTs } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';

/**
 * A shutdown that does not finish in time ends the process with code 1 — and says so, on stderr
 * and in the log, with what it was still waiting for (a silent exit 1 under load, issue 14's
 * benchmark, was this watchdog).
 */
describe('shutdown watchdog', () => {
  it('exits 1 naming the step it was stuck in, on stderr and in the log', async () => {
    const proc = spawnTs('test/cli/helpers/stuck-shutdown-main.ts', []);
    await waitFor(() => proc.stdout().includes('READY'), 'the process to start', 30_000);
    proc.child.kill('SIGTERM');
    const code = await proc.exited;
    assert.equal(code, 1);
    assert.match(proc.stderr(), /^spore-gateway: shutdown did not finish within 0\.3 s \(still stopping: pipeline \(connector ua\)\); exiting with code 1\n$/);
    const logged = proc
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; step?: string });
    assert.ok(logged.some((l) => l.level === 50 && l.step === 'pipeline (connector ua)' && /did not finish/.test(l.msg)), JSON.stringify(logged));
  });
});
