/**
 * Modbus register values ↔ numbers. Registers are 16-bit words sent big-endian on the wire.
 * Multi-register types follow the device's layout: `wordOrder` big = high word first (the
 * default, "ABCD"), little = low word first ("CDAB"); `byteOrder` little swaps the two bytes
 * inside every word ("BADC"; both little = "DCBA").
 */
export const REGISTER_TYPES = ['int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'] as const;
export type RegisterType = (typeof REGISTER_TYPES)[number];
export const ORDERS = ['big', 'little'] as const;
export type Order = (typeof ORDERS)[number];

export const REGISTER_COUNT: Record<RegisterType, number> = { int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, float64: 4 };

const INTEGER_RANGE: Partial<Record<RegisterType, [number, number]>> = {
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

/** Reorders bytes between the device layout and big-endian ABCD (the same swap both ways). */
function reorder(bytes: Buffer, byteOrder: Order, wordOrder: Order): Buffer {
  const words = bytes.length / 2;
  const out = Buffer.alloc(bytes.length);
  for (let w = 0; w < words; w++) {
    const from = wordOrder === 'little' ? words - 1 - w : w;
    const hi = bytes[from * 2]!;
    const lo = bytes[from * 2 + 1]!;
    out[w * 2] = byteOrder === 'little' ? lo : hi;
    out[w * 2 + 1] = byteOrder === 'little' ? hi : lo;
  }
  return out;
}

/** Decodes `REGISTER_COUNT[type]` registers (wire bytes) into a number. */
export function decodeRegisters(wire: Buffer, type: RegisterType, byteOrder: Order = 'big', wordOrder: Order = 'big'): number {
  const b = reorder(wire, byteOrder, wordOrder);
  switch (type) {
    case 'int16':
      return b.readInt16BE(0);
    case 'uint16':
      return b.readUInt16BE(0);
    case 'int32':
      return b.readInt32BE(0);
    case 'uint32':
      return b.readUInt32BE(0);
    case 'float32':
      return b.readFloatBE(0);
    case 'float64':
      return b.readDoubleBE(0);
  }
}

/**
 * Encodes a number into register words (as written with FC6/FC16). Throws a RangeError
 * naming the accepted range when the value does not fit the type.
 */
export function encodeRegisters(value: number, type: RegisterType, byteOrder: Order = 'big', wordOrder: Order = 'big'): number[] {
  if (!Number.isFinite(value)) throw new RangeError(`${value} is not a finite number`);
  const range = INTEGER_RANGE[type];
  let n = value;
  if (range) {
    // Inverted scales give 214.99999999999997 for 21.5 / 0.1: accept float noise, refuse real fractions.
    const rounded = Math.round(n);
    if (Math.abs(n - rounded) > 1e-6) throw new RangeError(`${type} needs a whole number; ${value} is not one`);
    n = rounded;
    if (n < range[0] || n > range[1]) throw new RangeError(`${type} accepts ${range[0]}..${range[1]}; ${n} is outside`);
  }
  const b = Buffer.alloc(REGISTER_COUNT[type] * 2);
  switch (type) {
    case 'int16':
      b.writeInt16BE(n, 0);
      break;
    case 'uint16':
      b.writeUInt16BE(n, 0);
      break;
    case 'int32':
      b.writeInt32BE(n, 0);
      break;
    case 'uint32':
      b.writeUInt32BE(n, 0);
      break;
    case 'float32':
      if (Math.abs(n) > 3.4028234663852886e38) throw new RangeError(`float32 accepts ±3.4e38; ${n} is outside`);
      b.writeFloatBE(n, 0);
      break;
    case 'float64':
      b.writeDoubleBE(n, 0);
      break;
  }
  const wire = reorder(b, byteOrder, wordOrder);
  const words: number[] = [];
  for (let i = 0; i < wire.length; i += 2) words.push(wire.readUInt16BE(i));
  return words;
}

/** Reading kinds: the four Modbus tables. */
export const MODBUS_KINDS = ['holding', 'input', 'coil', 'discrete'] as const;
export type ModbusKind = (typeof MODBUS_KINDS)[number];

/** Registers (125) or bits (2000) one read may fetch (Modbus application protocol §6.1–6.4). */
export const MAX_PER_READ: Record<ModbusKind, number> = { holding: 125, input: 125, coil: 2000, discrete: 2000 };

export interface PlannedChannel {
  kind: ModbusKind;
  address: number;
  /** Registers or bits the channel spans. */
  count: number;
}

export interface ReadBlock<C extends PlannedChannel> {
  kind: ModbusKind;
  address: number;
  count: number;
  channels: C[];
}

/**
 * Merges the reads of neighbouring addresses: channels of one kind whose ranges overlap,
 * touch, or are at most `maxGap` apart become one read, up to the protocol's size limit.
 */
export function planReads<C extends PlannedChannel>(channels: readonly C[], maxGap: number): ReadBlock<C>[] {
  const blocks: ReadBlock<C>[] = [];
  for (const kind of MODBUS_KINDS) {
    const sorted = channels.filter((c) => c.kind === kind).sort((a, b) => a.address - b.address);
    let current: ReadBlock<C> | undefined;
    for (const c of sorted) {
      const end = c.address + c.count;
      if (current && c.address <= current.address + current.count + maxGap && Math.max(end, current.address + current.count) - current.address <= MAX_PER_READ[kind]) {
        current.count = Math.max(end, current.address + current.count) - current.address;
        current.channels.push(c);
      } else {
        current = { kind, address: c.address, count: c.count, channels: [c] };
        blocks.push(current);
      }
    }
  }
  return blocks;
}
