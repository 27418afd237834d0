import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { loadYaml } from './yaml-lib.js';
import type { z } from 'zod';
import { configSchema, type GatewayConfig } from './schema.js';
import { findUnknownKeys, formatPath } from './unknown-keys.js';

/** Raised when configuration is invalid; `problems` lists every one, each with its path. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export { formatPath };

const accepted = (values: readonly unknown[]): string => values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = formatPath(issue.path);
  if (issue.code === 'invalid_value' && 'values' in issue) {
    // zod's own text repeats the list; say what was given instead (reportInput below).
    const given = 'input' in issue && issue.input !== undefined ? `${JSON.stringify(issue.input)} is not accepted` : 'missing or not accepted';
    return `${path}: ${/^Invalid option/.test(issue.message) ? given : issue.message} (accepted: ${accepted(issue.values)})`;
  }
  // A union on `type` with an unknown value (pipeline connectors and sinks).
  if (issue.code === 'invalid_union' && 'options' in issue && Array.isArray(issue.options)) {
    return `${path}: ${issue.message} (accepted: ${accepted(issue.options)})`;
  }
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) {
    return `${path}: required (${issue.expected} expected)`;
  }
  if (issue.code === 'unrecognized_keys' && 'keys' in issue) {
    return `${path}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  return `${path}: ${issue.message}`;
}

/**
 * Validates a raw configuration object; throws a ConfigError listing every
 * problem at once. `sources` maps dotted paths to the environment variable that
 * set them, so a bad `SPORE_HTTP_PORT` is reported as such.
 */
export function validateConfig(raw: unknown, sources?: ReadonlyMap<string, string>): GatewayConfig {
  // Unknown keys at every depth, with the closest known key (a typo must not be dropped silently).
  const unknown = findUnknownKeys(configSchema, raw ?? {});
  const result = configSchema.safeParse(raw ?? {}, { reportInput: true });
  if (!result.success || unknown.length > 0) {
    const issues = result.success ? [] : result.error.issues.filter((issue) => issue.code !== 'unrecognized_keys');
    throw new ConfigError([
      ...unknown,
      ...issues.map((issue) => {
        const variable = sources?.get(issue.path.map(String).join('.'));
        return variable ? `${describeIssue(issue)} (set by ${variable})` : describeIssue(issue);
      }),
    ]);
  }
  return result.data;
}

/** Reads a YAML or JSON configuration file into a plain object (not yet validated). */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`config file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  let parsed: unknown;
  const isJson = extname(path).toLowerCase() === '.json';
  const parseYaml = isJson ? undefined : (await loadYaml()).parse;
  try {
    parsed = isJson ? JSON.parse(text) : parseYaml!(text);
  } catch (err) {
    throw new ConfigError([`config file ${path}: not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([`config file ${path}: the top level must be an object`]);
  }
  return parsed as Record<string, unknown>;
}

/** Deep-merges plain objects; arrays and scalars from `override` replace those in `base`. */
export function mergeConfig(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const existing = out[key];
    if (isObject(existing) && isObject(value)) out[key] = mergeConfig(existing, value);
    else if (value !== undefined) out[key] = value;
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
