import { z } from 'zod';
import type { Bounds } from './transform.js';

/** `{ min, max }` with at least one of them and min ≤ max (clamp, range). */
export function boundsSchema(name: string): z.ZodType<Bounds> {
  return z
    .object({ min: z.number().finite().optional(), max: z.number().finite().optional() }, { error: `${name} needs an object { min, max }` })
    .strict()
    .superRefine((b, ctx) => {
      if (b.min === undefined && b.max === undefined) ctx.addIssue({ code: 'custom', message: `${name} needs min, max or both` });
      else if (b.min !== undefined && b.max !== undefined && b.min > b.max) {
        ctx.addIssue({ code: 'custom', message: `${name}: min (${b.min}) must not exceed max (${b.max})`, path: ['min'] });
      }
    });
}
