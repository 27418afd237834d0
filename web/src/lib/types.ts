/** Shapes the UI reads from the gateway (CONTRACT §4–5, issues 3, 4 and 6). */

export type NodeStatus = 'ACTIVE' | 'INACTIVE' | 'DEAD';

export interface ApiEndpoint {
  uri: string;
  method: string;
  params?: Array<{ name: string; location?: string; type?: string; required?: boolean; values?: unknown[] }>;
}

/** `GET /api/discovery/nodes` entries. */
export interface DiscoveryNode {
  ip: string;
  port: number;
  hostname: string;
  status: NodeStatus;
  discoveredAt: string;
  lastSeen: string;
  isPrimary: boolean;
  labels?: Record<string, string>;
}

export interface DiscoveryNodesResponse {
  primaryNode: string | null;
  totalNodes: number;
  clientInitialized: boolean;
  clientBaseUrl: string | null;
  nodes: DiscoveryNode[];
}

/** `cluster/update` members (a node's `/api/cluster/members` entries, CONTRACT §3). */
export interface ClusterMember {
  hostname: string;
  ip: string;
  lastSeen: number; // epoch seconds
  latency: number;
  status: string;
  resources?: Record<string, unknown>;
  api?: ApiEndpoint[];
  labels?: Record<string, string>;
}

export interface TasksStatus {
  summary: { totalTasks: number; activeTasks: number };
  tasks: Array<{ name: string; interval: number; enabled: boolean; running: boolean; autoStart: boolean }>;
  system: { freeHeap: number; uptime: number };
}

export interface FirmwareRecord {
  id: string;
  name: string;
  version: string;
  size: number;
  sha256: string;
  labels: Record<string, string> | null;
  createdAt: string;
}

export type RolloutStatus = 'pending' | 'running' | 'paused' | 'succeeded' | 'failed' | 'cancelled';
export type RolloutNodeState = 'pending' | 'uploading' | 'rebooting' | 'verifying' | 'succeeded' | 'failed' | 'skipped';

export interface RolloutNode {
  ip: string;
  hostname: string;
  state: RolloutNodeState;
  progress: number;
  error: string | null;
}

export interface Rollout {
  id: string;
  status: RolloutStatus;
  firmware: { id: string; name: string; version: string; size?: number; sha256?: string };
  nodes: RolloutNode[];
  startedAt: string | null;
  finishedAt: string | null;
  createdAt?: string;
  batchSize?: number;
  maxFailures?: number;
  error?: string | null;
  dryRun?: boolean;
  batches?: string[][];
}

export interface Device {
  id: string;
  connector: string;
  connectorType: string;
  connectorState: 'connected' | 'connecting' | 'error' | 'stopped' | string;
  /** The device's own state where the protocol has one (Z-Wave: alive, dead, asleep, awake). */
  state?: string;
  /** `status`: a bad status from the source (OPC UA), the value is then null. */
  channels: Array<{ name: string; value: unknown; ts: string | null; writable: boolean; status?: string }>;
  lastRecord: { ts: string; seq: number } | null;
}

export interface PipelineStats {
  connectors: Array<{ id: string; type: string; state: string; polls: number; errors: number; reconnects: number; lastError: string | null }>;
  sinks: Array<{ id: string; type: string; queued: number; sent: number; dropped: number; oldestQueuedAgeMs: number | null }>;
}
