/** The `modbus-rtu` connector's configuration. Schema only (config-schema.ts imports it); the implementation, modbus-rtu.ts, is loaded with import() when one is configured (issue 16 §3). */
import { z } from 'zod';
import { interFrameDelaySchema, modbusShape } from '../modbus/modbus-schema.js';
import { serialShape } from '../serial/serial-line.js';

export const modbusRtuSchema = z
  .object({
    ...modbusShape('modbus-rtu'),
    ...serialShape({ baudRate: 9600, parity: 'none' }),
    /** ms of silence between two exchanges; default the RTU 3.5-character gap at baudRate. */
    interFrameDelayMs: interFrameDelaySchema.optional(),
  })
  .strict();

export type ModbusRtuConfig = z.infer<typeof modbusRtuSchema>;
