/** The `mbus` and `mbus-tcp` connectors' configuration. Schema only (config-schema.ts imports it); the implementation, mbus.ts, is loaded with import() when one is configured (issue 16 §3). */
import { z } from 'zod';
import { interFrameDelaySchema, reconnectSchema, unitSchema } from '../modbus/modbus-schema.js';
import { nameSchema } from '../names.js';
import { channelObject, deviceObject } from '../schema-util.js';
import { serialShape, tcpLineShape } from '../serial/serial-line.js';

const channelSchema = channelObject({
  /** Index of the data record in the meter's RSP_UD (0 = the first record). */
  record: z.number({ error: 'record is required: the index of a data record in the meter\'s answer (0 = first)' }).int().min(0).max(255),
  /** Overrides the unit the VIF gives (the value is still scaled to the VIF's base unit). */
  unit: unitSchema.optional(),
});

const deviceSchema = deviceObject(
  {
    /** Primary address 0-250. */
    address: z.number().int().min(0).max(250).optional(),
    /** Secondary address: the 8-digit identification number printed on the meter (selected with CI 52h). */
    secondaryAddress: z.string().regex(/^\d{8}$/, 'secondaryAddress is the 8-digit identification number, e.g. "12345678"').optional(),
  },
  channelSchema,
  (d, ctx) => {
    if ((d.address === undefined) === (d.secondaryAddress === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['address'], message: 'give a meter either a primary address (0-250) or a secondaryAddress (8 digits), not both or neither' });
    }
  },
);

function mbusShape<T extends string>(type: T) {
  return {
    id: nameSchema('connector id'),
    type: z.literal(type),
    /** ms between the starts of two readouts of a meter (meters on batteries want minutes). */
    pollMs: z.number().int().min(100).default(60_000),
    /** ms to wait for each answer. */
    timeoutMs: z.number().int().min(10).default(1000),
    /** ms of silence between two exchanges (EN 13757-2 asks for at least 11 bit times; converters like more). */
    interFrameDelayMs: interFrameDelaySchema.default(50),
    reconnect: reconnectSchema,
    devices: z.array(deviceSchema).min(1, `a ${type} connector needs at least one device`),
  };
}

export const mbusSchema = z.object({ ...mbusShape('mbus'), ...serialShape({ baudRate: 2400, parity: 'even' }) }).strict();
export const mbusTcpSchema = z.object({ ...mbusShape('mbus-tcp'), ...tcpLineShape(10001) }).strict();

export type MbusConfig = z.infer<typeof mbusSchema>;
export type MbusTcpConfig = z.infer<typeof mbusTcpSchema>;
