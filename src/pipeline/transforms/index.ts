import { z } from 'zod';
import type { TransformSpec } from '../types.js';
import { clampTransform } from './clamp.js';
import { deadbandTransform } from './deadband.js';
import { mapTransform } from './map.js';
import { offsetTransform } from './offset.js';
import { rangeTransform } from './range.js';
import { roundTransform } from './round.js';
import { scaleTransform } from './scale.js';
import type { TransformDefinition, TransformStep } from './transform.js';

/** Every transform type by name: the key of a step object, e.g. `{ scale: 0.1 }`. */
export const TRANSFORM_TYPES: ReadonlyMap<string, TransformDefinition<any>> = new Map(
  [scaleTransform, offsetTransform, roundTransform, clampTransform, deadbandTransform, rangeTransform, mapTransform].map((t) => [t.name, t as TransformDefinition<any>]),
);

const ACCEPTED = [...TRANSFORM_TYPES.keys()].join(', ');

/** One step: an object with exactly one known key, whose value that transform's schema checks. */
const stepSchema = z
  .record(z.string(), z.unknown(), { error: `each transform is an object with one key (accepted: ${ACCEPTED}), e.g. { scale: 0.1 }` })
  .transform((step, ctx) => {
    const keys = Object.keys(step);
    if (keys.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `each transform is an object with exactly one key (accepted: ${ACCEPTED}); got ${keys.length ? keys.join(', ') : 'none'}` });
      return z.NEVER;
    }
    const name = keys[0]!;
    const def = TRANSFORM_TYPES.get(name);
    if (!def) {
      ctx.addIssue({ code: 'custom', message: `unknown transform "${name}" (accepted: ${ACCEPTED})`, path: [name] });
      return z.NEVER;
    }
    const parsed = def.schema.safeParse(step[name]);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [name, ...issue.path] } as never);
      return z.NEVER;
    }
    return { [name]: parsed.data } as TransformSpec;
  });

/** A channel's transform list, applied in the order given. */
export const transformListSchema = z.array(stepSchema, { error: `transform must be a list, e.g. [ { scale: 0.1 }, { round: 1 } ]` }).default([]);

/** Fresh steps (own deadband state) for one device channel. Specs were validated by the schema. */
export function createSteps(specs: readonly TransformSpec[]): TransformStep[] {
  return specs.map((spec) => {
    const [name, param] = Object.entries(spec)[0]!;
    return TRANSFORM_TYPES.get(name)!.create(param);
  });
}
