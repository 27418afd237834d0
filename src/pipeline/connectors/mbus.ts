import { GatewayError } from '../../errors.js';
import {
  ADDRESS_SELECTED,
  CI_SELECT,
  C_REQ_UD2,
  C_REQ_UD2_FCB,
  C_SND_NKE,
  C_SND_UD,
  decodeVariableData,
  encodeLong,
  encodeSelection,
  encodeShort,
  MbusFrameError,
  type Frame,
} from '../../protocol/mbus-codec.js';
import { initialHealth, LineError, LinePoller, type LineDevice } from '../line-poller.js';
import { MbusLink } from '../mbus/mbus-link.js';
import { openSerial, openTcpLine, type OpenLine } from '../serial/serial-line.js';
import type { ChannelSpec, ChannelValue, ConnectorContext, ConnectorDefinition, DeviceSpec } from '../types.js';
import { mbusSchema, mbusTcpSchema, type MbusConfig, type MbusTcpConfig } from './mbus-schema.js';

/**
 * M-Bus (EN 13757) meters — heat, water, electricity — on a serial line through a level
 * converter (`mbus`, default 2400 8E1) or behind a serial device server (`mbus-tcp`).
 * Each meter is initialised with SND_NKE, then read with REQ_UD2 → RSP_UD; the variable data
 * records are decoded by src/protocol/mbus-codec.ts and a channel picks one by its index.
 */

type AnyMbusConfig = MbusConfig | MbusTcpConfig;

interface MbusDevice extends LineDevice {
  address: number | undefined;
  secondary: string | undefined;
  channels: Array<{ name: string; record: number; spec: ChannelSpec; unitFixed: boolean }>;
  /** SND_NKE sent since the line opened (and since the last failure). */
  initialised: boolean;
  /** Frame count bit of the next REQ_UD2 (EN 13757-2 §5.4: toggles per successful exchange). */
  fcb: boolean;
}

class MbusConnector extends LinePoller<AnyMbusConfig, MbusDevice> {
  readonly type: string;
  protected readonly devices: MbusDevice[];
  private line: OpenLine | undefined;
  private link: MbusLink | undefined;

  constructor(config: AnyMbusConfig, ctx: ConnectorContext) {
    super(config, ctx);
    this.type = config.type;
    this.devices = config.devices.map((d) => ({
      id: d.id,
      address: d.address,
      secondary: d.secondaryAddress,
      channels: d.channels.map((c) => ({ name: c.name, record: c.record, spec: { name: c.name, transform: c.transform, writable: false, unit: c.unit }, unitFixed: c.unit !== undefined })),
      initialised: false,
      fcb: true,
      health: initialHealth(),
      dueAt: 0,
    }));
  }

  protected get where(): string {
    const c = this.config;
    return c.type === 'mbus' ? c.path : `${c.host}:${c.port}`;
  }

  protected get interFrameDelayMs(): number {
    return this.config.interFrameDelayMs;
  }

  staticDevices(): DeviceSpec[] {
    return this.devices.map((d) => ({ id: d.id, channels: d.channels.map((c) => c.spec) }));
  }

  channelsOf(device: string): ChannelSpec[] | undefined {
    return this.devices.find((d) => d.id === device)?.channels.map((c) => c.spec);
  }

  protected async openLine(): Promise<void> {
    const c = this.config;
    const line = c.type === 'mbus' ? await openSerial(c, c.timeoutMs) : await openTcpLine(c.host, c.port, c.timeoutMs);
    this.line = line;
    line.stream.on('error', (err: Error) => this.ctx.logger.debug({ connector: this.id, err }, 'M-Bus line error'));
    line.stream.once('close', () => {
      if (this.line === line) this.lineLost('the line closed');
    });
    this.link = new MbusLink(line.stream);
    for (const d of this.devices) d.initialised = false;
  }

  protected closeLine(): void {
    const line = this.line;
    this.line = undefined;
    this.link = undefined;
    line?.close();
  }

  private async ask(frame: Buffer, what: string): Promise<Frame> {
    return this.exchange(what, async () => {
      const link = this.link;
      if (!link) throw new LineError('not open');
      try {
        return await link.request(frame, this.config.timeoutMs, what);
      } catch (err) {
        // A refused frame (bad checksum, bad framing) fails this device's poll and is counted in
        // the connector's errors and the device's health: its values are never used.
        if (err instanceof MbusFrameError) {
          throw new MbusFrameError(`${what}: frame refused: ${err.message}`);
        }
        throw err;
      }
    });
  }

  private async expectAck(frame: Buffer, what: string): Promise<void> {
    const answer = await this.ask(frame, what);
    if (answer.kind !== 'ack') throw new MbusFrameError(`${what}: expected E5h, got a ${answer.kind} frame`);
  }

  protected async pollDevice(device: MbusDevice): Promise<Record<string, ChannelValue> | undefined> {
    const a = device.secondary !== undefined ? ADDRESS_SELECTED : device.address!;
    const label = device.secondary !== undefined ? `meter ${device.secondary}` : `address ${a}`;
    try {
      if (device.secondary !== undefined) {
        // Secondary addressing: select the meter, then talk to FDh (EN 13757-3 §11).
        await this.expectAck(encodeLong(C_SND_UD, ADDRESS_SELECTED, CI_SELECT, encodeSelection(device.secondary)), `select ${label}`);
      } else if (!device.initialised) {
        await this.expectAck(encodeShort(C_SND_NKE, a), `SND_NKE to ${label}`);
        device.fcb = true;
      }
      device.initialised = true;
      const answer = await this.ask(encodeShort(device.fcb ? C_REQ_UD2_FCB : C_REQ_UD2, a), `REQ_UD2 to ${label}`);
      device.fcb = !device.fcb;
      if (answer.kind !== 'long') throw new MbusFrameError(`REQ_UD2 to ${label}: expected an RSP_UD long frame, got ${answer.kind === 'ack' ? 'E5h' : 'a short frame'}`);
      if (device.secondary === undefined && answer.a !== a) throw new MbusFrameError(`REQ_UD2 to ${label}: the answer came from address ${answer.a}`);
      const response = decodeVariableData(answer.ci, answer.data);
      if (device.secondary !== undefined && response.header.id !== device.secondary) throw new MbusFrameError(`the answer came from meter ${response.header.id}, not ${device.secondary}`);
      const values: Record<string, ChannelValue> = {};
      for (const c of device.channels) {
        const r = response.records[c.record];
        if (!r) {
          this.status.error(`${device.id}.${c.name}: the meter sent ${response.records.length} records, none at index ${c.record}`, false);
          continue;
        }
        if (!c.unitFixed) c.spec.unit = r.unit ?? undefined;
        values[c.name] = r.value;
      }
      return values;
    } catch (err) {
      // The next poll starts with SND_NKE again: the meter may have reset, or lost the FCB.
      device.initialised = false;
      throw err;
    }
  }

  /** Primary addresses from..to that answer SND_NKE with E5h, probed one at a time between the polls. */
  async scan(from: number, to: number): Promise<number[]> {
    if (to > 250) throw new GatewayError('bad_request', `M-Bus primary addresses are 0-250, not ${from}-${to}`);
    if (!this.isLineOpen) throw new GatewayError('device_unavailable', `connector ${this.id}: ${this.where} is not open${this.status.stats.lastError ? ` (${this.status.stats.lastError})` : ''}`);
    const found: number[] = [];
    for (let a = from; a <= to; a++) {
      try {
        await this.expectAck(encodeShort(C_SND_NKE, a), `SND_NKE to address ${a}`);
        found.push(a);
      } catch (err) {
        if (err instanceof LineError) throw new GatewayError('device_unavailable', `connector ${this.id}: ${(err as Error).message}`);
        // A garbled answer is still a meter there (two meters answering at once collide).
        if (err instanceof MbusFrameError) found.push(a);
      }
    }
    // Whoever was initialised by the scan's SND_NKE has a reset FCB now: start over at the next poll.
    for (const d of this.devices) d.initialised = false;
    return found;
  }
}

export const mbusConnector: ConnectorDefinition<MbusConfig> = {
  type: 'mbus',
  schema: mbusSchema,
  create: (config, ctx) => new MbusConnector(config, ctx),
};

export const mbusTcpConnector: ConnectorDefinition<MbusTcpConfig> = {
  type: 'mbus-tcp',
  schema: mbusTcpSchema,
  create: (config, ctx) => new MbusConnector(config, ctx),
};
