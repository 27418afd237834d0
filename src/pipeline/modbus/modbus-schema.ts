import { z } from 'zod';
import { MODBUS_KINDS, ORDERS, REGISTER_COUNT, REGISTER_TYPES, type ModbusKind, type RegisterType } from '../modbus-codec.js';
import { nameSchema } from '../names.js';
import { ALWAYS, channelObject, deviceObject } from '../schema-util.js';

/**
 * The configuration every Modbus connector shares (modbus-tcp, modbus-rtu, modbus-rtu-tcp):
 * devices with unit ids, channels with kind/address/type/orders, merged reads, writes.
 * Only the transport fields differ (docs/pipeline.md).
 */

export const CHANNEL_TYPES = [...REGISTER_TYPES, 'bool'] as const;
export const BIT_KINDS: readonly ModbusKind[] = ['coil', 'discrete'];

/** A unit shown next to a value (`unit` in /api/devices): "kWh", "°C", "m³/h". */
export const unitSchema = z.string().min(1).max(32);

const channelSchema = channelObject({
  /** holding/input registers, coils, discrete inputs. */
  kind: z.enum(MODBUS_KINDS).default('holding'),
  /** Zero-based address (register 40001 is holding address 0). */
  address: z.number({ error: 'address is required: a zero-based register or bit address' }).int().min(0).max(65535),
  /** Register layout; bits are always bool. Default uint16 for registers, bool for bits. */
  type: z.enum(CHANNEL_TYPES).optional(),
  byteOrder: z.enum(ORDERS).optional(),
  wordOrder: z.enum(ORDERS).optional(),
  /** Allows POST /api/devices/{id}/write (holding registers and coils only). */
  writable: z.boolean().default(false),
  unit: unitSchema.optional(),
}).superRefine((c, ctx) => {
  // ALWAYS: fields may be invalid here (reported by their own schemas); check only valid ones.
  const kind = (MODBUS_KINDS as readonly unknown[]).includes(c.kind) ? c.kind : 'holding';
  const bits = BIT_KINDS.includes(kind);
  const type = (CHANNEL_TYPES as readonly unknown[]).includes(c.type) ? c.type : undefined;
  if (bits && type !== undefined && type !== 'bool') ctx.addIssue({ code: 'custom', path: ['type'], message: `a ${kind} is a single bit: type must be bool (or left out)` });
  if (!bits && type === 'bool') ctx.addIssue({ code: 'custom', path: ['type'], message: `a ${kind} register holds a number (accepted: ${REGISTER_TYPES.join(', ')})` });
  if (c.writable === true && (kind === 'input' || kind === 'discrete')) ctx.addIssue({ code: 'custom', path: ['writable'], message: `${kind === 'input' ? 'input registers' : 'discrete inputs'} are read-only in Modbus` });
  const span = bits ? 1 : REGISTER_COUNT[(type && type !== 'bool' ? type : 'uint16') as RegisterType];
  if (Number.isInteger(c.address) && c.address + span > 65536) ctx.addIssue({ code: 'custom', path: ['address'], message: `${type ?? 'uint16'} at ${c.address} runs past the last address 65535` });
}, ALWAYS);

const deviceSchema = deviceObject(
  {
    /** Modbus unit (slave) id of this device; defaults to the connector's. */
    unitId: z.number().int().min(0).max(255).optional(),
  },
  channelSchema,
);

/** Backoff of reconnects (the line or connection) and of a failing device's polls, ms. */
export const reconnectSchema = z
  .object({ initialMs: z.number().int().min(10).default(500), maxMs: z.number().int().min(10).default(30_000) })
  .strict()
  .prefault({});

/** The fields of every Modbus connector; `type` names the transport. */
export function modbusShape<T extends string>(type: T) {
  return {
    id: nameSchema('connector id'),
    type: z.literal(type),
    unitId: z.number().int().min(0).max(255).default(1),
    /** ms between the starts of two polls of a device. */
    pollMs: z.number().int().min(10).default(1000),
    /** ms to wait for a connection or an answer. */
    timeoutMs: z.number().int().min(10).default(1000),
    byteOrder: z.enum(ORDERS).default('big'),
    wordOrder: z.enum(ORDERS).default('big'),
    /** Unused addresses a merged read may span between two channels (0: only touching ones merge). */
    maxGap: z.number().int().min(0).max(124).default(0),
    reconnect: reconnectSchema,
    devices: z.array(deviceSchema).min(1, `a ${type} connector needs at least one device`),
  };
}

/** One line, one conversation: ms of silence between the end of one exchange and the next request. */
export const interFrameDelaySchema = z.number().int().min(0).max(10_000);

/** The fields a Modbus core needs, whatever the transport. */
export interface ModbusCommonConfig {
  id: string;
  unitId: number;
  pollMs: number;
  timeoutMs: number;
  byteOrder: (typeof ORDERS)[number];
  wordOrder: (typeof ORDERS)[number];
  maxGap: number;
  reconnect: { initialMs: number; maxMs: number };
  devices: Array<z.infer<typeof deviceSchema>>;
}
