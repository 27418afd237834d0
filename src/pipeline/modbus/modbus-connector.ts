import { GatewayError } from '../../errors.js';
import { errorMessage, withTimeout } from '../connector-base.js';
import { initialHealth, LineError, LinePoller, type LineDevice } from '../line-poller.js';
import { decodeRegisters, encodeRegisters, planReads, REGISTER_COUNT, type ModbusKind, type Order, type ReadBlock, type RegisterType } from '../modbus-codec.js';
import type { ChannelSpec, ChannelValue, ConnectorContext, DeviceSpec } from '../types.js';
import { BIT_KINDS, type ModbusCommonConfig } from './modbus-schema.js';
import { destroyClient, type ModbusClient, type ModbusTransport } from './modbus-transports.js';

interface ResolvedChannel {
  name: string;
  kind: ModbusKind;
  address: number;
  count: number;
  type: RegisterType | 'bool';
  byteOrder: Order;
  wordOrder: Order;
  spec: ChannelSpec;
}

interface ModbusDevice extends LineDevice {
  unitId: number;
  channels: Map<string, ResolvedChannel>;
  blocks: ReadBlock<ResolvedChannel>[];
}

/** A Modbus exception response (the device answered): the line itself is fine. */
function isModbusException(err: unknown): boolean {
  return typeof (err as { modbusCode?: unknown })?.modbusCode === 'number';
}

function isTimeout(err: unknown): boolean {
  const e = err as { errno?: unknown; code?: unknown; message?: unknown } | undefined;
  return e?.errno === 'ETIMEDOUT' || e?.code === 'ETIMEDOUT';
}

/** modbus-serial's "Port Not Open" (the line closed under it). */
function isPortNotOpen(err: unknown): boolean {
  return (err as { name?: unknown })?.name === 'PortNotOpenError';
}

/**
 * The shared Modbus core (issue 13 §1): holding/input registers, coils and discrete inputs of
 * several devices (unit ids) on one line, reads of neighbouring addresses merged, every data
 * type in every byte/word order, writes, per-device health. The transport (Modbus TCP, RTU on
 * a serial line, RTU over TCP) only opens the line. An exception answer (e.g. illegal address)
 * skips those channels for that poll only: the device answered.
 */
export class ModbusConnector<Config extends ModbusCommonConfig & { type: string }> extends LinePoller<Config, ModbusDevice> {
  readonly type: string;
  protected readonly devices: ModbusDevice[];
  protected override readonly connectedOnOpen: boolean;
  private client: ModbusClient | undefined;

  constructor(
    config: Config,
    ctx: ConnectorContext,
    private readonly transport: ModbusTransport,
    private readonly frameDelayMs: number,
  ) {
    super(config, ctx);
    this.type = config.type;
    // A Modbus TCP server that accepts connections may still hang: connected means "it answers".
    this.connectedOnOpen = !transport.timeoutIsLineFailure;
    this.devices = config.devices.map((d) => {
      const channels = new Map<string, ResolvedChannel>();
      for (const c of d.channels) {
        const bits = BIT_KINDS.includes(c.kind);
        const type = bits ? 'bool' : ((c.type ?? 'uint16') as RegisterType);
        channels.set(c.name, {
          name: c.name,
          kind: c.kind,
          address: c.address,
          count: type === 'bool' ? 1 : REGISTER_COUNT[type],
          type,
          byteOrder: c.byteOrder ?? config.byteOrder,
          wordOrder: c.wordOrder ?? config.wordOrder,
          spec: { name: c.name, transform: c.transform, writable: c.writable, ...(c.unit ? { unit: c.unit } : {}) },
        });
      }
      return { id: d.id, unitId: d.unitId ?? config.unitId, channels, blocks: planReads([...channels.values()], config.maxGap), health: initialHealth(), dueAt: 0 };
    });
  }

  protected get where(): string {
    return this.transport.where;
  }

  protected get interFrameDelayMs(): number {
    return this.frameDelayMs;
  }

  /** Reads per poll per device, after merging (for tests and the docs). */
  readPlan(): Array<{ device: string; reads: Array<{ kind: ModbusKind; address: number; count: number }> }> {
    return this.devices.map((p) => ({ device: p.id, reads: p.blocks.map(({ kind, address, count }) => ({ kind, address, count })) }));
  }

  staticDevices(): DeviceSpec[] {
    return this.devices.map((p) => ({ id: p.id, channels: [...p.channels.values()].map((c) => c.spec) }));
  }

  channelsOf(device: string): ChannelSpec[] | undefined {
    const plan = this.devices.find((p) => p.id === device);
    return plan ? [...plan.channels.values()].map((c) => c.spec) : undefined;
  }

  protected async openLine(): Promise<void> {
    const client = await this.transport.open(this.config.timeoutMs, (reason) => {
      if (this.client === client) this.lineLost(reason);
    });
    client.setTimeout(this.config.timeoutMs);
    this.client = client;
  }

  protected closeLine(): void {
    const client = this.client;
    this.client = undefined;
    destroyClient(client);
  }

  protected async pollDevice(device: ModbusDevice): Promise<Record<string, ChannelValue> | undefined> {
    const values: Record<string, ChannelValue> = {};
    let refused: unknown;
    for (const block of device.blocks) {
      let result: { data: Array<number | boolean>; buffer: Buffer };
      try {
        result = await this.request(device.unitId, (client) => read(client, block), `read ${block.kind} ${block.address}+${block.count}`);
      } catch (err) {
        if (!isModbusException(err)) throw err;
        // The device answered with an exception: those channels are skipped this time.
        refused = err;
        this.status.error(`${device.id}: read ${block.kind} ${block.address}+${block.count}: ${errorMessage(err)}`, false);
        continue;
      }
      for (const c of block.channels) {
        const offset = c.address - block.address;
        if (c.type === 'bool') values[c.name] = Boolean(result.data[offset]);
        else values[c.name] = decodeRegisters(result.buffer.subarray(offset * 2, (offset + c.count) * 2), c.type, c.byteOrder, c.wordOrder);
      }
    }
    // Every read refused: the device is up but gives nothing; say so in its health.
    if (refused !== undefined && Object.keys(values).length === 0) throw refused;
    return values;
  }

  async write(device: string, channel: string, value: ChannelValue): Promise<void> {
    const plan = this.devices.find((p) => p.id === device);
    const c = plan?.channels.get(channel);
    if (!plan || !c) throw new GatewayError('channel_not_found', `device ${device} has no channel ${channel}`);
    let op: (client: ModbusClient) => Promise<unknown>;
    if (c.type === 'bool') {
      const bit = toBit(value);
      if (bit === undefined) throw new GatewayError('invalid_value', `coil ${channel} takes true/false or 1/0, not ${JSON.stringify(value)}`);
      op = (client) => client.writeCoil(c.address, bit);
    } else {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      let words: number[];
      try {
        words = encodeRegisters(n, c.type, c.byteOrder, c.wordOrder);
      } catch (err) {
        throw new GatewayError('invalid_value', `channel ${channel} (${c.type}): ${Number.isNaN(n) ? `${JSON.stringify(value)} is not a number` : (err as Error).message}`);
      }
      op = (client) => (words.length === 1 ? client.writeRegister(c.address, words[0]!) : client.writeRegisters(c.address, words));
    }
    if (!this.client || this.status.state !== 'connected') {
      throw new GatewayError('device_unavailable', `connector ${this.id} is not connected to ${this.where}${this.status.stats.lastError ? ` (${this.status.stats.lastError})` : ''}`);
    }
    try {
      await this.request(plan.unitId, op, `write ${c.kind} ${c.address}`);
    } catch (err) {
      if (err instanceof LineError) this.lineFailed(err);
      throw new GatewayError('device_write_failed', `${device}.${channel}: ${errorMessage(err)}`);
    }
  }

  /**
   * Unit ids from..to that answer (any answer, an exception too) a read of holding register 0,
   * one at a time between the polls; a silent id costs one timeoutMs.
   */
  async scan(from: number, to: number): Promise<number[]> {
    if (this.transport.timeoutIsLineFailure) throw new GatewayError('bad_request', `connector ${this.id} (${this.type}) cannot scan: a silent unit id would reset the connection; scan modbus-rtu and modbus-rtu-tcp lines`);
    if (from < 1 || to > 247) throw new GatewayError('bad_request', `Modbus unit ids to scan are 1-247 (0 is broadcast), not ${from}-${to}`);
    if (!this.isLineOpen) throw new GatewayError('device_unavailable', `connector ${this.id}: ${this.where} is not open${this.status.stats.lastError ? ` (${this.status.stats.lastError})` : ''}`);
    const found: number[] = [];
    for (let unit = from; unit <= to; unit++) {
      try {
        await this.request(unit, (client) => client.readHoldingRegisters(0, 1), `scan unit ${unit}`);
        found.push(unit);
      } catch (err) {
        if (isModbusException(err)) found.push(unit);
        else if (err instanceof LineError) throw new GatewayError('device_unavailable', `connector ${this.id}: ${errorMessage(err)}`);
      }
    }
    return found;
  }

  /** One exchange on the line, in turn, with the device's unit id. Transport failures become LineError. */
  private request<T>(unitId: number, op: (client: ModbusClient) => Promise<T>, what: string): Promise<T> {
    return this.exchange(what, async () => {
      const client = this.client;
      if (!client) throw new LineError('not open');
      client.setID(unitId);
      try {
        // modbus-serial times requests out itself; this outer bound guards against a wedged port.
        return await withTimeout(op(client), this.config.timeoutMs + 1000, what);
      } catch (err) {
        if (isModbusException(err)) throw err;
        if (isPortNotOpen(err) || !this.isLineOpen || this.client !== client) throw new LineError(errorMessage(err), { cause: err });
        // Modbus TCP: anything but an exception answer means the connection is broken or hung.
        if (this.transport.timeoutIsLineFailure) throw new LineError(errorMessage(err), { cause: err });
        // On a line, modbus-serial's own timeout is one silent slave; the outer bound firing is a wedged port.
        if (isTimeout(err) && (err as { errno?: unknown }).errno === 'ETIMEDOUT') {
          throw Object.assign(new Error(`unit ${unitId}: no answer within ${this.config.timeoutMs} ms`), { code: 'ETIMEDOUT' });
        }
        if (isTimeout(err)) throw new LineError(errorMessage(err), { cause: err });
        throw err;
      }
    });
  }
}

function read(client: ModbusClient, block: ReadBlock<ResolvedChannel>): Promise<{ data: Array<number | boolean>; buffer: Buffer }> {
  switch (block.kind) {
    case 'holding':
      return client.readHoldingRegisters(block.address, block.count);
    case 'input':
      return client.readInputRegisters(block.address, block.count);
    case 'coil':
      return client.readCoils(block.address, block.count);
    case 'discrete':
      return client.readDiscreteInputs(block.address, block.count);
  }
}

function toBit(value: ChannelValue): boolean | undefined {
  if (value === true || value === 1 || value === 'true' || value === '1' || value === 'on') return true;
  if (value === false || value === 0 || value === 'false' || value === '0' || value === 'off') return false;
  return undefined;
}
