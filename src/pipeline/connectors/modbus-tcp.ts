import { z } from 'zod';
import { ModbusConnector } from '../modbus/modbus-connector.js';
import { modbusShape } from '../modbus/modbus-schema.js';
import { modbusTcpTransport } from '../modbus/modbus-transports.js';
import type { ConnectorDefinition } from '../types.js';

export const modbusTcpSchema = z
  .object({
    ...modbusShape('modbus-tcp'),
    host: z.string({ error: 'host is required (the Modbus TCP server)' }).min(1),
    port: z.number().int().min(1).max(65535).default(502),
  })
  .strict();

export type ModbusTcpConfig = z.infer<typeof modbusTcpSchema>;

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
