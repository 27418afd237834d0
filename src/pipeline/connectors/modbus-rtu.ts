import { z } from 'zod';
import { ModbusConnector } from '../modbus/modbus-connector.js';
import { interFrameDelaySchema, modbusShape } from '../modbus/modbus-schema.js';
import { modbusRtuTransport } from '../modbus/modbus-transports.js';
import { rtuSilenceMs, serialShape } from '../serial/serial-line.js';
import type { ConnectorDefinition } from '../types.js';

export const modbusRtuSchema = z
  .object({
    ...modbusShape('modbus-rtu'),
    ...serialShape({ baudRate: 9600, parity: 'none' }),
    /** ms of silence between two exchanges; default the RTU 3.5-character gap at baudRate. */
    interFrameDelayMs: interFrameDelaySchema.optional(),
  })
  .strict();

export type ModbusRtuConfig = z.infer<typeof modbusRtuSchema>;

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
