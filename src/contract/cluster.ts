import type { ClusterMember } from '../protocol/types.js';

/** What `cluster/update` carries (CONTRACT §5). */
export interface ClusterSnapshot {
  members: ClusterMember[];
  primaryNode: string | null;
  totalNodes: number;
}
