/** The `http` connector's configuration. Schema only (config-schema.ts imports it); the implementation, http.ts, is loaded with import() when one is configured (issue 16 §3). */
import { z } from 'zod';
import { channelPathsSchema, jsonPathSchema } from '../channel-paths.js';
import { nameSchema } from '../names.js';

export const httpConnectorSchema = z
  .object({
    id: nameSchema('connector id'),
    type: z.literal('http'),
    url: z.string({ error: 'url is required (http:// or https://)' }).regex(/^https?:\/\/[^\s/]+/, 'url must be http:// or https:// with a host'),
    method: z.enum(['GET', 'POST']).default('GET'),
    headers: z.record(z.string(), z.string()).default({}),
    /** Request body for POST. */
    body: z.string().optional(),
    /** ms between the starts of two polls. */
    pollMs: z.number().int().min(100).default(60_000),
    /** ms to wait for the answer. */
    timeoutMs: z.number().int().min(100).default(5000),
    device: nameSchema('device id'),
    channels: channelPathsSchema,
    /** Optional JSON path of the reading's timestamp (RFC3339, or epoch s/ms). */
    ts: jsonPathSchema.optional(),
  })
  .strict();

export type HttpConnectorConfig = z.infer<typeof httpConnectorSchema>;
