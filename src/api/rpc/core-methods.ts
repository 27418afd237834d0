import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ClusterManager } from '../../cluster/cluster-manager.js';
import type { NodeAccess } from '../../cluster/node-access.js';
import type { NodeRegistry } from '../../cluster/node-registry.js';
import { buildNodesView } from '../../cluster/nodes-view.js';
import type { HealthService } from '../../health.js';
import type { NodeClient, NodeResponse } from '../../node-client/node-client.js';
import { adminMethod, type JsonRpcServer } from './json-rpc.js';
import { ip, none } from './params.js';

/** The services the core methods adapt. */
export interface CoreRpcDeps {
  registry: NodeRegistry;
  cluster: ClusterManager;
  client: NodeClient;
  access: NodeAccess;
  health: HealthService;
  reload: () => Promise<unknown>;
  startedAt: number;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** A node's answer as data: JSON when it is JSON, text otherwise. */
export function nodeAnswer(res: NodeResponse): { status: number; contentType: string | null; body: unknown } {
  const text = res.body.toString('utf8');
  let body: unknown = text;
  if ((res.contentType ?? '').includes('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
  }
  return { status: res.status, contentType: res.contentType ?? null, body };
}

/** The methods over the cluster core (issue 7); other parts register theirs the same way. */
export function registerCoreRpcMethods(rpc: JsonRpcServer, deps: CoreRpcDeps): void {
  const { registry, cluster, client, access, health } = deps;
  const version = packageVersion();

  rpc.registerAll({
    'gateway.status': adminMethod('Health, version, uptime and node counts.', none, () => ({
      version,
      uptimeSec: Math.round((Date.now() - deps.startedAt) / 1000),
      primaryNode: cluster.primaryNode,
      nodes: { total: registry.size, ...registry.countByStatus() },
      health: health.report(),
    })),
    'gateway.reload': adminMethod('Re-reads the configuration (remote or file) and applies what can change without a restart.', none, () => deps.reload()),
    'cluster.nodes': adminMethod('The discovered nodes, as GET /api/discovery/nodes.', none, () => buildNodesView(registry, cluster, client)),
    'cluster.setPrimary': adminMethod(
      'Makes a node primary ({ip}) or picks a random ACTIVE one ({random: true}).',
      z.union([z.object({ ip }).strict(), z.object({ random: z.literal(true) }).strict()]),
      (p) => {
        if ('random' in p) return { primaryNode: cluster.randomPrimary() };
        cluster.setPrimary(p.ip, 'manual');
        return { primaryNode: cluster.primaryNode };
      },
    ),
    'node.status': adminMethod("A node's /api/node/status ({ip}), or the primary's.", z.object({ ip: ip.optional() }).strict(), async (p) => {
      if (p.ip !== undefined) return (await client.getStatus(access.requireNode(p.ip).ip)).status;
      return (await cluster.withPrimary((primary) => client.getStatus(primary))).result.status;
    }),
    'node.call': adminMethod(
      'A proxy call to a node capability, with the same safety rules as POST /api/proxy-call.',
      z
        .object({
          ip,
          method: z.string(),
          uri: z.string(),
          params: z.array(z.object({ name: z.string(), value: z.unknown(), location: z.enum(['query', 'body']).optional() })).optional(),
        })
        .strict(),
      async (p) => nodeAnswer(await access.proxyCall(p)),
    ),
    'node.restart': adminMethod('Reboots a node.', z.object({ ip }).strict(), async (p) => nodeAnswer(await client.restart(access.requireNode(p.ip).ip))),
  });
}
