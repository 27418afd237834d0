import { boundsSchema } from './bounds-schema.js';
import { boundsText, defineTransform, toNumber, TransformInversionError, wantNumber, type Bounds } from './transform.js';

/** `{ clamp: { min: 0, max: 100 } }`: limit to the bounds. A write outside them is refused (not invertible there). */
export const clampTransform = defineTransform({
  name: 'clamp',
  schema: boundsSchema('clamp'),
  create: (b: Bounds) => ({
    apply: (value) => {
      let n = toNumber(value, 'clamp');
      if (b.min !== undefined && n < b.min) n = b.min;
      if (b.max !== undefined && n > b.max) n = b.max;
      return n;
    },
    invert: (value) => {
      const n = wantNumber(value, 'clamp');
      if ((b.min !== undefined && n < b.min) || (b.max !== undefined && n > b.max)) {
        throw new TransformInversionError(`${n} is outside the channel's clamp ${boundsText(b)}`);
      }
      return n;
    },
  }),
});
