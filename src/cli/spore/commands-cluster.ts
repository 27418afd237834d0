import type { ClusterMembersResponse, NodeStatusResponse } from '../../protocol/types.js';
import { type Command, type CommandContext, requireIp } from './command-context.js';
import { directClient, resolveApiNode } from './direct-node.js';
import { bytes, formatDuration, formatLatency, table } from './output.js';

/** `spore cluster members`: the primary's member list (or API_NODE's with --direct). */
export const clusterMembers: Command = async (ctx) => {
  let members: ClusterMembersResponse;
  if (ctx.direct) {
    const node = await resolveApiNode(ctx.env, ctx.cwd);
    const client = directClient(node.port ?? ctx.nodePort ?? 80);
    try {
      members = await client.getMembers(node.host);
    } finally {
      client.close();
    }
  } else {
    members = await ctx.api.get<ClusterMembersResponse>('/api/cluster/members');
  }
  if (ctx.out.mode === 'json') {
    ctx.out.json(members);
    return 0;
  }
  const rows = members.members.map((m) => [
    m.hostname,
    m.ip,
    String(m.status),
    formatLatency(m.latency),
    Object.entries(m.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
  ]);
  ctx.out.line(table(['HOSTNAME', 'IP', 'STATUS', 'LATENCY', 'LABELS'], rows));
  return 0;
};

/** `spore node status [ip]`: a node's /api/node/status (the primary's, or API_NODE's with --direct, without an ip). */
export const nodeStatus: Command = async (ctx) => {
  const ip = ctx.args[0] !== undefined ? requireIp(ctx.args[0]) : undefined;
  let status: NodeStatusResponse;
  let where: string;
  if (ctx.direct) {
    const node = await resolveApiNode(ctx.env, ctx.cwd);
    const target = ip ?? node.host;
    const client = directClient((ip ? undefined : node.port) ?? ctx.nodePort ?? 80);
    try {
      status = (await client.getStatus(target)).status;
    } finally {
      client.close();
    }
    where = `Node ${target}`;
  } else {
    status = await ctx.api.get<NodeStatusResponse>(ip ? `/api/node/status/${ip}` : '/api/node/status');
    where = ip ? `Node ${ip}` : '';
  }
  if (ctx.out.mode === 'json') {
    ctx.out.json(status);
    return 0;
  }
  ctx.out.line(where || (await primaryName(ctx)));
  for (const [key, value] of Object.entries(status)) {
    if (key === 'api') continue;
    ctx.out.line(`  ${key.padEnd(14)} ${statusValue(key, value)}`);
  }
  if (Array.isArray(status.api)) {
    ctx.out.line(`  api`);
    for (const e of status.api) ctx.out.line(`    ${String(e.method).padEnd(6)} ${e.uri}`);
  }
  return 0;
};

/** "Primary node 10.0.0.5 (spore-01)": which node answered `GET /api/node/status` (the gateway's primary). */
async function primaryName(ctx: CommandContext): Promise<string> {
  const discovery = await ctx.api
    .get<{ primaryNode: string | null; nodes: Array<{ ip: string; hostname: string }> }>('/api/discovery/nodes')
    .catch(() => null);
  const ip = discovery?.primaryNode;
  if (!ip) return 'Primary node';
  const hostname = discovery.nodes.find((n) => n.ip === ip)?.hostname;
  return `Primary node ${ip}${hostname ? ` (${hostname})` : ''}`;
}

/** Sizes in KiB/MiB, uptime as a duration, latency in ms (the units the node reports: bytes, ms, ms). */
function statusValue(key: string, value: unknown): string {
  if (typeof value === 'number') {
    if (key === 'freeHeap' || key === 'flashChipSize' || /(Size|Space|Bytes)$/.test(key)) return bytes(value);
    if (key === 'uptime') return formatDuration(value);
    if (key === 'latency') return formatLatency(value);
    if (key === 'cpuFreqMHz') return `${value} MHz`;
  }
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}
