import { z } from 'zod';
import { defineTransform, toNumber, wantNumber } from './transform.js';

/** `{ round: 1 }`: round to this many decimals (0 = integer). Writes pass the wanted value through. */
export const roundTransform = defineTransform({
  name: 'round',
  schema: z.number({ error: 'round must be a number of decimals' }).int('round must be a whole number of decimals').min(0).max(12),
  create: (decimals: number) => {
    const factor = 10 ** decimals;
    return {
      // Number(toFixed) avoids 1.005 → 1.00 style surprises of Math.round(x * f) / f.
      apply: (value) => {
        const n = toNumber(value, 'round');
        return decimals === 0 ? Math.round(n) : Math.round(Number((n * factor).toFixed(6))) / factor;
      },
      invert: (value) => wantNumber(value, 'round'),
    };
  },
});
