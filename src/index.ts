/** The library entry: embed the gateway in another program, or drive it from tests. */
export { Gateway, type GatewayOptions } from './gateway.js';
export { validateConfig, readConfigFile, mergeConfig, ConfigError } from './config/load-config.js';
export type { GatewayConfig, GatewayConfigInput } from './config/schema.js';
export type { GatewayEvents } from './events/gateway-events.js';
export { GatewayError, ERROR_CATALOGUE, type ErrorCode } from './errors.js';
export * from './protocol/datagram.js';
export type * from './protocol/types.js';
