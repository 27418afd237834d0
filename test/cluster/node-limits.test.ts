import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { limitApi, limitLabels, limitMembers } from '../../src/cluster/node-limits.js';

describe('limitMembers: equal API lists and labels are capped once and shared (issue 19)', () => {
  const api = [
    { uri: '/api/node/status', method: 'GET' },
    { uri: '/api/led', method: 'POST', params: [{ name: 'color', location: 'body', type: 'string', required: false }] },
  ];
  const member = (i: number, extra: Record<string, unknown> = {}) => ({ hostname: `esp-${i}`, ip: `10.9.0.${i}`, latency: i, resources: { freeHeap: 30_000 + i }, api: JSON.parse(JSON.stringify(api)), labels: { room: 'lab' }, ...extra });

  it('gives the same members as capping each one alone, sharing one API list and labels object', () => {
    const bad = [null, { uri: 'no-slash', method: 'GET' }, ...api];
    const input = [member(1), member(2), member(3, { api: bad, labels: { room: 'lab', n: 7 } }), member(4), member(5)];
    const dropped = { count: 0 };
    const out = limitMembers(JSON.parse(JSON.stringify(input)), dropped);
    assert.equal(out.length, 5);
    const alone = { count: 0 };
    for (const [i, m] of out.entries()) {
      assert.deepEqual(m.api, limitApi(input[i]!.api, alone), `member ${i + 1}: api as capped alone`);
      assert.deepEqual(m.labels, limitLabels(input[i]!.labels, alone), `member ${i + 1}: labels as capped alone`);
    }
    assert.equal(dropped.count, alone.count, 'the same drops counted (member 3: a null and a bad uri)');
    assert.equal(dropped.count, 2);
    assert.equal(out[1]!.api, out[0]!.api, 'member 2 shares member 1\'s capped API list');
    assert.equal(out[1]!.labels, out[0]!.labels);
    assert.notEqual(out[2]!.labels, out[0]!.labels, 'other labels: capped on their own');
    assert.deepEqual(out[2]!.labels, { room: 'lab', n: '7' });
    assert.equal(out[4]!.api, out[3]!.api);
  });
});
