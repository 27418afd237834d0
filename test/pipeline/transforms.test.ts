import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TransformChain } from '../../src/pipeline/transform-chain.js';
import { TransformInversionError } from '../../src/pipeline/transforms/transform.js';
import { transformListSchema } from '../../src/pipeline/transforms/index.js';
import type { ChannelValue, TransformSpec } from '../../src/pipeline/types.js';

const chain = (...specs: unknown[]) => new TransformChain(transformListSchema.parse(specs) as TransformSpec[]);

/** Feeds values at the given times and returns what comes out ("drop" for filtered ones). */
function run(c: TransformChain, inputs: Array<[ChannelValue, number?]>): Array<ChannelValue | 'drop' | `error: ${string}`> {
  return inputs.map(([v, t]) => {
    const r = c.apply(v, t ?? 0);
    return 'value' in r ? r.value : 'dropped' in r ? 'drop' : (`error: ${r.error}` as const);
  });
}

describe('channel transforms', () => {
  it('scale multiplies and inverts by dividing', () => {
    const c = chain({ scale: 0.1 });
    assert.deepEqual(run(c, [[215], [-40], [true]]), [21.5, -4, 0.1]);
    assert.ok(Math.abs((c.invert(21.5) as number) - 215) < 1e-9);
  });

  it('offset adds and inverts by subtracting', () => {
    const c = chain({ offset: -273.15 });
    assert.deepEqual(run(c, [[300]]), [300 - 273.15]);
    assert.equal(c.invert(26.85), 26.85 + 273.15);
  });

  it('round keeps the given decimals (0 = integer) and passes writes through', () => {
    assert.deepEqual(run(chain({ round: 1 }), [[21.449], [21.45], [1.005], [-2.25]]), [21.4, 21.5, 1, -2.2]);
    assert.deepEqual(run(chain({ round: 0 }), [[2.5], [2.49]]), [3, 2]);
    assert.equal(chain({ round: 2 }).invert(3.14159), 3.14159);
  });

  it('clamp limits to the bounds; a write outside them is not invertible', () => {
    const c = chain({ clamp: { min: 0, max: 100 } });
    assert.deepEqual(run(c, [[-5], [50], [150]]), [0, 50, 100]);
    assert.equal(c.invert(42), 42);
    assert.throws(() => c.invert(101), (e: unknown) => e instanceof TransformInversionError && /clamp \[0, 100\]/.test(e.message));
    assert.deepEqual(run(chain({ clamp: { min: 10 } }), [[5], [500]]), [10, 500]);
  });

  it('deadband emits only on a change of at least delta, or after maxSilenceMs', () => {
    const c = chain({ deadband: { delta: 0.5, maxSilenceMs: 10_000 } });
    assert.deepEqual(
      run(c, [
        [20, 0], // first value: always
        [20.3, 1000], // +0.3: dropped
        [20.49, 2000], // +0.49 from the last *emitted* (20): dropped
        [20.5, 3000], // +0.5: emitted
        [20.1, 4000], // −0.4: dropped
        [20.1, 13_000], // 10 s since the last emitted: emitted though unchanged
        [19.6, 14_000], // −0.5: emitted
      ]),
      [20, 'drop', 'drop', 20.5, 'drop', 20.1, 19.6],
    );
    // A bare number is the delta, with no silence limit.
    assert.deepEqual(run(chain({ deadband: 1 }), [[1, 0], [1.5, 1e9], [2, 2e9]]), [1, 'drop', 2]);
    // Text values are emitted whenever they change.
    assert.deepEqual(run(chain({ deadband: 1 }), [['on'], ['on'], ['off']]), ['on', 'drop', 'off']);
  });

  it('range drops values outside the bounds (a sensor\'s error codes)', () => {
    const c = chain({ range: { min: -40, max: 125 } });
    assert.deepEqual(run(c, [[-41], [-40], [25], [125], [3276.7]]), ['drop', -40, 25, 125, 'drop']);
    assert.throws(() => c.invert(200), TransformInversionError);
  });

  it('map translates enumerations and inverts unambiguous values', () => {
    const c = chain({ map: { '0': 'off', '1': 'heat', '2': 'cool', true: 'yes' } });
    assert.deepEqual(run(c, [[0], [2], [7], [true]]), ['off', 'cool', 7, 'yes']);
    assert.equal(c.invert('heat'), 1);
    assert.equal(c.invert('yes'), true);
    assert.equal(c.invert(9), 9, 'an unmapped value passes through');
    assert.throws(() => c.invert(2), /not one of the channel's mapped values/);
    const twoWays = chain({ map: { '0': 'idle', '1': 'idle' } });
    assert.throws(() => twoWays.invert('idle'), /not invertible/);
  });

  it('applies the steps in the configured order and inverts them in reverse', () => {
    // °F register → °C, rounded, plausible range only.
    const c = chain({ offset: -32 }, { scale: 5 / 9 }, { round: 1 }, { range: { min: -50, max: 150 } });
    assert.deepEqual(run(c, [[212], [32], [1000]]), [100, 0, 'drop']);
    assert.ok(Math.abs((c.invert(100) as number) - 212) < 1e-9);
    // Order matters: scale then offset differs from offset then scale.
    assert.deepEqual(run(chain({ scale: 2 }, { offset: 1 }), [[10]]), [21]);
    assert.deepEqual(run(chain({ offset: 1 }, { scale: 2 }), [[10]]), [22]);
  });

  it('refuses a non-numeric value for numeric steps (reported, not sent)', () => {
    assert.deepEqual(run(chain({ scale: 2 }), [['abc'], ['21.5']]), ['error: scale needs a number, got "abc"', 43]);
    assert.throws(() => chain({ scale: 2 }).invert('abc'), /must be a number/);
  });
});
