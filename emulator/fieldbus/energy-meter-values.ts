import type { RtuSlave } from './modbus-rtu-slave.js';

/**
 * The register map of an emulated Modbus RTU electricity meter, shared by `spore-fieldbus-sim`
 * and the demo (emulator/README.md documents it):
 *   holding 0–1  power, float32 ABCD, W
 *   holding 2–3  energy, uint32, Wh (counts up with the power)
 *   holding 4    voltage, uint16, 0.1 V
 *   holding 5    counter, uint16, +1 per tick (wraps at 65536)
 *   input 0      temperature, int16, 0.1 °C
 *   coil 0       relay, toggles every 10 ticks
 */
export const ENERGY_METER_REGISTERS = { power: 0, energy: 2, voltage: 4, counter: 5, temperature: 0, relay: 0 } as const;

export class EnergyMeterValues {
  private energy: number; // Wh
  private ticks = 0;

  constructor(
    readonly slave: RtuSlave,
    energyWh = 1_234_567,
  ) {
    this.energy = energyWh;
  }

  /** Advances the meter by `dtS` seconds of wall time: values change over time. */
  tick(dtS: number, nowMs = Date.now()): void {
    const t = nowMs / 1000 + this.slave.unitId * 17; // s; each unit has its own phase
    const power = 1800 + 600 * Math.sin(t / 30) + Math.random() * 50; // W
    this.energy += (power * dtS) / 3600;
    const r = ENERGY_METER_REGISTERS;
    this.slave.setFloat(r.power, power);
    this.slave.setUint32(r.energy, Math.round(this.energy));
    this.slave.holding[r.voltage] = Math.round(2300 + 30 * Math.sin(t / 7)); // 0.1 V
    this.slave.holding[r.counter] = (this.slave.holding[r.counter]! + 1) & 0xffff;
    const temperature = Math.round(215 + 40 * Math.sin(t / 60)); // 0.1 °C
    this.slave.input[r.temperature] = temperature & 0xffff;
    if (this.ticks++ % 10 === 0) this.slave.coils[r.relay] = this.slave.coils[r.relay] ? 0 : 1;
  }
}
