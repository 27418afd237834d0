import ModbusSerial from 'modbus-serial';
import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
import { z } from 'zod';
import { GatewayError } from '../../errors.js';
import { Backoff, Sleeper } from '../backoff.js';
import { BaseConnector, errorMessage, withTimeout } from '../connector-base.js';
import {
  decodeRegisters,
  encodeRegisters,
  MODBUS_KINDS,
  ORDERS,
  planReads,
  REGISTER_COUNT,
  REGISTER_TYPES,
  type ModbusKind,
  type Order,
  type ReadBlock,
  type RegisterType,
} from '../modbus-codec.js';
import { nameSchema } from '../names.js';
import { ALWAYS } from '../schema-util.js';
import { transformListSchema } from '../transforms/index.js';
import type { ChannelSpec, ChannelValue, ConnectorContext, ConnectorDefinition, DeviceSpec, Reading } from '../types.js';

// A CommonJS module whose module.exports is the client class (its typings call it the default export).
const ModbusRTU = ModbusSerial as unknown as new () => ModbusClient;

const CHANNEL_TYPES = [...REGISTER_TYPES, 'bool'] as const;
const BIT_KINDS: readonly ModbusKind[] = ['coil', 'discrete'];

const channelSchema = z
  .object({
    name: nameSchema('channel name'),
    /** holding/input registers, coils, discrete inputs. */
    kind: z.enum(MODBUS_KINDS).default('holding'),
    /** Zero-based address (register 40001 is holding address 0). */
    address: z.number({ error: 'address is required: a zero-based register or bit address' }).int().min(0).max(65535),
    /** Register layout; bits are always bool. Default uint16 for registers, bool for bits. */
    type: z.enum(CHANNEL_TYPES).optional(),
    byteOrder: z.enum(ORDERS).optional(),
    wordOrder: z.enum(ORDERS).optional(),
    /** Allows POST /api/devices/{id}/write (holding registers and coils only). */
    writable: z.boolean().default(false),
    transform: transformListSchema,
    /** Engineering unit of the value (e.g. "°C", "kWh"): Sparkplug B metrics carry it as the engUnit property. */
    unit: z.string().min(1).max(32).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    // ALWAYS: fields may be invalid here (reported by their own schemas); check only valid ones.
    const kind = (MODBUS_KINDS as readonly unknown[]).includes(c.kind) ? c.kind : 'holding';
    const bits = BIT_KINDS.includes(kind);
    const type = (CHANNEL_TYPES as readonly unknown[]).includes(c.type) ? c.type : undefined;
    if (bits && type !== undefined && type !== 'bool') ctx.addIssue({ code: 'custom', path: ['type'], message: `a ${kind} is a single bit: type must be bool (or left out)` });
    if (!bits && type === 'bool') ctx.addIssue({ code: 'custom', path: ['type'], message: `a ${kind} register holds a number (accepted: ${REGISTER_TYPES.join(', ')})` });
    if (c.writable === true && (kind === 'input' || kind === 'discrete')) ctx.addIssue({ code: 'custom', path: ['writable'], message: `${kind === 'input' ? 'input registers' : 'discrete inputs'} are read-only in Modbus` });
    const span = bits ? 1 : REGISTER_COUNT[(type && type !== 'bool' ? type : 'uint16') as RegisterType];
    if (Number.isInteger(c.address) && c.address + span > 65536) ctx.addIssue({ code: 'custom', path: ['address'], message: `${type ?? 'uint16'} at ${c.address} runs past the last address 65535` });
  }, ALWAYS);

const deviceSchema = z
  .object({
    id: nameSchema('device id'),
    /** Modbus unit (slave) id of this device; defaults to the connector's. */
    unitId: z.number().int().min(0).max(255).optional(),
    channels: z.array(channelSchema).min(1, 'a device needs at least one channel'),
  })
  .strict()
  .superRefine((d, ctx) => {
    const seen = new Set<string>();
    (Array.isArray(d.channels) ? d.channels : []).forEach((c, i) => {
      if (typeof c?.name !== 'string') return;
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: ['channels', i, 'name'], message: `duplicate channel name "${c.name}"` });
      seen.add(c.name);
    });
  }, ALWAYS);

export const modbusTcpSchema = z
  .object({
    id: nameSchema('connector id'),
    type: z.literal('modbus-tcp'),
    host: z.string({ error: 'host is required (the Modbus TCP server)' }).min(1),
    port: z.number().int().min(1).max(65535).default(502),
    unitId: z.number().int().min(0).max(255).default(1),
    /** ms between the starts of two polls. */
    pollMs: z.number().int().min(10).default(1000),
    /** ms to wait for a connection or an answer. */
    timeoutMs: z.number().int().min(10).default(1000),
    byteOrder: z.enum(ORDERS).default('big'),
    wordOrder: z.enum(ORDERS).default('big'),
    /** Unused addresses a merged read may span between two channels (0: only touching ones merge). */
    maxGap: z.number().int().min(0).max(124).default(0),
    reconnect: z
      .object({ initialMs: z.number().int().min(10).default(500), maxMs: z.number().int().min(10).default(30_000) })
      .strict()
      .prefault({}),
    devices: z.array(deviceSchema).min(1, 'a modbus-tcp connector needs at least one device'),
  })
  .strict();

export type ModbusTcpConfig = z.infer<typeof modbusTcpSchema>;

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

interface DevicePlan {
  id: string;
  unitId: number;
  channels: Map<string, ResolvedChannel>;
  blocks: ReadBlock<ResolvedChannel>[];
}

/** A Modbus exception response (the device answered): the connection itself is fine. */
function isModbusException(err: unknown): boolean {
  return typeof (err as { modbusCode?: unknown })?.modbusCode === 'number';
}

/**
 * The `modbus-tcp` connector: polls holding/input registers, coils and discrete inputs,
 * merging reads of neighbouring addresses. Any transport error (refused, reset, timeout)
 * closes the connection and reconnects with backoff, forever: the poller never dies.
 * An exception answer (e.g. illegal address) skips those channels for that poll only.
 */
export class ModbusTcpConnector extends BaseConnector<ModbusTcpConfig> {
  readonly type = 'modbus-tcp';
  private readonly plans: DevicePlan[];
  private readonly backoff: Backoff;
  private readonly sleeper = new Sleeper();
  private client: ModbusClient | undefined;
  private stopped = true;
  private loop: Promise<void> | undefined;
  /** Serialises requests on the one connection (polls and writes). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(config: ModbusTcpConfig, ctx: ConnectorContext) {
    super(config, ctx);
    this.backoff = new Backoff(config.reconnect.initialMs, Math.max(config.reconnect.initialMs, config.reconnect.maxMs));
    this.plans = config.devices.map((d) => {
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
          spec: { name: c.name, transform: c.transform, writable: c.writable, unit: c.unit },
        });
      }
      return { id: d.id, unitId: d.unitId ?? config.unitId, channels, blocks: planReads([...channels.values()], config.maxGap) };
    });
  }

  /** Reads per poll per device, after merging (for tests and the docs). */
  readPlan(): Array<{ device: string; reads: Array<{ kind: ModbusKind; address: number; count: number }> }> {
    return this.plans.map((p) => ({ device: p.id, reads: p.blocks.map(({ kind, address, count }) => ({ kind, address, count })) }));
  }

  staticDevices(): DeviceSpec[] {
    return this.plans.map((p) => ({ id: p.id, channels: [...p.channels.values()].map((c) => c.spec) }));
  }

  channelsOf(device: string): ChannelSpec[] | undefined {
    const plan = this.plans.find((p) => p.id === device);
    return plan ? [...plan.channels.values()].map((c) => c.spec) : undefined;
  }

  start(): void {
    this.stopped = false;
    this.status.state = 'connecting';
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.wake();
    await this.loop;
    this.dropClient();
    this.status.state = 'stopped';
  }

  async write(device: string, channel: string, value: ChannelValue): Promise<void> {
    const plan = this.plans.find((p) => p.id === device);
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
      throw new GatewayError('device_unavailable', `connector ${this.id} is not connected to ${this.config.host}:${this.config.port}${this.status.stats.lastError ? ` (${this.status.stats.lastError})` : ''}`);
    }
    try {
      await this.request(plan.unitId, op, `write ${c.kind} ${c.address}`);
    } catch (err) {
      if (!isModbusException(err)) this.transportFailed(err);
      throw new GatewayError('device_write_failed', `${device}.${channel}: ${errorMessage(err)}`);
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.client) {
        this.status.state = 'connecting';
        try {
          await this.connect();
        } catch (err) {
          this.status.error(`connect to ${this.config.host}:${this.config.port}: ${errorMessage(err)}`, true);
          await this.sleeper.sleep(this.backoff.next());
          continue;
        }
        // Connected means "the device answers": a hung device accepts TCP connections too.
        this.ctx.logger.debug({ connector: this.id, host: this.config.host, port: this.config.port }, 'modbus TCP connection open');
      }
      const startedAt = Date.now();
      try {
        await this.pollOnce();
      } catch (err) {
        // Transport failure: reconnect after a backoff, whatever it was.
        this.transportFailed(err);
        await this.sleeper.sleep(this.backoff.next());
        continue;
      }
      await this.sleeper.sleep(startedAt + this.config.pollMs - Date.now());
    }
  }

  private async connect(): Promise<void> {
    const client = new ModbusRTU();
    // modbus-serial re-emits socket errors; without a listener they would crash the process.
    client.on('error', (err: unknown) => this.ctx.logger.debug({ connector: this.id, err }, 'modbus socket error'));
    try {
      // No `timeout` option here: modbus-serial would make it an idle timeout of the socket.
      await withTimeout(client.connectTCP(this.config.host, { port: this.config.port }), this.config.timeoutMs, 'connect');
    } catch (err) {
      destroy(client);
      throw err;
    }
    client.setTimeout(this.config.timeoutMs);
    client.on('close', () => {
      if (this.client !== client) return;
      this.client = undefined;
      if (!this.stopped) {
        this.status.error('the device closed the connection', true);
        this.sleeper.wake();
      }
    });
    this.client = client;
  }

  private async pollOnce(): Promise<void> {
    const readings: Reading[] = [];
    for (const plan of this.plans) {
      const values: Record<string, ChannelValue> = {};
      for (const block of plan.blocks) {
        let result: { data: Array<number | boolean>; buffer: Buffer };
        try {
          result = await this.request(plan.unitId, (client) => read(client, block), `read ${block.kind} ${block.address}+${block.count}`);
        } catch (err) {
          if (!isModbusException(err)) throw err;
          this.deviceAnswered();
          this.status.error(`${plan.id}: read ${block.kind} ${block.address}+${block.count}: ${errorMessage(err)}`, false);
          continue;
        }
        this.deviceAnswered();
        for (const c of block.channels) {
          const offset = c.address - block.address;
          if (c.type === 'bool') values[c.name] = Boolean(result.data[offset]);
          else values[c.name] = decodeRegisters(result.buffer.subarray(offset * 2, (offset + c.count) * 2), c.type, c.byteOrder, c.wordOrder);
        }
      }
      if (Object.keys(values).length > 0) readings.push({ device: plan.id, values, ts: Date.now() });
    }
    this.status.stats.polls++;
    if (readings.length === 0) return;
    try {
      await this.ctx.submit(readings);
    } catch (err) {
      // The store refused (disk full?): counted here; the device connection is fine.
      this.status.error(`could not store readings: ${errorMessage(err)}`, false);
    }
  }

  private deviceAnswered(): void {
    if (this.status.state === 'connected') return;
    this.backoff.reset();
    this.status.connected();
    this.ctx.logger.info({ connector: this.id, host: this.config.host, port: this.config.port, reconnects: this.status.stats.reconnects }, 'modbus device answering');
  }

  /** One request on the shared connection, in turn, with the device's unit id. */
  private request<T>(unitId: number, op: (client: ModbusClient) => Promise<T>, what: string): Promise<T> {
    const run = async (): Promise<T> => {
      const client = this.client;
      if (!client) throw Object.assign(new Error('not connected'), { code: 'ENOTCONN' });
      client.setID(unitId);
      // modbus-serial times requests out itself; this outer bound guards against a wedged socket.
      return withTimeout(op(client), this.config.timeoutMs + 1000, what);
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private transportFailed(err: unknown): void {
    const message = errorMessage(err);
    this.status.error(`${this.config.host}:${this.config.port}: ${message}`, true);
    this.ctx.logger.warn({ connector: this.id, error: message }, 'modbus connection failed; reconnecting with backoff');
    this.dropClient();
  }

  private dropClient(): void {
    const client = this.client;
    this.client = undefined;
    if (client) destroy(client);
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

function destroy(client: ModbusClient): void {
  try {
    client.destroy(() => undefined);
  } catch {
    // already closed
  }
}

function toBit(value: ChannelValue): boolean | undefined {
  if (value === true || value === 1 || value === 'true' || value === '1' || value === 'on') return true;
  if (value === false || value === 0 || value === 'false' || value === '0' || value === 'off') return false;
  return undefined;
}

export const modbusTcpConnector: ConnectorDefinition<ModbusTcpConfig> = {
  type: 'modbus-tcp',
  schema: modbusTcpSchema,
  create: (config, ctx) => new ModbusTcpConnector(config, ctx),
};
