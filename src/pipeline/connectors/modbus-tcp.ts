import { ModbusConnector } from '../modbus/modbus-connector.js';
import { modbusTcpTransport } from '../modbus/modbus-transports.js';
import type { ConnectorDefinition } from '../types.js';
import { modbusTcpSchema, type ModbusTcpConfig } from './modbus-tcp-schema.js';

/**
 * The `modbus-tcp` connector: the shared Modbus core on one Modbus TCP connection. Any transport
 * error (refused, reset, timeout) closes the connection and reconnects with backoff, forever.
 */
export const modbusTcpConnector: ConnectorDefinition<ModbusTcpConfig> = {
  type: 'modbus-tcp',
  schema: modbusTcpSchema,
  create: (config, ctx) =>
    new ModbusConnector(config, ctx, modbusTcpTransport(config.host, config.port, (err) => ctx.logger.debug({ connector: config.id, err }, 'modbus socket error')), 0),
};
