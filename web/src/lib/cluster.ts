import { api, describeError } from './api';
import { every, socket } from './app-state';
import { addSample, forgetNode } from './history';
import type { NodesView } from '../../../src/contract/nodes';
import type { ApiEndpoint, ClusterMember, NodeHealth } from '../../../src/protocol/types';
import { Store } from './store';

/** One node as the Cluster page shows it: the registry's view plus the primary's member data. */
export interface NodeView {
  ip: string;
  hostname: string;
  /** The gateway's own ageing (CONTRACT §2), the authority for the status. */
  status: NodeHealth;
  labels: Record<string, string>;
  /** ms since the epoch */
  lastSeen: number | null;
  discoveredAt: number | null;
  freeHeap: number | null;
  /** ms, as the primary's member list reports it */
  latency: number | null;
  resources: Record<string, unknown> | null;
  api: ApiEndpoint[];
  version: string | null;
}

export interface ClusterState {
  nodes: Map<string, NodeView>;
  primary: string | null;
  /** The first node list has arrived. */
  loaded: boolean;
  /** The last node-list fetch failed with this message (null when it worked). */
  error: string | null;
  /** UDP port the gateway listens on, from /api/health (for the empty state's advice). */
  udpPort: number | null;
  /** Bumped when membership, a status, labels or the primary change (not on lastSeen/heap/latency). */
  structure: number;
}

/** The node list (`/api/discovery/nodes`) is re-read this often while the page is visible, ms. */
const NODES_POLL_MS = 2000;

export const cluster = new Store<ClusterState>({ nodes: new Map(), primary: null, loaded: false, error: null, udpPort: null, structure: 0 });

function emptyNode(ip: string, hostname: string, status: NodeHealth): NodeView {
  return { ip, hostname, status, labels: {}, lastSeen: null, discoveredAt: null, freeHeap: null, latency: null, resources: null, api: [], version: null };
}

let fetching: Promise<void> | null = null;
let refetchAgain = false;

/** Re-reads `/api/discovery/nodes`; concurrent calls coalesce. */
export function fetchNodes(): Promise<void> {
  if (fetching) {
    refetchAgain = true;
    return fetching;
  }
  fetching = (async () => {
    try {
      const body = await api<NodesView>('/api/discovery/nodes');
      applyNodeList(body);
    } catch (err) {
      const st = cluster.get();
      st.error = describeError(err);
      cluster.changed();
    } finally {
      fetching = null;
      if (refetchAgain) {
        refetchAgain = false;
        void fetchNodes();
      }
    }
  })();
  return fetching;
}

export function applyNodeList(body: NodesView): void {
  const st = cluster.get();
  const seen = new Set<string>();
  let structural = !st.loaded || st.primary !== body.primaryNode;
  for (const n of body.nodes) {
    seen.add(n.ip);
    let v = st.nodes.get(n.ip);
    if (!v) {
      // A node that moved: carry its member data over from the old address.
      const moved = [...st.nodes.values()].find((x) => x.hostname === n.hostname);
      v = moved ? { ...moved, ip: n.ip } : emptyNode(n.ip, n.hostname, n.status);
      if (moved) st.nodes.delete(moved.ip);
      st.nodes.set(n.ip, v);
      structural = true;
    }
    if (v.status !== n.status || v.hostname !== n.hostname) structural = true;
    if (n.labels && !sameLabels(v.labels, n.labels)) {
      v.labels = n.labels;
      structural = true;
    }
    v.hostname = n.hostname;
    v.status = n.status;
    const lastSeen = Date.parse(n.lastSeen);
    if (Number.isFinite(lastSeen)) v.lastSeen = Math.max(lastSeen, v.lastSeen ?? 0);
    const discoveredAt = Date.parse(n.discoveredAt);
    if (Number.isFinite(discoveredAt)) v.discoveredAt = discoveredAt;
  }
  for (const ip of [...st.nodes.keys()]) {
    if (!seen.has(ip)) {
      st.nodes.delete(ip);
      forgetNode(ip);
      structural = true;
    }
  }
  if (structural) st.structure++;
  st.primary = body.primaryNode;
  st.loaded = true;
  st.error = null;
  cluster.changed();
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

function applyMembers(members: ClusterMember[], now: number): boolean {
  const st = cluster.get();
  let unknown = false;
  for (const m of members) {
    const v = st.nodes.get(m.ip);
    if (!v) {
      unknown = true;
      continue;
    }
    const heap = typeof m.resources?.freeHeap === 'number' ? (m.resources.freeHeap as number) : null;
    if (heap !== null) v.freeHeap = heap;
    if (typeof m.latency === 'number') v.latency = m.latency;
    if (m.resources && Object.keys(m.resources).length) v.resources = m.resources;
    if (Array.isArray(m.api) && m.api.length) v.api = m.api;
    if (m.labels && typeof m.labels === 'object' && !sameLabels(v.labels, m.labels)) {
      v.labels = m.labels;
      cluster.get().structure++;
    }
    if (typeof m.resources?.version === 'string') v.version = m.resources.version as string;
    const reported = (m as { version?: unknown }).version;
    if (typeof reported === 'string') v.version = reported;
    if (typeof m.lastSeen === 'number' && m.lastSeen > 0) v.lastSeen = Math.max(v.lastSeen ?? 0, m.lastSeen * 1000);
    addSample(m.ip, now, { heap, latency: typeof m.latency === 'number' ? m.latency : null });
  }
  return unknown;
}

let started = false;

/** Wires the cluster store to the WebSocket and starts polling the node list. */
export function startCluster(): void {
  if (started) return;
  started = true;
  socket.onOpen(() => void fetchNodes());
  every(NODES_POLL_MS, () => void fetchNodes());
  void api<{ components?: { udp?: { port?: number } } }>('/api/health')
    .then((h) => {
      const port = h.components?.udp?.port;
      if (typeof port === 'number') {
        cluster.get().udpPort = port;
        cluster.changed();
      }
    })
    .catch(() => undefined);

  socket.on('cluster/update', (msgs) => {
    const last = msgs[msgs.length - 1]!;
    const members: ClusterMember[] = Array.isArray(last.members) ? last.members : [];
    const unknown = applyMembers(members, Date.parse(last.timestamp) || Date.now());
    const st = cluster.get();
    if ((typeof last.primaryNode === 'string' || last.primaryNode === null) && st.primary !== last.primaryNode) {
      st.primary = last.primaryNode;
      st.structure++;
    }
    if (unknown || (typeof last.totalNodes === 'number' && last.totalNodes !== st.nodes.size)) void fetchNodes();
    cluster.changed();
  });

  socket.on('node/discovery', (msgs) => {
    const st = cluster.get();
    let refetch = false;
    for (const m of msgs) {
      switch (m.action) {
        case 'discovered': {
          if (!st.nodes.has(m.nodeIp)) {
            const v = emptyNode(m.nodeIp, m.hostname, m.status);
            v.lastSeen = Date.parse(m.timestamp) || Date.now();
            v.discoveredAt = v.lastSeen;
            st.nodes.set(m.nodeIp, v);
          }
          refetch = true;
          break;
        }
        case 'status': {
          const v = st.nodes.get(m.nodeIp);
          if (v) v.status = m.status;
          else refetch = true;
          break;
        }
        case 'address': {
          const old = [...st.nodes.values()].find((x) => x.hostname === m.hostname && x.ip !== m.nodeIp);
          if (old) {
            st.nodes.delete(old.ip);
            st.nodes.set(m.nodeIp, { ...old, ip: m.nodeIp, status: m.status });
          }
          refetch = true;
          break;
        }
        case 'lost':
          st.nodes.delete(m.nodeIp);
          forgetNode(m.nodeIp);
          break;
      }
    }
    st.structure++;
    cluster.changed();
    if (refetch) void fetchNodes();
  });

  socket.on('cluster/primary', (msgs) => {
    const last = msgs[msgs.length - 1]!;
    cluster.get().primary = last.primaryNode ?? null;
    cluster.get().structure++;
    cluster.changed();
  });
}

export async function choosePrimary(ip: string): Promise<string> {
  const res = await api<{ primaryNode: string }>(`/api/discovery/primary/${encodeURIComponent(ip)}`, { method: 'POST' });
  cluster.get().primary = res.primaryNode;
  cluster.get().structure++;
  cluster.changed();
  return res.primaryNode;
}

export async function randomPrimary(): Promise<string> {
  const res = await api<{ primaryNode: string }>('/api/discovery/random-primary', { method: 'POST' });
  cluster.get().primary = res.primaryNode;
  cluster.get().structure++;
  cluster.changed();
  return res.primaryNode;
}

export async function refreshCluster(): Promise<void> {
  await api('/api/discovery/refresh', { method: 'POST' });
  await fetchNodes();
}
