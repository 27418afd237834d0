import { ConfigManager } from '../config/config-manager.js';
import { ConfigError } from '../config/load-config.js';
import { configFromEnv } from '../config/env-overrides.js';
import { configSchema, type GatewayConfig } from '../config/schema.js';
import { GATEWAY_FLAGS, flagsToConfig } from './gateway-flags.js';
import { parseFlags, type FlagSpec } from './parse-flags.js';

export interface GatewayCommandLine {
  /** The configuration in force at start; `manager` keeps it current. */
  config: GatewayConfig;
  manager: ConfigManager | null;
  help: boolean;
  version: boolean;
  printConfig: boolean;
  /** Values of `extraFlags` (flags that are not gateway configuration). */
  extra: Map<string, unknown>;
}

export interface LoadOptions {
  /** Flags a wrapper adds (the demo's -count); their values come back in `extra`. */
  extraFlags?: FlagSpec[];
  /** Defaults under everything else (the demo's node port). */
  defaults?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

/**
 * Flags, environment (`SPORE_<SECTION>_<KEY>`), the configuration source
 * (remote → cache → file → defaults) — flags win, then the environment.
 * Throws FlagError for bad flags and ConfigError (every problem) for bad configuration.
 */
export async function loadGatewayConfig(argv: readonly string[], options: LoadOptions = {}): Promise<GatewayCommandLine> {
  const extraFlags = options.extraFlags ?? [];
  const { values } = parseFlags(argv, [...GATEWAY_FLAGS, ...extraFlags]);
  const extra = new Map([...values].filter(([name]) => extraFlags.some((f) => f.name === name)));
  const flag = (name: string): boolean => values.get(name) === true;
  if (flag('help') || flag('version')) {
    return { config: configSchema.parse({}), manager: null, help: flag('help'), version: flag('version'), printConfig: false, extra };
  }
  const env = configFromEnv(configSchema, options.env ?? process.env);
  if (env.problems?.length) throw new ConfigError(env.problems);
  const manager = await ConfigManager.load({
    defaults: options.defaults ?? {},
    filePath: values.get('config') as string | undefined,
    env,
    flags: flagsToConfig(values),
  });
  return { config: manager.current, manager, help: false, version: false, printConfig: flag('print-config'), extra };
}
