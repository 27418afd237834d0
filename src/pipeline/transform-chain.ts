import { createSteps } from './transforms/index.js';
import { DROP, TransformInputError, type TransformStep } from './transforms/transform.js';
import type { ChannelValue, TransformSpec } from './types.js';

export type ChainResult = { value: ChannelValue } | { dropped: true } | { error: string };

/**
 * One device channel's transforms, applied in the configured order; each step sees the
 * previous one's output. Holds the steps' state (deadband), so there is one per device channel.
 */
export class TransformChain {
  private readonly steps: TransformStep[];

  constructor(specs: readonly TransformSpec[]) {
    this.steps = createSteps(specs);
  }

  apply(raw: ChannelValue, tsMs: number): ChainResult {
    let value = raw;
    for (const step of this.steps) {
      let out;
      try {
        out = step.apply(value, tsMs);
      } catch (err) {
        if (err instanceof TransformInputError) return { error: err.message };
        throw err;
      }
      if (out === DROP) return { dropped: true };
      if (typeof out === 'number' && !Number.isFinite(out)) return { error: `the transforms gave ${out}` };
      value = out;
    }
    return { value };
  }

  /** The device value that yields `wanted`: steps inverted in reverse order (throws TransformInversionError). */
  invert(wanted: ChannelValue): ChannelValue {
    let value = wanted;
    for (let i = this.steps.length - 1; i >= 0; i--) value = this.steps[i]!.invert(value);
    return value;
  }
}
