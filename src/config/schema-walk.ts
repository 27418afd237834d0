import type { z } from 'zod';

/**
 * Reading a zod schema's structure (zod 4's `_zod.def`): the configuration's unknown-key check
 * and its environment overrides walk the same schema the same way.
 */

export type AnySchema = z.core.$ZodType;

export interface Def {
  type: string;
  innerType?: AnySchema;
  in?: AnySchema;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  options?: AnySchema[];
  valueType?: AnySchema;
  catchall?: AnySchema;
  discriminator?: string;
  values?: unknown[];
}

export const def = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Strips default/optional/nullable/prefault/pipe wrappers down to the schema that describes the value. */
export function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  for (;;) {
    const d = def(s);
    if (d.innerType && ['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(d.type)) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}
