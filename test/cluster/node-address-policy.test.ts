import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { MAX_REMEMBERED_SOURCES, NodeAddressPolicy } from '../../src/cluster/node-address-policy.js';

/** The verdict of each source is remembered (5,000 heartbeats/s at 10,000 nodes): the second answer must be the first. */
describe('node address policy (docs/security.md "UDP spoofing")', () => {
  const own = Object.values(networkInterfaces()).flat().find((a) => a && !a.internal && a.family === 'IPv4')?.address;

  it('refuses what can never be a node, the same the first and the second time', () => {
    const policy = new NodeAddressPolicy({ allowedNetworks: [], broadcastAddress: '10.9.255.255' });
    const cases: Array<[string, string | null]> = [
      ['10.1.2.3', null],
      ['127.5.0.1', null],
      ['127.0.0.1', 'loopback-host'],
      ['169.254.169.254', 'link-local'],
      ['fe80::1', 'link-local'],
      ['::1', 'not-ipv4'],
      ['10.1.2', 'not-ipv4'],
      ['0.0.0.0', 'unspecified'],
      ['224.0.0.251', 'multicast'],
      ['255.255.255.255', 'broadcast'],
      ['10.9.255.255', 'broadcast'],
      ['250.1.1.1', 'broadcast'],
    ];
    for (let round = 0; round < 2; round++) for (const [ip, want] of cases) assert.equal(policy.refusal(ip), want, `${ip} (round ${round + 1})`);
  });

  it('allowedNetworks narrows the nodes; an own interface address stays "own-address" inside and outside them', () => {
    const policy = new NodeAddressPolicy({ allowedNetworks: ['192.168.7.0/24'], broadcastAddress: '255.255.255.255' });
    for (let round = 0; round < 2; round++) {
      assert.equal(policy.refusal('192.168.7.20'), null);
      assert.equal(policy.refusal('10.1.2.3'), 'not-allowed-network');
      if (own) assert.equal(policy.refusal(own), 'own-address', own);
    }
    if (own) assert.equal(new NodeAddressPolicy({ allowedNetworks: [], broadcastAddress: '255.255.255.255' }).refusal(own), 'own-address');
  });

  it('remembers a bounded number of sources: a flood of spoofed addresses cannot grow it', () => {
    const policy = new NodeAddressPolicy({ allowedNetworks: [], broadcastAddress: '255.255.255.255' });
    for (let i = 0; i < MAX_REMEMBERED_SOURCES + 10; i++) assert.equal(policy.refusal(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`), null);
    const remembered = (policy as unknown as { verdicts: Map<string, unknown> }).verdicts.size;
    assert.ok(remembered <= MAX_REMEMBERED_SOURCES, `remembered ${remembered}`);
    assert.equal(policy.refusal('127.0.0.1'), 'loopback-host');
  });
});
