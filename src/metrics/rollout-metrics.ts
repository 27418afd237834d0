import type { RolloutService } from '../firmware/rollout-service.js';
import { ACTIVE_ROLLOUT_STATUSES, NODE_STATES, ROLLOUT_STATUSES } from '../firmware/rollout-types.js';
import type { GatewayMetrics } from './gateway-metrics.js';

/** Rollouts by status, and the nodes of active rollouts by state. */
export function registerRolloutMetrics(metrics: GatewayMetrics, rollouts: RolloutService): void {
  // Read from the store only while the store is open (between start and stop).
  const safeList = () => {
    try {
      return rollouts.list();
    } catch {
      return [];
    }
  };
  metrics.gauge(
    'spore_rollouts',
    'Rollouts by status',
    () => {
      const counts = new Map<string, number>(ROLLOUT_STATUSES.map((s) => [s, 0]));
      for (const r of safeList()) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      return [...counts].map(([status, value]) => ({ labels: { status }, value }));
    },
    ['status'],
  );
  metrics.gauge(
    'spore_rollout_nodes',
    'Nodes of pending, running and paused rollouts by state',
    () => {
      const counts = new Map<string, number>(NODE_STATES.map((s) => [s, 0]));
      for (const r of safeList()) {
        if (!ACTIVE_ROLLOUT_STATUSES.includes(r.status)) continue;
        for (const n of r.nodes) counts.set(n.state, (counts.get(n.state) ?? 0) + 1);
      }
      return [...counts].map(([state, value]) => ({ labels: { state }, value }));
    },
    ['state'],
  );
}
