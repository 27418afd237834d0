import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
import { withTimeout } from '../connector-base.js';
import { openSerial, openTcpLine, type SerialSettings } from '../serial/serial-line.js';
import { RtuFramePort, type ByteLine } from './rtu-frame-port.js';

export type { ModbusClient };

type ModbusClientClass = new (port?: unknown) => ModbusClient;
let modbusClass: Promise<ModbusClientClass> | undefined;

/**
 * modbus-serial (and serialport below it) is loaded with the first Modbus line, not at start-up
 * (issue 16 §3, idle memory). A CommonJS module whose module.exports is the client class (its
 * typings call it the default export).
 */
function loadModbusClient(): Promise<ModbusClientClass> {
  modbusClass ??= import('modbus-serial').then((m) => m.default as unknown as ModbusClientClass);
  return modbusClass;
}

/**
 * How a Modbus connector reaches its devices; everything above (plans, merged reads, decoding,
 * writes, per-device health) is the shared core in modbus-connector.ts. All three hand back a
 * modbus-serial client: it encodes requests, checks CRCs and decodes answers.
 */
export interface ModbusTransport {
  /** Where the line is, for messages: "127.0.0.1:502", "/dev/ttyUSB0". */
  readonly where: string;
  /**
   * Modbus TCP: a server that stops answering hangs (reconnect). On an RTU line a timeout is
   * one silent slave: the line is fine and moves on to the next device.
   */
  readonly timeoutIsLineFailure: boolean;
  /** Opens the line; `onClose` is called when it closes by itself later. */
  open(timeoutMs: number, onClose: (reason: string) => void): Promise<ModbusClient>;
}

function watch(client: ModbusClient, onClose: (reason: string) => void, logError: (err: unknown) => void): void {
  // modbus-serial re-emits port errors; without a listener they would crash the process.
  client.on('error', logError);
  client.on('close', () => onClose('the line closed'));
}

export function destroyClient(client: ModbusClient | undefined): void {
  if (!client) return;
  try {
    client.destroy(() => undefined);
  } catch {
    // already closed
  }
}

/** Modbus TCP (MBAP header), one connection to a server or a TCP→RTU gateway. */
export function modbusTcpTransport(host: string, port: number, logError: (err: unknown) => void): ModbusTransport {
  return {
    where: `${host}:${port}`,
    timeoutIsLineFailure: true,
    async open(timeoutMs, onClose) {
      const ModbusRTU = await loadModbusClient();
      const client = new ModbusRTU();
      client.on('error', logError);
      try {
        // No `timeout` option here: modbus-serial would make it an idle timeout of the socket.
        await withTimeout(client.connectTCP(host, { port }), timeoutMs, 'connect');
      } catch (err) {
        destroyClient(client);
        throw err;
      }
      client.on('close', () => onClose('the device closed the connection'));
      return client;
    },
  };
}

async function openRtu(openLine: () => Promise<ByteLine>, onClose: (reason: string) => void, logError: (err: unknown) => void): Promise<ModbusClient> {
  const ModbusRTU = await loadModbusClient();
  const client = new ModbusRTU(new RtuFramePort(openLine));
  await new Promise<void>((resolve, reject) => client.open((err: unknown) => (err ? reject(err) : resolve())));
  watch(client, onClose, logError);
  return client;
}

/** Modbus RTU on a serial line (RS-485/RS-232 adapter). */
export function modbusRtuTransport(settings: SerialSettings, logError: (err: unknown) => void): ModbusTransport {
  return {
    where: settings.path,
    timeoutIsLineFailure: false,
    open: (timeoutMs, onClose) => openRtu(() => openSerial(settings, timeoutMs), onClose, logError),
  };
}

/** RTU frames (with their CRC) on a TCP socket, as serial device servers forward a line; no MBAP header. */
export function modbusRtuTcpTransport(host: string, port: number, logError: (err: unknown) => void): ModbusTransport {
  return {
    where: `${host}:${port}`,
    timeoutIsLineFailure: false,
    open: (timeoutMs, onClose) => openRtu(() => openTcpLine(host, port, timeoutMs), onClose, logError),
  };
}
