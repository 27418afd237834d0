import { z } from 'zod';
import type { ChannelValue } from '../types.js';
import { defineTransform, TransformInversionError } from './transform.js';

const scalar = z.union([z.string(), z.number().finite(), z.boolean()], { error: 'map values must be strings, numbers or booleans' });

/**
 * `{ map: { "0": "off", "1": "on" } }`: enumerations. The value's text form is looked up
 * (`true`/`false` for coils); unmapped values pass unchanged. Writes look the wanted value up
 * among the mapped ones; a value two keys map to cannot be inverted.
 */
export const mapTransform = defineTransform<Record<string, ChannelValue>>({
  name: 'map',
  schema: z
    .record(z.string(), scalar, { error: 'map needs an object of { "raw": mapped }' })
    .refine((m) => Object.keys(m).length > 0, 'map needs at least one entry'),
  create: (table) => ({
    apply: (value) => (Object.prototype.hasOwnProperty.call(table, String(value)) ? table[String(value)]! : value),
    invert: (value) => {
      const keys = Object.keys(table).filter((k) => table[k] === value);
      if (keys.length > 1) {
        throw new TransformInversionError(`${JSON.stringify(value)} is mapped from ${keys.map((k) => JSON.stringify(k)).join(' and ')}: the map is not invertible for it`);
      }
      if (keys.length === 1) return parseKey(keys[0]!);
      if (Object.prototype.hasOwnProperty.call(table, String(value))) {
        throw new TransformInversionError(`${JSON.stringify(value)} is not one of the channel's mapped values (${Object.values(table).map((v) => JSON.stringify(v)).join(', ')})`);
      }
      return value;
    },
  }),
});

/** Map keys are JSON object keys (text); device values are numbers or booleans where they look like one. */
function parseKey(key: string): ChannelValue {
  if (key === 'true') return true;
  if (key === 'false') return false;
  if (key.trim() !== '' && Number.isFinite(Number(key))) return Number(key);
  return key;
}
