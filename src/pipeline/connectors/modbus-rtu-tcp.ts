import { ModbusConnector } from '../modbus/modbus-connector.js';
import { modbusRtuTcpTransport } from '../modbus/modbus-transports.js';
import type { ConnectorDefinition } from '../types.js';
import { modbusRtuTcpSchema, type ModbusRtuTcpConfig } from './modbus-rtu-tcp-schema.js';

/**
 * The `modbus-rtu-tcp` connector: RTU frames with their CRC on a TCP socket, as a serial device
 * server forwards its line (not Modbus TCP's MBAP header). One line behind a converter: one
 * request at a time, and a silent unit is one slave's problem, not the connection's.
 */
export const modbusRtuTcpConnector: ConnectorDefinition<ModbusRtuTcpConfig> = {
  type: 'modbus-rtu-tcp',
  schema: modbusRtuTcpSchema,
  create: (config, ctx) =>
    new ModbusConnector(
      config,
      ctx,
      modbusRtuTcpTransport(config.host, config.port, (err) => ctx.logger.debug({ connector: config.id, err }, 'line error')),
      config.interFrameDelayMs,
    ),
};
