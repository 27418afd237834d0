/**
 * Known register contents, each value laid out in every byte/word order, shared by the
 * Modbus TCP, RTU and RTU-over-TCP tests (one core, three transports):
 * ABCD = big/big (the default), CDAB = word order little, BADC = byte order little, DCBA = both.
 */
export const TYPES_INIT = {
  hr: {
    0: [0xff85], // int16 -123, uint16 65413
    2: [0xf8a4, 0x32eb], // int32 -123456789 ABCD
    4: [0x32eb, 0xf8a4], // CDAB
    6: [0xa4f8, 0xeb32], // BADC
    8: [0xeb32, 0xa4f8], // DCBA
    10: [0xb2d0, 0x5e00], // uint32 3000000000 ABCD
    12: [0x42f6, 0xe979], // float32 123.456 ABCD
    14: [0xe979, 0x42f6], // CDAB
    16: [0xf642, 0x79e9], // BADC
    18: [0x79e9, 0xf642], // DCBA
    20: [0x4093, 0x4a45, 0x6d5c, 0xfaad], // float64 1234.5678 ABCD
    24: [0xadfa, 0x5c6d, 0x454a, 0x9340], // DCBA
    28: [0xfaad, 0x6d5c, 0x4a45, 0x4093], // CDAB
    32: [0x5e00, 0xb2d0], // uint32 3000000000 CDAB
  },
  ir: { 5: [777] },
  co: { 0: [1, 0, 1] },
  di: { 3: [1] },
};

const F32 = Math.fround(123.456);

const ch = (name: string, address: number, type: string, order: Record<string, string> = {}) => ({ name, address, type, ...order });

/** Channels reading TYPES_INIT in every type and order, and bits. */
export const TYPE_CHANNELS = [
  ch('i16', 0, 'int16'),
  ch('u16', 0, 'uint16'),
  ch('i32_abcd', 2, 'int32'),
  ch('i32_cdab', 4, 'int32', { wordOrder: 'little' }),
  ch('i32_badc', 6, 'int32', { byteOrder: 'little' }),
  ch('i32_dcba', 8, 'int32', { byteOrder: 'little', wordOrder: 'little' }),
  ch('u32_abcd', 10, 'uint32'),
  ch('f32_abcd', 12, 'float32'),
  ch('f32_cdab', 14, 'float32', { wordOrder: 'little' }),
  ch('f32_badc', 16, 'float32', { byteOrder: 'little' }),
  ch('f32_dcba', 18, 'float32', { byteOrder: 'little', wordOrder: 'little' }),
  ch('f64_abcd', 20, 'float64'),
  ch('f64_dcba', 24, 'float64', { byteOrder: 'little', wordOrder: 'little' }),
  ch('f64_cdab', 28, 'float64', { wordOrder: 'little' }),
  ch('u32_cdab', 32, 'uint32', { wordOrder: 'little' }),
  { name: 'input5', kind: 'input', address: 5, type: 'uint16' },
  { name: 'coil0', kind: 'coil', address: 0 },
  { name: 'coil1', kind: 'coil', address: 1 },
  { name: 'coil2', kind: 'coil', address: 2, type: 'bool' },
  { name: 'di3', kind: 'discrete', address: 3 },
];

/** What TYPE_CHANNELS read from TYPES_INIT. */
export const TYPE_VALUES = {
  i16: -123,
  u16: 65413,
  i32_abcd: -123456789,
  i32_cdab: -123456789,
  i32_badc: -123456789,
  i32_dcba: -123456789,
  u32_abcd: 3000000000,
  u32_cdab: 3000000000,
  f32_abcd: F32,
  f32_cdab: F32,
  f32_badc: F32,
  f32_dcba: F32,
  f64_abcd: 1234.5678,
  f64_dcba: 1234.5678,
  f64_cdab: 1234.5678,
  input5: 777,
  coil0: true,
  coil1: false,
  coil2: true,
  di3: true,
};
