import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnGateway } from './helpers/gateway.js';

/**
 * The helper the pipeline tests spawn the gateway binary with (issue 11 §8): a gateway that
 * exits before it answers fails the test at once, with the exit code and the gateway's own
 * words, rather than with a "timed out" after the whole wait.
 */
describe('a spawned gateway that exits early fails its test with its output', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'spore-i11-early-exit-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reports the exit and the configuration problem, not a timeout', async () => {
    await assert.rejects(spawnGateway({ pipeline: { connectors: [{ id: 'x', type: 'no-such-connector' }] } }, dataDir), (err: Error) => {
      assert.match(err.message, /the gateway exited \(code 2, signal null\) before it answered/);
      assert.match(err.message, /no-such-connector/, 'the gateway\'s own message is in the failure');
      assert.doesNotMatch(err.message, /did not answer .* within/);
      return true;
    });
  });
});
