/**
 * CRC-16/MODBUS (polynomial 0xA001 reflected, initial 0xFFFF; Modbus over serial line §6.2.2),
 * sent low byte first. Pure, shared by the gateway and the emulated RTU slaves.
 */
export function crc16(data: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}
