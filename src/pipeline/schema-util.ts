import { z } from 'zod';
import { nameSchema } from './names.js';
import { transformListSchema } from './transforms/index.js';

/**
 * For zod refinements that must run even when other fields of the same object are invalid,
 * so that a configuration's every problem is reported at once. Such a refinement sees
 * possibly invalid input and checks types before using a field.
 */
export const ALWAYS = { when: () => true } as const;

/**
 * Reports every channel of a device whose name an earlier channel already has (the names key
 * records and `/api/devices`). Meant for an ALWAYS refinement: the input may be invalid.
 */
export function checkUniqueChannelNames(device: { channels?: unknown }, ctx: { addIssue(issue: { code: 'custom'; path: (string | number)[]; message: string }): void }): void {
  const seen = new Set<string>();
  (Array.isArray(device.channels) ? device.channels : []).forEach((c: { name?: unknown } | null, i) => {
    if (typeof c?.name !== 'string') return;
    if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: ['channels', i, 'name'], message: `duplicate channel name "${c.name}"` });
    seen.add(c.name);
  });
}

/**
 * A channel of a field device, as every multi-device connector (modbus, mbus, opcua, zwave)
 * writes it: a name, the connector's own address fields, then the transforms; nothing else.
 */
export function channelObject<S extends z.ZodRawShape>(shape: S) {
  return z.object({ name: nameSchema('channel name'), ...shape, transform: transformListSchema }).strict();
}

/**
 * A field device: an id, the connector's own fields, at least one channel, channel names unique
 * (all problems reported at once). `refine` adds the connector's own cross-field checks.
 */
export function deviceObject<S extends z.ZodRawShape, C extends z.ZodType>(
  shape: S,
  channel: C,
  refine?: (device: Record<string, unknown>, ctx: z.RefinementCtx) => void,
) {
  return z
    .object({ id: nameSchema('device id'), ...shape, channels: z.array(channel).min(1, 'a device needs at least one channel') })
    .strict()
    .superRefine((d, ctx) => {
      refine?.(d as Record<string, unknown>, ctx);
      checkUniqueChannelNames(d, ctx);
    }, ALWAYS);
}
