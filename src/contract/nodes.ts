import { z } from 'zod';
import { ipv4, labels, nodeHealth, timestamp } from './common.js';

/** CONTRACT §4 `GET /api/discovery/nodes` (also JSON-RPC `cluster.nodes`). */
export const NodesView = z.object({
  primaryNode: ipv4('The primary node.').nullable(),
  totalNodes: z.int(),
  clientInitialized: z.boolean().describe('Whether a primary node is chosen.'),
  clientBaseUrl: z.string().nullable().describe('http://<primary ip>, or null.'),
  nodes: z.array(
    z.object({
      ip: ipv4('The node address.'),
      port: z.int(),
      hostname: z.string(),
      status: nodeHealth,
      discoveredAt: timestamp('First heartbeat'),
      lastSeen: timestamp('Last heartbeat'),
      isPrimary: z.boolean(),
      labels,
    }),
  ),
});
export type NodesView = z.infer<typeof NodesView>;
export type DiscoveryNode = NodesView['nodes'][number];
