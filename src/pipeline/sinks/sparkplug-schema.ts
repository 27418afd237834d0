/** The `sparkplug` sink's configuration. Schema only (config-schema.ts imports it); the implementation, sparkplug.ts, is loaded with import() when one is configured (issue 16 §3). */
import { z } from 'zod';
import { mqttConnectionShape } from '../../mqtt/connection.js';
import { nameSchema } from '../names.js';
import { durableBufferSchema } from './buffer-schema.js';

/** Sparkplug ids (group, edge node, device) are UTF-8 strings without "/", "+" or "#". */
export const SPARKPLUG_ID = /^[^/+#\s]{1,64}$/;

const sparkplugId = (what: string) =>
  z.string({ error: `${what} is required` }).regex(SPARKPLUG_ID, `${what} must be 1-64 characters without "/", "+", "#" or spaces (Sparkplug ids)`);

export const sparkplugSinkSchema = z
  .object({
    id: nameSchema('sink id'),
    type: z.literal('sparkplug'),
    ...mqttConnectionShape,
    /** Sparkplug group id: `spBv1.0/<groupId>/…`. */
    groupId: sparkplugId('groupId').default('spore'),
    /** Sparkplug edge node id; defaults to the gateway id. */
    edgeNodeId: sparkplugId('edgeNodeId').optional(),
    /**
     * DDATA QoS. 0 (default) is what Sparkplug B 3.0 prescribes: a record leaves the buffer once
     * written to the socket. 1: once the broker confirms it (PUBACK), stronger than the spec asks.
     */
    qos: z.union([z.literal(0), z.literal(1)], { error: 'qos must be 0 or 1' }).default(0),
    buffer: durableBufferSchema,
  })
  .strict();

export type SparkplugSinkConfig = z.infer<typeof sparkplugSinkSchema>;
