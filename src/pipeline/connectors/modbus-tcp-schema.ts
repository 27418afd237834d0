/** The `modbus-tcp` connector's configuration. Schema only (config-schema.ts imports it); the implementation, modbus-tcp.ts, is loaded with import() when one is configured (issue 16 §3). */
import { z } from 'zod';
import { modbusShape } from '../modbus/modbus-schema.js';

export const modbusTcpSchema = z
  .object({
    ...modbusShape('modbus-tcp'),
    host: z.string({ error: 'host is required (the Modbus TCP server)' }).min(1),
    port: z.number().int().min(1).max(65535).default(502),
  })
  .strict();

export type ModbusTcpConfig = z.infer<typeof modbusTcpSchema>;
