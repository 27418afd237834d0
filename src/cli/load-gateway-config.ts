import { readConfigFile, mergeConfig, validateConfig } from '../config/load-config.js';
import type { GatewayConfig } from '../config/schema.js';
import { GATEWAY_FLAGS, flagsToConfig } from './gateway-flags.js';
import { parseFlags, type FlagSpec } from './parse-flags.js';

export interface GatewayCommandLine {
  config: GatewayConfig;
  help: boolean;
  version: boolean;
  /** Values of `extraFlags` (flags that are not gateway configuration). */
  extra: Map<string, unknown>;
}

export interface LoadOptions {
  /** Flags a wrapper adds (the demo's -count); their values come back in `extra`. */
  extraFlags?: FlagSpec[];
  /** Defaults under the configuration file and the flags (the demo's node port). */
  defaults?: Record<string, unknown>;
}

/**
 * Defaults → optional config file → flags; flags win over the file.
 * Throws FlagError for bad flags and ConfigError (every problem) for bad configuration.
 */
export async function loadGatewayConfig(argv: readonly string[], options: LoadOptions = {}): Promise<GatewayCommandLine> {
  const extraFlags = options.extraFlags ?? [];
  const { values } = parseFlags(argv, [...GATEWAY_FLAGS, ...extraFlags]);
  const extra = new Map([...values].filter(([name]) => extraFlags.some((f) => f.name === name)));
  if (values.get('help') || values.get('version')) {
    return { config: validateConfig({}), help: values.get('help') === true, version: values.get('version') === true, extra };
  }
  const configPath = values.get('config') as string | undefined;
  const fromFile = configPath ? await readConfigFile(configPath) : {};
  const merged = mergeConfig(mergeConfig(options.defaults ?? {}, fromFile), flagsToConfig(values));
  return { config: validateConfig(merged), help: false, version: false, extra };
}
