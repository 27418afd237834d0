import type { Duplex } from 'node:stream';
import { serveFrames } from './serve-frames.js';
import { crc16 } from '../../src/protocol/crc16.js';

/**
 * Emulated Modbus RTU slaves on one line (a serial port, or a TCP socket carrying RTU frames as
 * a serial device server does): FC1-6, 15, 16 on 65,536 holding/input registers and coils per
 * unit. A unit id not in the set stays silent, as on a real bus.
 */
export class RtuSlave {
  readonly holding = new Uint16Array(65536);
  readonly input = new Uint16Array(65536);
  readonly coils = new Uint8Array(65536);

  constructor(readonly unitId: number) {}

  /** Writes a float32 (big-endian words, ABCD) into two holding registers. */
  setFloat(address: number, value: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatBE(value, 0);
    this.holding[address] = b.readUInt16BE(0);
    this.holding[address + 1] = b.readUInt16BE(2);
  }

  setUint32(address: number, value: number): void {
    this.holding[address] = (value >>> 16) & 0xffff;
    this.holding[address + 1] = value & 0xffff;
  }
}

function withCrc(body: Buffer): Buffer {
  const out = Buffer.alloc(body.length + 2);
  body.copy(out);
  out.writeUInt16LE(crc16(body), body.length);
  return out;
}

/** Length of a request frame from its first bytes, or undefined until enough have arrived. */
function requestLength(buf: Buffer): number | undefined {
  if (buf.length < 2) return undefined;
  const fc = buf[1]!;
  if (fc >= 1 && fc <= 6) return 8;
  if (fc === 15 || fc === 16) return buf.length < 7 ? undefined : 9 + buf[6]!;
  return -1; // unknown function: resynchronise
}

export class RtuSlaveSet {
  readonly slaves: Map<number, RtuSlave>;
  requests = 0;

  constructor(slaves: RtuSlave[]) {
    this.slaves = new Map(slaves.map((s) => [s.unitId, s]));
  }

  serve(stream: Duplex): void {
    serveFrames(
      stream,
      (buffer) => {
        const length = requestLength(buffer);
        if (length === undefined || buffer.length < length) return undefined;
        // Noise or a broken frame: drop a byte and look for the next one.
        if (length < 0 || buffer.readUInt16LE(length - 2) !== crc16(buffer.subarray(0, length - 2))) return { used: 1 };
        return { used: length, frame: buffer.subarray(0, length) };
      },
      (frame) => this.answer(frame),
    );
  }

  answer(frame: Buffer): Buffer | undefined {
    this.requests++;
    const slave = this.slaves.get(frame[0]!);
    if (!slave) return undefined;
    const fc = frame[1]!;
    const address = frame.readUInt16BE(2);
    const countOrValue = frame.readUInt16BE(4);
    const exception = (code: number) => withCrc(Buffer.from([slave.unitId, fc | 0x80, code]));
    switch (fc) {
      case 1:
      case 2: {
        if (countOrValue < 1 || countOrValue > 2000 || address + countOrValue > 65536) return exception(3);
        const bytes = Buffer.alloc(Math.ceil(countOrValue / 8));
        for (let i = 0; i < countOrValue; i++) if (slave.coils[address + i]) bytes[i >> 3]! |= 1 << (i & 7);
        return withCrc(Buffer.concat([Buffer.from([slave.unitId, fc, bytes.length]), bytes]));
      }
      case 3:
      case 4: {
        if (countOrValue < 1 || countOrValue > 125 || address + countOrValue > 65536) return exception(3);
        const table = fc === 3 ? slave.holding : slave.input;
        const data = Buffer.alloc(countOrValue * 2);
        for (let i = 0; i < countOrValue; i++) data.writeUInt16BE(table[address + i]!, i * 2);
        return withCrc(Buffer.concat([Buffer.from([slave.unitId, fc, data.length]), data]));
      }
      case 5:
        slave.coils[address] = countOrValue === 0xff00 ? 1 : 0;
        return withCrc(frame.subarray(0, 6));
      case 6:
        slave.holding[address] = countOrValue;
        return withCrc(frame.subarray(0, 6));
      case 15:
        for (let i = 0; i < countOrValue; i++) slave.coils[address + i] = (frame[7 + (i >> 3)]! >> (i & 7)) & 1;
        return withCrc(frame.subarray(0, 6));
      case 16:
        for (let i = 0; i < countOrValue; i++) slave.holding[address + i] = frame.readUInt16BE(7 + i * 2);
        return withCrc(frame.subarray(0, 6));
      default:
        return exception(1);
    }
  }
}
