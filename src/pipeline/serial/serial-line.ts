import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { z } from 'zod';
import { withTimeout } from '../connector-base.js';

/**
 * Serial lines and their TCP stand-ins (a serial device server forwarding the line's bytes),
 * shared by the field-bus connectors (modbus-rtu, modbus-rtu-tcp, mbus, mbus-tcp).
 * `serialport` is loaded only when a serial connector starts: its native binding
 * (prebuilt for Linux/macOS/Windows in the npm package) is not needed otherwise.
 */

export const PARITIES = ['none', 'even', 'odd'] as const;
export type Parity = (typeof PARITIES)[number];

export interface SerialSettings {
  path: string;
  baudRate: number;
  parity: Parity;
  dataBits: 7 | 8;
  stopBits: 1 | 2;
}

/** The line settings of a serial connector; defaults differ by bus (Modbus 9600 8N1, M-Bus 2400 8E1). */
export function serialShape(defaults: { baudRate: number; parity: Parity }) {
  return {
    /** The serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/… */
    path: z.string({ error: 'path is required (the serial device, e.g. /dev/ttyUSB0)' }).min(1, 'path is required (the serial device, e.g. /dev/ttyUSB0)'),
    baudRate: z.number().int().min(50).max(4_000_000).default(defaults.baudRate),
    parity: z.enum(PARITIES).default(defaults.parity),
    dataBits: z.union([z.literal(7), z.literal(8)], { error: 'dataBits must be 7 or 8' }).default(8),
    stopBits: z.union([z.literal(1), z.literal(2)], { error: 'stopBits must be 1 or 2' }).default(1),
  };
}

/** host/port of a serial device server (RTU or M-Bus frames on a plain TCP socket). */
export function tcpLineShape(defaultPort: number) {
  return {
    host: z.string({ error: 'host is required (the serial device server)' }).min(1),
    port: z.number().int().min(1).max(65535).default(defaultPort),
  };
}

type SerialPortClass = typeof import('serialport').SerialPort;
let serialPortClass: Promise<SerialPortClass> | undefined;

/** An open line: its byte stream and how to close it. */
export interface OpenLine {
  stream: Duplex;
  close(): void;
}

/** Opens a serial line (raw, no flow control); rejects with the OS's reason (ENOENT, EACCES, EBUSY). */
export async function openSerial(settings: SerialSettings, timeoutMs: number): Promise<OpenLine> {
  serialPortClass ??= import('serialport').then((m) => m.SerialPort);
  const SerialPort = await serialPortClass;
  const port = new SerialPort({
    path: settings.path,
    baudRate: settings.baudRate,
    parity: settings.parity,
    dataBits: settings.dataBits,
    stopBits: settings.stopBits,
    autoOpen: false,
  });
  await withTimeout(
    new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve()))),
    timeoutMs,
    `open ${settings.path}`,
  ).catch((err: unknown) => {
    if (port.isOpen) port.close(() => undefined);
    throw err;
  });
  return {
    stream: port,
    // close(), not destroy(): a destroyed SerialPort keeps its file descriptor (and its lock).
    close: () => {
      if (port.isOpen) port.close(() => undefined);
    },
  };
}

/** Opens a TCP connection to a serial device server. */
export async function openTcpLine(host: string, port: number, timeoutMs: number): Promise<OpenLine> {
  const socket = connect({ host, port, noDelay: true });
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('error', reject);
      }),
      timeoutMs,
      `connect to ${host}:${port}`,
    );
  } catch (err) {
    socket.destroy();
    throw err;
  }
  socket.removeAllListeners('error');
  return { stream: socket, close: () => socket.destroy() };
}

/** Silence between two frames by the Modbus RTU rule: 3.5 characters (11 bits each), 1.75 ms above 19200 baud; ms. */
export function rtuSilenceMs(baudRate: number): number {
  return baudRate > 19_200 ? 2 : Math.ceil((3.5 * 11 * 1000) / baudRate);
}
