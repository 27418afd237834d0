import { z } from 'zod';
import { defineTransform, toNumber, wantNumber } from './transform.js';

/** `{ offset: -40 }`: add (raw 60 → 20). Inverted on writes by subtracting. */
export const offsetTransform = defineTransform({
  name: 'offset',
  schema: z.number({ error: 'offset must be a number' }).finite(),
  create: (delta: number) => ({
    apply: (value) => toNumber(value, 'offset') + delta,
    invert: (value) => wantNumber(value, 'offset') - delta,
  }),
});
