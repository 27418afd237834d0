import { z } from 'zod';
import type { ChannelValue } from '../types.js';
import { defineTransform, DROP, toNumber } from './transform.js';

export interface DeadbandParam {
  /** Emit only when the value moved at least this much from the last emitted one. */
  delta: number;
  /** …or when this long passed since the last emitted value, ms (0 = never). */
  maxSilenceMs: number;
}

const deadbandObject = z
  .object({
    delta: z.number({ error: 'deadband.delta must be a number' }).finite().min(0),
    maxSilenceMs: z.number().int().min(0).default(0),
  })
  .strict();

/**
 * `{ deadband: 0.5 }` or `{ deadband: { delta: 0.5, maxSilenceMs: 60000 } }`: emit a value only on
 * a change of at least `delta` since the last emitted one, or after `maxSilenceMs` of silence, so a
 * slow signal still shows it is alive. Non-numeric values are emitted whenever they change.
 */
export const deadbandTransform = defineTransform<DeadbandParam>({
  name: 'deadband',
  schema: z.union([z.number().finite().min(0).transform((delta) => ({ delta, maxSilenceMs: 0 })), deadbandObject], {
    error: 'deadband needs a number (the delta) or { delta, maxSilenceMs }',
  }),
  create: ({ delta, maxSilenceMs }) => {
    let last: ChannelValue | undefined;
    let lastAt = 0;
    return {
      apply: (value, tsMs) => {
        const silentLongEnough = maxSilenceMs > 0 && tsMs - lastAt >= maxSilenceMs;
        let changed: boolean;
        if (last === undefined) changed = true;
        else if (typeof value === 'string' || typeof last === 'string') changed = value !== last;
        else changed = Math.abs(toNumber(value, 'deadband') - toNumber(last, 'deadband')) >= delta;
        if (!changed && !silentLongEnough) return DROP;
        last = value;
        lastAt = tsMs;
        return value;
      },
      invert: (value) => value,
    };
  },
});
