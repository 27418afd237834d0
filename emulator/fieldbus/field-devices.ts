import { createServer, type Server } from 'node:net';
import { MbusMeter, MbusMeterSet } from './mbus-meter.js';
import { RtuSlave, RtuSlaveSet } from './modbus-rtu-slave.js';
import { EnergyMeterValues } from './energy-meter-values.js';

/**
 * The demo's field devices on TCP (so nothing needs a serial port): an electricity meter as a
 * Modbus RTU slave behind an emulated serial device server, and an M-Bus heat meter. Values
 * change over time.
 */
export class DemoFieldDevices {
  private readonly servers: Server[] = [];
  private timer: NodeJS.Timeout | undefined;
  readonly meter = new RtuSlave(1);
  readonly heat = new MbusMeter(5, '12345678');
  rtuPort = 0;
  mbusPort = 0;

  async start(host = '127.0.0.1'): Promise<void> {
    const rtu = new RtuSlaveSet([this.meter]);
    const mbus = new MbusMeterSet([this.heat]);
    this.rtuPort = await this.listen(createServer((s) => rtu.serve(s)), host);
    this.mbusPort = await this.listen(createServer((s) => mbus.serve(s)), host);
    const values = new EnergyMeterValues(this.meter);
    const tick = () => values.tick(1); // one second of it
    tick();
    this.timer = setInterval(tick, 1000);
    this.timer.unref();
  }

  /** The pipeline section reading both. */
  pipeline(host = '127.0.0.1'): Record<string, unknown> {
    return {
      connectors: [
        {
          id: 'rtu-line',
          type: 'modbus-rtu-tcp',
          host,
          port: this.rtuPort,
          pollMs: 1000,
          timeoutMs: 500,
          devices: [
            {
              id: 'energy-meter',
              unitId: 1,
              channels: [
                { name: 'power', address: 0, type: 'float32', unit: 'W', transform: [{ round: 1 }] },
                { name: 'energy', address: 2, type: 'uint32', unit: 'Wh' },
                { name: 'voltage', address: 4, type: 'uint16', unit: 'V', transform: [{ scale: 0.1 }, { round: 1 }] },
              ],
            },
          ],
        },
        {
          id: 'heat-lan',
          type: 'mbus-tcp',
          host,
          port: this.mbusPort,
          pollMs: 5000,
          timeoutMs: 1000,
          devices: [
            {
              id: 'heat-meter',
              address: 5,
              channels: [
                { name: 'energy', record: 0 },
                { name: 'volume', record: 1 },
                { name: 'flowTemp', record: 2 },
                { name: 'returnTemp', record: 3 },
                { name: 'power', record: 5 },
                { name: 'flow', record: 6 },
              ],
            },
          ],
        },
      ],
      sinks: [{ id: 'live', type: 'websocket' }],
    };
  }

  private listen(server: Server, host: string): Promise<number> {
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve((server.address() as { port: number }).port));
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
  }
}
