import type { ClusterMember } from '../protocol/types.js';
import type { NodeRecord } from './node-registry.js';

/** The gateway's registry in the shape of a node's `/api/cluster/members` entries (CONTRACT §3). */
export function recordToMember(node: NodeRecord): ClusterMember {
  return {
    hostname: node.hostname,
    ip: node.ip,
    lastSeen: Math.floor(node.lastSeen / 1000), // epoch seconds, as SPORE firmware reports it
    latency: node.latency ?? 0,
    status: node.status,
    resources: node.resources ?? {},
    api: node.api,
    labels: node.labels,
    // The firmware version the node reports (status poll or NODE_UPDATE): the UI's Version column (issue 15 §3).
    ...(node.version ? { version: node.version } : {}),
  };
}
