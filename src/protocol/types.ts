/** Shapes of the SPORE node HTTP API (CONTRACT §3, seed 002). */

export type NodeHealth = 'ACTIVE' | 'INACTIVE' | 'DEAD';
export const NODE_HEALTH_VALUES: readonly NodeHealth[] = ['ACTIVE', 'INACTIVE', 'DEAD'];

export interface ApiEndpoint {
  uri: string;
  method: string;
  /** Optional parameter descriptions some firmware publishes. */
  params?: Array<{ name: string; location?: string; type?: string; required?: boolean; values?: unknown[] }>;
}

/** `GET /api/node/status`. */
export interface NodeStatusResponse {
  freeHeap: number;
  chipId: number;
  sdkVersion: string;
  cpuFreqMHz: number;
  flashChipSize: number;
  api: ApiEndpoint[];
  labels?: Record<string, string>;
  uptime?: number;
  version?: string;
  [extra: string]: unknown;
}

/** One entry of `GET /api/cluster/members`. */
export interface ClusterMember {
  hostname: string;
  ip: string;
  /** Seconds since the epoch (SPORE firmware) — passed through untouched. */
  lastSeen: number;
  latency: number;
  status: NodeHealth | string;
  resources: Record<string, unknown>;
  api: ApiEndpoint[];
  labels?: Record<string, string>;
  [extra: string]: unknown;
}

export interface ClusterMembersResponse {
  members: ClusterMember[];
}

export interface TaskInfo {
  name: string;
  interval: number;
  enabled: boolean;
  running: boolean;
  autoStart: boolean;
}

/** `GET /api/tasks/status`. */
export interface TasksStatusResponse {
  summary: { totalTasks: number; activeTasks: number };
  tasks: TaskInfo[];
  system: { freeHeap: number; uptime: number };
}

export const TASK_ACTIONS = ['enable', 'disable', 'start', 'stop', 'status'] as const;
export type TaskAction = (typeof TASK_ACTIONS)[number];

export const PROXY_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type ProxyMethod = (typeof PROXY_METHODS)[number];
