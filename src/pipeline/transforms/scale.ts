import { z } from 'zod';
import { defineTransform, toNumber, wantNumber } from './transform.js';

/** `{ scale: 0.1 }`: multiply (raw 215 → 21.5). Inverted on writes by dividing. */
export const scaleTransform = defineTransform({
  name: 'scale',
  schema: z.number({ error: 'scale must be a number' }).finite().refine((n) => n !== 0, 'scale must not be 0 (it would erase the value)'),
  create: (factor: number) => ({
    apply: (value) => toNumber(value, 'scale') * factor,
    invert: (value) => wantNumber(value, 'scale') / factor,
  }),
});
