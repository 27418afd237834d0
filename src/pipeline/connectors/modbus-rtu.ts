import { ModbusConnector } from '../modbus/modbus-connector.js';
import { modbusRtuTransport } from '../modbus/modbus-transports.js';
import { rtuSilenceMs } from '../serial/serial-line.js';
import type { ConnectorDefinition } from '../types.js';
import { modbusRtuSchema, type ModbusRtuConfig } from './modbus-rtu-schema.js';

/** The `modbus-rtu` connector: the shared Modbus core on a serial line (RS-485), one request at a time. */
export const modbusRtuConnector: ConnectorDefinition<ModbusRtuConfig> = {
  type: 'modbus-rtu',
  schema: modbusRtuSchema,
  create: (config, ctx) =>
    new ModbusConnector(
      config,
      ctx,
      modbusRtuTransport(config, (err) => ctx.logger.debug({ connector: config.id, err }, 'serial line error')),
      config.interFrameDelayMs ?? rtuSilenceMs(config.baudRate),
    ),
};
