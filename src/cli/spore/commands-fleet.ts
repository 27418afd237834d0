import mqtt from 'mqtt';
import { isValidBrokerUrl, redactUrl } from '../../mqtt/connection.js';
import { CliFailure, UsageError } from './cli-options.js';
import { type Command, sleep } from './command-context.js';
import { table } from './output.js';

/** Retained messages follow the SUBACK at once: the answer is complete once they pause this long, ms. */
const SETTLE_MS = 400;
/** And at most this long in all, ms (a broker holding thousands of retained node states). */
const MAX_WAIT_MS = 5000;

interface NodeState {
  hostname: string;
  ip?: string;
  status?: string;
  version?: string;
}

interface GatewayView {
  gatewayId: string;
  availability: 'online' | 'offline' | 'unknown';
  primaryNode: string | null;
  totalNodes: number;
  active: number;
  inactive: number;
  dead: number;
  /** Firmware version → number of nodes. */
  versions: Record<string, number>;
  nodes: NodeState[];
}

/**
 * `spore -mqtt mqtt://broker fleet nodes`: every gateway exporting to that broker, from the
 * retained cluster state (docs/mqtt.md): `spore/<gateway>/status` (availability, the last will
 * when a gateway vanished), `spore/<gateway>/cluster` (counts), `spore/<gateway>/nodes/+/state`
 * (each node's version). Reads only; no gateway is contacted.
 */
export const fleetNodes: Command = async (ctx) => {
  const url = (ctx.flags.get('mqtt') as string | undefined) ?? ctx.env.SPORE_MQTT;
  if (!url) throw new UsageError('"spore fleet nodes" reads the gateways\' retained state from a broker: give -mqtt mqtt://host[:1883] (or $SPORE_MQTT)');
  if (!isValidBrokerUrl(url)) throw new UsageError(`-mqtt ${JSON.stringify(url)}: expected mqtt://, mqtts://, tcp://, tls://, ws:// or wss:// with a host`);
  const root = 'spore';
  let client;
  try {
    client = await mqtt.connectAsync(url, {
      reconnectPeriod: 0,
      connectTimeout: 5000,
      clean: true,
      clientId: `spore-cli-${Math.random().toString(16).slice(2, 10)}`,
      ...(ctx.env.MQTT_USER ? { username: ctx.env.MQTT_USER } : {}),
      ...(ctx.env.MQTT_PASSWORD ? { password: ctx.env.MQTT_PASSWORD } : {}),
    });
  } catch (err) {
    throw new CliFailure(`cannot connect to ${redactUrl(url)}: ${(err as Error).message}`);
  }
  const gateways = new Map<string, { availability?: string; cluster?: Record<string, unknown>; nodes: Map<string, NodeState> }>();
  const gatewayOf = (id: string) => {
    let g = gateways.get(id);
    if (!g) gateways.set(id, (g = { nodes: new Map() }));
    return g;
  };
  let lastMessageAt = Date.now();
  client.on('message', (topic, payload) => {
    lastMessageAt = Date.now();
    const levels = topic.split('/');
    if (levels[0] !== root || levels.length < 3) return;
    const g = gatewayOf(levels[1]!);
    const text = payload.toString();
    try {
      if (levels.length === 3 && levels[2] === 'status') g.availability = text;
      else if (levels.length === 3 && levels[2] === 'cluster' && text) g.cluster = JSON.parse(text) as Record<string, unknown>;
      else if (levels.length === 5 && levels[2] === 'nodes' && levels[4] === 'state') {
        if (text === '') g.nodes.delete(levels[3]!); // cleared: the node left
        else g.nodes.set(levels[3]!, JSON.parse(text) as NodeState);
      }
    } catch {
      // not a gateway's JSON: someone else's topic under spore/; ignored
    }
  });
  try {
    await client.subscribeAsync([`${root}/+/status`, `${root}/+/cluster`, `${root}/+/nodes/+/state`], { qos: 0 });
    const started = Date.now();
    lastMessageAt = started;
    while (Date.now() - lastMessageAt < SETTLE_MS && Date.now() - started < MAX_WAIT_MS) await sleep(50, ctx.signal);
  } finally {
    await client.endAsync(true);
  }
  const views: GatewayView[] = [...gateways]
    .filter(([, g]) => g.availability !== undefined || g.cluster !== undefined || g.nodes.size > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([gatewayId, g]) => {
      const nodes = [...g.nodes.values()].sort((a, b) => a.hostname.localeCompare(b.hostname));
      const count = (status: string) => (typeof g.cluster?.[status] === 'number' ? (g.cluster[status] as number) : nodes.filter((n) => n.status === status.toUpperCase()).length);
      const versions: Record<string, number> = {};
      for (const n of nodes) versions[n.version ?? 'unknown'] = (versions[n.version ?? 'unknown'] ?? 0) + 1;
      return {
        gatewayId,
        availability: g.availability === 'online' || g.availability === 'offline' ? g.availability : 'unknown',
        primaryNode: typeof g.cluster?.primaryNode === 'string' ? g.cluster.primaryNode : null,
        totalNodes: typeof g.cluster?.totalNodes === 'number' ? g.cluster.totalNodes : nodes.length,
        active: count('active'),
        inactive: count('inactive'),
        dead: count('dead'),
        versions,
        nodes,
      };
    });
  if (ctx.out.mode === 'json') {
    ctx.out.json({ broker: redactUrl(url), gateways: views });
    return 0;
  }
  if (views.length === 0) {
    ctx.out.line(`no gateway publishes its cluster under ${root}/ on ${redactUrl(url)}`);
    return 0;
  }
  const rows = views.map((v) => [
    v.gatewayId,
    v.availability,
    String(v.totalNodes),
    String(v.active),
    String(v.inactive),
    String(v.dead),
    Object.entries(v.versions).map(([ver, n]) => `${ver}×${n}`).join(', '),
  ]);
  ctx.out.line(table(['GATEWAY', 'STATUS', 'NODES', 'ACTIVE', 'INACTIVE', 'DEAD', 'VERSIONS'], rows));
  return 0;
};
