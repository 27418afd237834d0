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
