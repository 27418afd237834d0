import { z } from 'zod';
import { timestamp } from './common.js';

export type ComponentState = 'up' | 'down' | 'disabled';

/** One part of the gateway: its state and whatever details it reports. */
export const ComponentHealth = z.looseObject({ status: z.enum(['up', 'down', 'disabled']) });
export type ComponentHealth = z.infer<typeof ComponentHealth>;

/** CONTRACT §4 `GET /api/health`. */
export const HealthReport = z.object({
  status: z.enum(['healthy', 'degraded', 'unhealthy']),
  timestamp: timestamp('When the report was made'),
  components: z
    .record(z.string(), ComponentHealth)
    .describe('One entry per part: http, udp, nodes, websocket, firmware, mqtt, config, and each pipeline connector and sink.'),
});
export type HealthReport = z.infer<typeof HealthReport>;
