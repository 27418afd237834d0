import type { Duplex } from 'node:stream';
import { serveFrames } from './serve-frames.js';
import {
  ACK,
  ADDRESS_BROADCAST,
  ADDRESS_SELECTED,
  CI_RSP_VARIABLE,
  CI_SELECT,
  C_RSP_UD,
  C_SND_NKE,
  decodeFrame,
  encodeLong,
  encodeVariableData,
  MbusFrameError,
  selectionMatches,
  type RecordSpec,
} from '../../src/protocol/mbus-codec.js';

/**
 * An emulated M-Bus meter (EN 13757): answers SND_NKE with E5h, REQ_UD2 with an RSP_UD of
 * variable data records whose values change at every readout, and a secondary-address
 * selection (SND_UD CI 52h to FDh) with E5h when it matches.
 */
export class MbusMeter {
  /** Readouts served; the counters (energy, volume, on time) advance with it. */
  readouts = 0;
  /** The next RSP_UD goes out with a wrong checksum (fault injection for tests). */
  corruptNext = false;
  selected = false;

  constructor(
    readonly address: number,
    readonly id: string,
    readonly manufacturer = 'SPO',
    readonly medium = 0x04, // heat
    readonly version = 1,
  ) {}

  /** The heat meter's records, 18 of them: energy, volume, temperatures, power, flow, time points … */
  records(now = new Date()): RecordSpec[] {
    const n = this.readouts;
    return [
      { dif: 0x04, vif: 0x06, raw: 12_345 + n }, // 0 energy, 32-bit int, kWh (10^3 Wh)
      { dif: 0x0c, vif: 0x14, raw: 4_567_89 + n }, // 1 volume, 8-digit BCD, 10^-2 m³
      { dif: 0x02, vif: 0x5a, raw: 654 }, // 2 flow temperature, 16-bit, 10^-1 °C → 65.4
      { dif: 0x02, vif: 0x5e, raw: 421 }, // 3 return temperature → 42.1
      { dif: 0x02, vif: 0x61, raw: 2330 }, // 4 temperature difference, 10^-2 K → 23.3
      { dif: 0x04, vif: 0x2b, raw: 5_120 }, // 5 power, W → 5120
      { dif: 0x04, vif: 0x3b, raw: 1_234 }, // 6 volume flow, 10^-3 m³/h → 1.234
      { dif: 0x0c, vif: 0x78, raw: Number(this.id) }, // 7 fabrication number, BCD
      { dif: 0x04, vif: 0x6d, raw: now }, // 8 time point, date and time (type F)
      { dif: 0x02, vif: 0x22, raw: 100 + n }, // 9 on time, hours → s
      { dif: 0x0b, vif: 0x0e, raw: 123_456 }, // 10 energy, 6-digit BCD, 10^6 J
      { dif: 0x01, vif: 0x65, raw: -5 }, // 11 external temperature, 8-bit signed, 10^-2 °C → -0.05
      { dif: 0x01, vif: 0x69, raw: 15 }, // 12 pressure, 8-bit, 10^-2 bar → 0.15
      { dif: 0x06, vif: 0x1b, raw: 987_654 }, // 13 mass, 48-bit int, kg
      { dif: 0x02, vif: 0x6c, raw: new Date(Date.UTC(2026, 0, 31)) }, // 14 time point, date (type G)
      { dif: 0x02, vif: [0xfd, 0x48], raw: 2301 }, // 15 voltage, 10^-1 V → 230.1
      { dif: 0x05, vif: 0x13, raw: 1.5 }, // 16 volume, 32-bit real, 10^-3 m³ → 0.0015
      { dif: 0x04, vif: 0x06, raw: 11_000, storage: 1 }, // 17 energy, storage 1 (last billing date)
      { dif: 0x0a, vif: 0x3e, raw: -12 }, // 18 volume flow, 4-digit BCD negative, m³/h → -12
    ];
  }

  /** The RSP_UD long frame of one readout (and advances the counters). */
  response(accessNumber: number): Buffer {
    const data = encodeVariableData(
      { id: this.id, manufacturer: this.manufacturer, version: this.version, medium: this.medium, accessNumber, status: 0 },
      this.records(),
    );
    this.readouts++;
    const frame = encodeLong(C_RSP_UD, this.address, CI_RSP_VARIABLE, data);
    if (this.corruptNext) {
      this.corruptNext = false;
      frame[frame.length - 2] = (frame[frame.length - 2]! + 1) & 0xff;
    }
    return frame;
  }
}

/**
 * A set of meters on one line (a serial port, or a TCP connection as a serial device server
 * forwards it): reads request frames from the stream, answers as the addressed meter would.
 */
export class MbusMeterSet {
  private access = 0;
  readonly meters: Map<number, MbusMeter>;
  /** Requests seen (all addresses), for tests. */
  requests = 0;

  constructor(meters: MbusMeter[]) {
    this.meters = new Map(meters.map((m) => [m.address, m]));
  }

  /** Serves one line until it closes. */
  serve(stream: Duplex): void {
    serveFrames(
      stream,
      (buffer) => {
        const found = decodeFrame(buffer);
        return found && { used: found.used, ...(found.frame instanceof MbusFrameError ? {} : { frame: found.frame }) };
      },
      (frame) => this.answer(frame),
    );
  }

  private target(a: number): MbusMeter[] {
    if (a === ADDRESS_SELECTED) return [...this.meters.values()].filter((m) => m.selected);
    if (a === ADDRESS_BROADCAST) return [...this.meters.values()];
    const m = this.meters.get(a);
    return m ? [m] : [];
  }

  answer(frame: ReturnType<typeof decodeFrame> extends infer R ? (R extends { frame: infer F } ? Exclude<F, MbusFrameError> : never) : never): Buffer | undefined {
    this.requests++;
    if (frame.kind === 'ack') return undefined;
    if (frame.kind === 'short') {
      const meters = this.target(frame.a);
      if (frame.c === C_SND_NKE) {
        // SND_NKE to FDh ends the selection (EN 13757-3 §11.3).
        if (frame.a === ADDRESS_SELECTED) for (const m of meters) m.selected = false;
        return meters.length === 1 && frame.a !== ADDRESS_BROADCAST ? Buffer.from([ACK]) : undefined;
      }
      if ((frame.c & 0xcf) === 0x4b) {
        // REQ_UD2 (5Bh/7Bh): only one meter may answer.
        if (meters.length !== 1 || frame.a === ADDRESS_BROADCAST) return undefined;
        this.access = (this.access + 1) & 0xff;
        return meters[0]!.response(this.access);
      }
      return undefined;
    }
    // Long frames: SND_UD; a selection to FDh selects the matching meter, deselects the others.
    if (frame.a === ADDRESS_SELECTED && frame.ci === CI_SELECT) {
      let matched = 0;
      for (const m of this.meters.values()) {
        m.selected = selectionMatches(frame.data, m);
        if (m.selected) matched++;
      }
      return matched === 1 ? Buffer.from([ACK]) : undefined;
    }
    return this.target(frame.a).length === 1 ? Buffer.from([ACK]) : undefined;
  }
}
