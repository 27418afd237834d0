/** The `spore` connector's configuration. Schema only (config-schema.ts imports it); the implementation, spore.ts, is loaded with import() when one is configured (issue 16 §3). */
import { z } from 'zod';
import { nameSchema } from '../names.js';
import { transformListSchema } from '../transforms/index.js';

/** Channels of a SPORE node device. */
export const SPORE_CHANNELS = ['freeHeap', 'latency', 'status'] as const;


export const sporeConnectorSchema = z
  .object({
    id: nameSchema('connector id'),
    type: z.literal('spore'),
    /** ms between two snapshots of the cluster. */
    pollMs: z.number().int().min(100).default(10_000),
    /** Prepended to each node's hostname to name its device (e.g. "node-"). */
    devicePrefix: z.string().regex(/^[A-Za-z0-9._-]{0,32}$/, 'devicePrefix must be up to 32 of letters, digits, ".", "_" or "-"').default(''),
    /** Also report DEAD nodes (their status channel says DEAD). */
    includeDead: z.boolean().default(true),
    /** Optional transforms per channel, e.g. { freeHeap: [ { deadband: 1024 } ] }. */
    channels: z
      .object(Object.fromEntries(SPORE_CHANNELS.map((c) => [c, transformListSchema.optional()])) as Record<(typeof SPORE_CHANNELS)[number], z.ZodOptional<typeof transformListSchema>>)
      .strict()
      .default({}),
  })
  .strict();

export type SporeConnectorConfig = z.infer<typeof sporeConnectorSchema>;
