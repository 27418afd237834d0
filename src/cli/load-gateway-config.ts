import { readConfigFile, mergeConfig, validateConfig } from '../config/load-config.js';
import type { GatewayConfig } from '../config/schema.js';
import { GATEWAY_FLAGS, flagsToConfig } from './gateway-flags.js';
import { parseFlags } from './parse-flags.js';

export interface GatewayCommandLine {
  config: GatewayConfig;
  help: boolean;
  version: boolean;
}

/**
 * Flags → optional config file → schema defaults; flags win over the file.
 * Throws FlagError for bad flags and ConfigError (every problem) for bad configuration.
 */
export async function loadGatewayConfig(argv: readonly string[]): Promise<GatewayCommandLine> {
  const { values } = parseFlags(argv, GATEWAY_FLAGS);
  if (values.get('help') || values.get('version')) {
    return { config: validateConfig({}), help: values.get('help') === true, version: values.get('version') === true };
  }
  const configPath = values.get('config') as string | undefined;
  const fromFile = configPath ? await readConfigFile(configPath) : {};
  const merged = mergeConfig(fromFile, flagsToConfig(values));
  return { config: validateConfig(merged), help: false, version: false };
}
