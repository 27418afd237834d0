/** The `mqtt` sink's configuration. Schema only (config-schema.ts imports it); the implementation, mqtt.ts, is loaded with import() when one is configured (issue 16 §3). */
import { z } from 'zod';
import { hasWildcard, mqttConnectionShape, NO_WILDCARD_IN_PUBLISH_TOPIC, qosSchema } from '../../mqtt/connection.js';
import { nameSchema } from '../names.js';
import { durableBufferSchema } from './buffer-schema.js';

const TOPIC_VARS = ['gateway', 'device', 'connector'];

export const mqttSinkSchema = z
  .object({
    id: nameSchema('sink id'),
    type: z.literal('mqtt'),
    ...mqttConnectionShape,
    /** Topic per record; {gateway}, {device} and {connector} are filled in. */
    topic: z
      .string()
      .min(1)
      .default('telemetry/{gateway}/{device}')
      .superRefine((topic, ctx) => {
        if (hasWildcard(topic)) ctx.addIssue({ code: 'custom', message: NO_WILDCARD_IN_PUBLISH_TOPIC });
        for (const m of topic.matchAll(/\{([^}]*)\}/g)) {
          if (!TOPIC_VARS.includes(m[1]!)) ctx.addIssue({ code: 'custom', message: `unknown placeholder {${m[1]}} (accepted: ${TOPIC_VARS.map((v) => `{${v}}`).join(', ')})` });
        }
      }),
    /** 1 (default): a record leaves the buffer on PUBACK. 0: as soon as it is written to the socket (may be lost). */
    qos: qosSchema.default(1),
    retain: z.boolean().default(false),
    buffer: durableBufferSchema,
  })
  .strict();

export type MqttSinkConfig = z.infer<typeof mqttSinkSchema>;
