/** The `modbus-rtu-tcp` connector's configuration. Schema only (config-schema.ts imports it); the implementation, modbus-rtu-tcp.ts, is loaded with import() when one is configured (issue 16 §3). */
import { z } from 'zod';
import { interFrameDelaySchema, modbusShape } from '../modbus/modbus-schema.js';
import { tcpLineShape } from '../serial/serial-line.js';

export const modbusRtuTcpSchema = z
  .object({
    ...modbusShape('modbus-rtu-tcp'),
    ...tcpLineShape(4001),
    /** ms of silence between two exchanges (the device server times the line itself). */
    interFrameDelayMs: interFrameDelaySchema.default(0),
  })
  .strict();

export type ModbusRtuTcpConfig = z.infer<typeof modbusRtuTcpSchema>;
