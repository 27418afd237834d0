import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { openSerial, type OpenLine, type SerialSettings } from '../../src/pipeline/serial/serial-line.js';
import { EnergyMeterValues } from './energy-meter-values.js';
import { MbusMeter, MbusMeterSet } from './mbus-meter.js';
import { RtuSlave, RtuSlaveSet } from './modbus-rtu-slave.js';

/** Where one bus is served: a serial device (a real port, or one end of a pty pair) and/or a TCP port. */
export interface BusTargets {
  serial?: SerialSettings;
  /** port 0: any free one (see `tcpPort` after start). */
  tcp?: { host: string; port: number };
}

export interface FieldBusSimOptions {
  /** A Modbus RTU slave set: these unit ids answer (energy meters, see energy-meter-values.ts); any other is silent. */
  rtu?: BusTargets & { units: number[] };
  /** An M-Bus meter set: heat meters at these primary addresses, secondary address 1000xxxx (xxxx = primary). */
  mbus?: BusTargets & { addresses: number[] };
  /** How often the RTU meters' values change, ms. */
  tickMs?: number;
  log?: (line: string) => void;
}

/** The secondary address (8-digit identification) of the emulated meter at a primary address. */
export function mbusSecondaryAddress(primary: number): string {
  return `1000${String(primary).padStart(4, '0')}`;
}

const REOPEN_MS = 1000; // a serial device that vanished is tried again this often

/**
 * `spore-fieldbus-sim`'s engine: emulated Modbus RTU slaves and M-Bus meters on a serial device
 * and/or a TCP port (RTU / M-Bus frames on a plain socket, as a serial device server forwards
 * them). A serial device that goes away (an adapter unplugged, a pty closed) is reopened until
 * it is back.
 */
export class FieldBusSim {
  readonly rtuSlaves: RtuSlave[];
  readonly meters: MbusMeter[];
  readonly rtuSet: RtuSlaveSet;
  readonly mbusSet: MbusMeterSet;
  rtuTcpPort = 0;
  mbusTcpPort = 0;
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly lines = new Set<OpenLine>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly options: FieldBusSimOptions) {
    this.rtuSlaves = (options.rtu?.units ?? []).map((u) => new RtuSlave(u));
    this.meters = (options.mbus?.addresses ?? []).map((a) => new MbusMeter(a, mbusSecondaryAddress(a)));
    this.rtuSet = new RtuSlaveSet(this.rtuSlaves);
    this.mbusSet = new MbusMeterSet(this.meters);
  }

  async start(): Promise<void> {
    const o = this.options;
    const log = o.log ?? (() => undefined);
    const tickMs = o.tickMs ?? 1000;
    const values = this.rtuSlaves.map((s) => new EnergyMeterValues(s, 1_000_000 * s.unitId));
    const tick = () => values.forEach((v) => v.tick(tickMs / 1000));
    tick();
    const timer = setInterval(tick, tickMs);
    timer.unref();
    this.timers.add(timer);
    try {
      if (o.rtu?.tcp) {
        this.rtuTcpPort = await this.listen(o.rtu.tcp, (s) => this.rtuSet.serve(s));
        log(`Modbus RTU units ${o.rtu.units.join(',')} on tcp ${o.rtu.tcp.host}:${this.rtuTcpPort}`);
      }
      if (o.mbus?.tcp) {
        this.mbusTcpPort = await this.listen(o.mbus.tcp, (s) => this.mbusSet.serve(s));
        log(`M-Bus meters ${o.mbus.addresses.join(',')} on tcp ${o.mbus.tcp.host}:${this.mbusTcpPort}`);
      }
      if (o.rtu?.serial) {
        await this.serveSerial(o.rtu.serial, (s) => this.rtuSet.serve(s), log);
        log(`Modbus RTU units ${o.rtu.units.join(',')} on serial ${o.rtu.serial.path}`);
      }
      if (o.mbus?.serial) {
        await this.serveSerial(o.mbus.serial, (s) => this.mbusSet.serve(s), log);
        log(`M-Bus meters ${o.mbus.addresses.join(',')} on serial ${o.mbus.serial.path}`);
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Opens the device (the first time an error is the caller's), then keeps it open: reopened after it vanishes. */
  private async serveSerial(settings: SerialSettings, serve: (stream: Duplex) => void, log: (line: string) => void): Promise<void> {
    const open = async (): Promise<void> => {
      const line = await openSerial(settings, 5000);
      if (this.stopped) return line.close();
      this.lines.add(line);
      serve(line.stream);
      line.stream.once('close', () => {
        this.lines.delete(line);
        if (this.stopped) return;
        log(`serial ${settings.path} closed; reopening every ${REOPEN_MS} ms`);
        retry();
      });
    };
    const retry = (): void => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (this.stopped) return;
        open().then(
          () => log(`serial ${settings.path} open again`),
          () => retry(),
        );
      }, REOPEN_MS);
      this.timers.add(t);
    };
    await open();
  }

  private listen(at: { host: string; port: number }, serve: (socket: Socket) => void): Promise<number> {
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      socket.setNoDelay(true);
      serve(socket);
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => resolve((server.address() as { port: number }).port));
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const line of this.lines) line.close();
    this.lines.clear();
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
  }
}
