import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { measurePolling, MEMBERS_ROUTE, STATUS_ROUTE } from '../../bench/lib/polling-run.js';
import { trackChild } from '../helpers/gateway-harness.js';

/**
 * The gentle-polling benchmark's measuring code (bench/lib/polling-run.ts) in a quick form
 * (issue 19 acceptance: "the polling benchmark passes in CI"): the built gateway process and 100
 * nodes of a `spore-sim` process that counts the HTTP requests its nodes receive. Counts only, no
 * timings: every node's status is read when it appears, then in steady state only the member list
 * and the primary's health check reach the nodes. Under the old rule (every ACTIVE node every
 * statusPollIntervalMs) the window would see every node read again.
 */
describe('gentle polling benchmark, quick form (issue 19)', () => {
  it('100 nodes: status read on appearance only; steady state ≤ 10 requests/s to nodes', async () => {
    const nodes = 100;
    const r = await measurePolling({
      nodes,
      // Short intervals so the steady state comes in seconds: a node read on appearance is due
      // again after statusPollIntervalMs under the old rule; the window starts after that.
      config: { nodes: { statusPollIntervalMs: 2000, membersRefreshIntervalMs: 500 } },
      settleSec: 2.5,
      windowSec: 2.5,
      baseIp: `127.${180 + (process.pid % 20)}.0.1`,
      startTimeoutMs: 60_000,
      track: trackChild,
    });
    assert.equal(r.registered, nodes, JSON.stringify(r));
    assert.ok(r.statusBeforeWindow >= nodes, `every node read on appearance: ${JSON.stringify(r)}`);
    assert.ok((r.requests[MEMBERS_ROUTE] ?? 0) >= 1, `the member list is read in steady state: ${JSON.stringify(r.requests)}`);
    // A stall of the loaded machine can make a node look resumed (a wanted read): a few, never all.
    assert.ok(r.statusAtOthers <= nodes / 10, `status reads of non-primary nodes in steady state: ${r.statusAtOthers} (${JSON.stringify(r.requests)})`);
    assert.ok(r.nodesReadMoreThanOnce <= nodes / 10, `nodes read more than once: ${r.nodesReadMoreThanOnce}`);
    assert.ok(r.requestsPerSec <= 10, `requests/s to nodes in steady state: ${r.requestsPerSec} (${JSON.stringify(r.requests)}, ${STATUS_ROUTE} at the primary: ${r.statusAtPrimary})`);
  });
});
