import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { crc16 } from '../../protocol/crc16.js';

/**
 * A byte stream to a line of RTU slaves: a serial port, or a TCP socket to a serial device
 * server, with how to close it (a SerialPort is closed, not destroyed: destroy() keeps its fd).
 */
export interface ByteLine {
  stream: Duplex;
  close(): void;
}

/** Bytes kept while waiting for an answer; an RTU frame is at most 256 bytes (Modbus over serial line §2.5.1). */
const MAX_BUFFER = 512;
const EXCEPTION_LENGTH = 5; // unit, fc|0x80, code, crc (2)

/**
 * The expected length of the answer to an RTU request (Modbus Application Protocol §6), or
 * undefined for function codes this gateway does not send.
 */
export function rtuAnswerLength(request: Buffer): number | undefined {
  const fc = request[1];
  switch (fc) {
    case 1:
    case 2:
      return 3 + Math.ceil(request.readUInt16BE(4) / 8) + 2;
    case 3:
    case 4:
      return 3 + 2 * request.readUInt16BE(4) + 2;
    case 5:
    case 6:
    case 15:
    case 16:
      return 8;
    default:
      return undefined;
  }
}

/**
 * The port object modbus-serial's client talks to (`new ModbusRTU(port)`), framing RTU over any
 * byte stream. modbus-serial encodes requests, checks CRCs and decodes answers; this port only
 * finds where the answer to the request in flight starts and ends. Unlike modbus-serial's own
 * buffered port it drops everything received before each request, so a late answer of a slave
 * that already timed out can never be taken for the answer of the next one (issue 13 §3), and it
 * runs on a TCP socket as well (RTU over TCP, as serial device servers forward it).
 */
export class RtuFramePort extends EventEmitter {
  private line: ByteLine | undefined;
  private buffer = Buffer.alloc(0);
  private unit = -1;
  private fc = -1;
  private expected = 0;
  /** Frames that looked like the answer but failed their CRC (counted, then dropped). */
  badFrames = 0;
  // modbus-serial keeps its transaction ids on the port; RTU has one transaction at a time.
  _transactionIdRead = 1;
  _transactionIdWrite = 1;

  constructor(private readonly openLine: () => Promise<ByteLine>) {
    super();
  }

  get isOpen(): boolean {
    return this.line !== undefined && !this.line.stream.destroyed;
  }

  open(callback: (err?: Error | null) => void): void {
    this.openLine().then(
      (line) => {
        this.line = line;
        const { stream } = line;
        stream.on('data', (chunk: Buffer) => this.received(chunk));
        stream.on('error', (err: Error) => this.emit('error', err));
        stream.once('close', () => {
          if (this.line !== line) return;
          this.line = undefined;
          line.close();
          this.emit('close');
        });
        callback(null);
      },
      (err: Error) => callback(err),
    );
  }

  write(data: Buffer): void {
    this.buffer = Buffer.alloc(0);
    this.unit = data[0]!;
    this.fc = data[1]!;
    this.expected = rtuAnswerLength(data) ?? 0;
    this.line?.stream.write(data);
  }

  close(callback?: (err?: Error | null) => void): void {
    this.destroy();
    callback?.(null);
  }

  destroy(): void {
    const line = this.line;
    this.line = undefined;
    line?.close();
  }

  private received(chunk: Buffer): void {
    if (this.expected === 0) return; // nothing asked: noise, or a late answer
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > MAX_BUFFER) this.buffer = this.buffer.subarray(this.buffer.length - MAX_BUFFER);
    // The answer normally starts at 0; scanning on skips line noise in front of it.
    for (let i = 0; i + EXCEPTION_LENGTH <= this.buffer.length; i++) {
      if (this.buffer[i] !== this.unit) continue;
      const fc = this.buffer[i + 1];
      const length = fc === this.fc ? this.expected : fc === (this.fc | 0x80) ? EXCEPTION_LENGTH : 0;
      if (length === 0 || i + length > this.buffer.length) continue;
      const frame = this.buffer.subarray(i, i + length);
      if (frame.readUInt16LE(length - 2) !== crc16(frame.subarray(0, length - 2))) {
        this.badFrames++;
        continue;
      }
      this.expected = 0;
      this.buffer = Buffer.alloc(0);
      this.emit('data', Buffer.from(frame));
      return;
    }
  }
}
