import { z } from 'zod';
import { compileJsonPath, type JsonPath } from './json-path.js';
import { isValidName, NAME_RULE } from './names.js';
import { transformListSchema } from './transforms/index.js';
import type { ChannelValue, TransformSpec } from './types.js';

/**
 * Channels extracted from a JSON document (mqtt and http connectors):
 * `{ temperature: "$.t" }` or `{ temperature: { path: "$.t", transform: [ { scale: 0.1 } ] } }`.
 */
export const jsonPathSchema = z.string({ error: 'a JSON path, e.g. "$.a.b[0]"' }).superRefine((path, ctx) => {
  try {
    compileJsonPath(path);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const channelObject = z
  .object({
    path: jsonPathSchema,
    transform: transformListSchema,
    /** For mqtt devices with a `write` topic: set false to refuse writes to this channel. */
    writable: z.boolean().optional(),
    /** Engineering unit of the value (e.g. "°C", "kWh"): Sparkplug B metrics carry it as the engUnit property. */
    unit: z.string().min(1).max(32).optional(),
  })
  .strict();

export const channelPathsSchema = z
  .record(z.string(), z.union([jsonPathSchema, channelObject], { error: 'a channel is a JSON path string or { path, transform }' }))
  .superRefine((channels, ctx) => {
    const names = Object.keys(channels);
    if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'at least one channel is needed, e.g. { temperature: "$.t" }' });
    for (const name of names) {
      if (!isValidName(name)) ctx.addIssue({ code: 'custom', path: [name], message: `channel name "${name}" must be ${NAME_RULE}` });
    }
  });

export interface PathChannel {
  name: string;
  path: JsonPath;
  transform: TransformSpec[];
  writable: boolean | undefined;
  unit?: string | undefined;
}

export function compileChannels(channels: z.infer<typeof channelPathsSchema>): PathChannel[] {
  return Object.entries(channels).map(([name, def]) =>
    typeof def === 'string'
      ? { name, path: compileJsonPath(def), transform: [], writable: undefined }
      : { name, path: compileJsonPath(def.path), transform: def.transform, writable: def.writable, unit: def.unit },
  );
}

/**
 * Extracts each channel's value: JSON scalars only. Missing paths are left out; objects,
 * arrays and null are reported in `problems`.
 */
export function extractChannels(document: unknown, channels: readonly PathChannel[]): { values: Record<string, ChannelValue>; problems: string[] } {
  const values: Record<string, ChannelValue> = {};
  const problems: string[] = [];
  for (const c of channels) {
    const v = c.path(document);
    if (v === undefined) continue;
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') values[c.name] = v;
    else problems.push(`channel ${c.name}: ${v === null ? 'null' : Array.isArray(v) ? 'an array' : 'an object'} is not a channel value`);
  }
  return { values, problems };
}

/** A timestamp from a payload: RFC3339 text, or epoch seconds/ms as a number. */
export function parseTimestamp(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v > 1e12 ? v : v * 1000;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  return undefined;
}
