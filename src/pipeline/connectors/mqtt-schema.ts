/** The `mqtt` connector's configuration. Schema only (config-schema.ts imports it); the implementation, mqtt.ts, is loaded with import() when one is configured (issue 16 §3). */
import { z } from 'zod';
import { channelPathsSchema, jsonPathSchema } from '../channel-paths.js';
import { hasWildcard, mqttConnectionShape, NO_WILDCARD_IN_PUBLISH_TOPIC, qosSchema, topicFilterSchema } from '../../mqtt/connection.js';
import { topicFilterProblem } from '../../mqtt/topic-filter.js';
import { isValidName, NAME_RULE, nameSchema } from '../names.js';
import { ALWAYS } from '../schema-util.js';
import { templateProblem } from '../topic-template.js';

const subscriptionSchema = z
  .object({
    /** Topic filter, with + and # wildcards. */
    topic: topicFilterSchema,
    qos: qosSchema.default(1),
    /** Device name; `{n}` is the topic's n-th level (0-based): "sensors/+/reading" with "{1}". */
    device: z.string({ error: 'device is required: a name, or a template such as "{1}" (topic level 1)' }).min(1),
    /** JSON payloads (default), or plain text whose whole content is the value ("$"). */
    payload: z.enum(['json', 'text']).default('json'),
    channels: channelPathsSchema,
    /** Optional JSON path of the reading's timestamp (RFC3339, or epoch s/ms); default: arrival time. */
    ts: jsonPathSchema.optional(),
    /** Writes: POST /api/devices/{id}/write publishes here; {device} and {channel} are filled in. */
    write: z
      .object({
        topic: z.string().min(1).refine((t) => !hasWildcard(t), NO_WILDCARD_IN_PUBLISH_TOPIC),
        qos: qosSchema.default(1),
        retain: z.boolean().default(false),
        /** "value": the bare value as text; "json": {"<channel>": value}. */
        format: z.enum(['value', 'json']).default('value'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    // ALWAYS: fields may be invalid here (reported by their own schemas); check only valid ones.
    if (typeof s.device === 'string' && s.device.length > 0) {
      const problem = typeof s.topic === 'string' && !topicFilterProblem(s.topic) ? templateProblem(s.device, s.topic) : undefined;
      if (problem) ctx.addIssue({ code: 'custom', path: ['device'], message: problem });
      const literal = s.device.replace(/\{\d+\}/g, 'x');
      if (!isValidName(literal)) ctx.addIssue({ code: 'custom', path: ['device'], message: `device must be ${NAME_RULE}, with {n} topic-level captures` });
    }
    if (s.payload === 'text' && s.channels && typeof s.channels === 'object') {
      for (const [name, def] of Object.entries(s.channels)) {
        const path = typeof def === 'string' ? def : (def as { path?: unknown })?.path;
        if (path !== '$') ctx.addIssue({ code: 'custom', path: ['channels', name], message: 'with payload "text" the whole payload is the value: use "$"' });
      }
    }
  }, ALWAYS);

export const mqttConnectorSchema = z
  .object({
    id: nameSchema('connector id'),
    type: z.literal('mqtt'),
    ...mqttConnectionShape,
    /**
     * false (default): a persistent session, so the broker keeps QoS 1 messages for the gateway
     * while it restarts; true: a clean session.
     */
    cleanSession: z.boolean().default(false),
    subscribe: z.array(subscriptionSchema).min(1, 'an mqtt connector needs at least one subscription'),
  })
  .strict();

export type MqttConnectorConfig = z.infer<typeof mqttConnectorSchema>;
