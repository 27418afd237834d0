/** The `file` sink's configuration. Schema only (config-schema.ts imports it); the implementation, file.ts, is loaded with import() when one is configured (issue 16 §3). */
import { z } from 'zod';
import { nameSchema } from '../names.js';

export const fileSinkSchema = z
  .object({
    id: nameSchema('sink id'),
    type: z.literal('file'),
    /** NDJSON file, one record per line; relative paths are under the data directory. */
    path: z.string().min(1).default('pipeline/records.ndjson'),
    /** Rotate when the file would exceed this, bytes. */
    maxBytes: z.number().int().min(1024).default(10 * 1024 * 1024),
    /** Rotated files kept (<path>.1 is the newest); older ones are deleted. */
    maxFiles: z.number().int().min(1).max(1000).default(5),
  })
  .strict();

export type FileSinkConfig = z.infer<typeof fileSinkSchema>;
