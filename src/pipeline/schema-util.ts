/**
 * For zod refinements that must run even when other fields of the same object are invalid,
 * so that a configuration's every problem is reported at once. Such a refinement sees
 * possibly invalid input and checks types before using a field.
 */
export const ALWAYS = { when: () => true } as const;
