import { z } from 'zod';

/** The durable buffer's bounds (docs/pipeline.md), shared by the `mqtt` and `sparkplug` sinks. */
export const durableBufferSchema = z
  .object({
    /** Records kept at most; beyond, the oldest are dropped (counted and logged). */
    maxMessages: z.number().int().min(1).default(1_000_000),
    /** Records older than this are dropped (counted and logged), hours. */
    maxAgeHours: z.number().positive().default(168),
    /**
     * Records published and not yet confirmed at a time. Large enough to keep a local broker
     * busy at tens of thousands of records/s; lower it to a cloud broker's limit (e.g. 100).
     */
    maxInflight: z.number().int().min(1).max(65535).default(2048),
  })
  .strict()
  .prefault({});
