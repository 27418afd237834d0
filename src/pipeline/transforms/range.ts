import { boundsSchema } from './bounds-schema.js';
import { boundsText, defineTransform, DROP, toNumber, TransformInversionError, wantNumber, type Bounds } from './transform.js';

/** `{ range: { min: -40, max: 125 } }`: drop values outside the bounds (a sensor's error codes). */
export const rangeTransform = defineTransform({
  name: 'range',
  schema: boundsSchema('range'),
  create: (b: Bounds) => ({
    apply: (value) => {
      const n = toNumber(value, 'range');
      if ((b.min !== undefined && n < b.min) || (b.max !== undefined && n > b.max)) return DROP;
      return value;
    },
    invert: (value) => {
      const n = wantNumber(value, 'range');
      if ((b.min !== undefined && n < b.min) || (b.max !== undefined && n > b.max)) {
        throw new TransformInversionError(`${n} is outside the channel's range ${boundsText(b)}`);
      }
      return value;
    },
  }),
});
