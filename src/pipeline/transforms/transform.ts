import type { z } from 'zod';
import type { ChannelValue } from '../types.js';

/** Returned by a step that filters the value out (deadband, range). */
export const DROP: unique symbol = Symbol('drop');
export type StepResult = ChannelValue | typeof DROP;

/** A value a transform cannot take (e.g. `scale` on a string): the value is dropped and counted. */
export class TransformInputError extends Error {}

/** A wanted value that cannot be turned back into a device value (writes). */
export class TransformInversionError extends Error {}

/** One configured step of a channel's transform list; one instance per device channel (deadband keeps state). */
export interface TransformStep {
  apply(value: ChannelValue, tsMs: number): StepResult;
  /** The value that, fed to `apply`, gives `value`; throws TransformInversionError when there is none. */
  invert(value: ChannelValue): ChannelValue;
}

/** A transform type: its name (the key in `{ scale: 0.1 }`), the schema of its parameter, its factory. */
export interface TransformDefinition<P = unknown> {
  name: string;
  schema: z.ZodType<P>;
  create(param: P): TransformStep;
}

export function defineTransform<P>(def: TransformDefinition<P>): TransformDefinition<P> {
  return def;
}

/** Numbers as they are; booleans as 1/0 (coils); numeric strings parsed; anything else refused. */
export function toNumber(value: ChannelValue, transform: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    if (Number.isFinite(n)) return n;
  }
  throw new TransformInputError(`${transform} needs a number, got ${JSON.stringify(value)}`);
}

/** Numeric writes: a wanted value must be a number (or a numeric string). */
export function wantNumber(value: ChannelValue, transform: string): number {
  try {
    return toNumber(value, transform);
  } catch {
    throw new TransformInversionError(`the value must be a number (the channel's ${transform} transform works on numbers)`);
  }
}

/** Bounds used by clamp and range: at least one of min/max, min ≤ max. */
export interface Bounds {
  min?: number | undefined;
  max?: number | undefined;
}

export function boundsText(b: Bounds): string {
  return `[${b.min ?? '-∞'}, ${b.max ?? '+∞'}]`;
}
