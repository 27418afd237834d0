import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GatewayError } from '../../errors.js';
import { errorMessage, withTimeout } from '../connector-base.js';
import { PollingConnector } from '../polling-connector.js';
import type { ChannelSpec, ChannelValue, ConnectorContext, ConnectorDefinition, DeviceSpec, NetworkNode, Reading } from '../types.js';
// Types only: zwave-js (~90 MB on disk, a large RSS once loaded) is imported in start().
import type * as ZwaveJs from 'zwave-js';
import type { CommandClasses as CommandClassesEnum, SecurityClass as SecurityClassEnum } from '@zwave-js/core';
import { zwaveConnectorSchema, type ZwaveConfig } from './zwave-schema.js';

type Zw = typeof ZwaveJs & { CommandClasses: typeof CommandClassesEnum; SecurityClass: typeof SecurityClassEnum };

interface ResolvedChannel {
  device: string;
  node: number;
  name: string;
  commandClass: string | number;
  ccId: number | undefined;
  endpoint: number;
  property: string | number;
  propertyKey: string | number | undefined;
  writeProperty: string | number;
  spec: ChannelSpec;
}

interface DevicePlan {
  id: string;
  node: number;
  pollMs: number;
  channels: Map<string, ResolvedChannel>;
}

let library: Promise<Zw> | undefined;
function loadLibrary(): Promise<Zw> {
  library ??= Promise.all([import('zwave-js'), import('@zwave-js/core')]).then(([zw, core]) => ({ ...zw, CommandClasses: core.CommandClasses, SecurityClass: core.SecurityClass }) as Zw);
  library.catch(() => (library = undefined));
  return library;
}

const SUCCESS = new Set(['Success', 'SuccessUnsupervised', 'Working']);

/**
 * The `zwave` connector (issue 14 §1): zwave-js in-process on a serial port or tcp:// (ser2net).
 * Values arrive as zwave-js value events (listener), optionally refreshed every `pollMs`.
 * When the driver fails (zwave-js gives up on an unreachable port by itself after about 10 s),
 * this destroys it and builds a new one with backoff, forever: the connector always comes back.
 */
export class ZwaveConnector extends PollingConnector<ZwaveConfig> {
  readonly type = 'zwave';
  private readonly plans: DevicePlan[];
  private readonly byNode = new Map<number, DevicePlan>();
  private driver: ZwaveJs.Driver | undefined;
  private zw: Zw | undefined;
  private failed: (() => void) | undefined;
  private pollTimers: NodeJS.Timeout[] = [];
  private inclusion: { state: 'idle' | 'including' | 'excluding'; pin?: (pin: string | false) => void; dsk?: string; lastResult?: string } = { state: 'idle' };

  constructor(config: ZwaveConfig, ctx: ConnectorContext) {
    super(config, ctx, config.reconnect);
    this.plans = config.devices.map((d) => {
      const channels = new Map<string, ResolvedChannel>();
      for (const c of d.channels) {
        const writeProperty = c.writeProperty ?? c.property;
        channels.set(c.name, {
          device: d.id,
          node: d.node,
          name: c.name,
          commandClass: c.commandClass,
          ccId: typeof c.commandClass === 'number' ? c.commandClass : undefined,
          endpoint: c.endpoint,
          property: c.property,
          propertyKey: c.propertyKey,
          writeProperty,
          // Writable when said so, or when a writeProperty is given.
          spec: { name: c.name, transform: c.transform, writable: c.writable ?? c.writeProperty !== undefined },
        });
      }
      const plan = { id: d.id, node: d.node, pollMs: d.pollMs, channels };
      this.byNode.set(d.node, plan);
      return plan;
    });
  }

  staticDevices(): DeviceSpec[] {
    return this.plans.map((p) => ({ id: p.id, channels: [...p.channels.values()].map((c) => c.spec) }));
  }

  channelsOf(device: string): ChannelSpec[] | undefined {
    const p = this.plans.find((x) => x.id === device);
    return p ? [...p.channels.values()].map((c) => c.spec) : undefined;
  }

  /**
   * The node's status as zwave-js knows it: alive, dead, asleep, awake, unknown; `absent` when
   * the controller does not know the node (not included yet, or excluded).
   */
  deviceState(device: string): string | undefined {
    const p = this.plans.find((x) => x.id === device);
    if (!p) return undefined;
    const driver = this.readyDriver();
    const node = driver?.controller.nodes.get(p.node);
    if (driver && !node) return 'absent';
    if (!node || !this.zw) return 'unknown';
    return (this.zw.NodeStatus[node.status] ?? 'unknown').toLowerCase();
  }

  protected override interrupt(): void {
    this.failed?.();
  }

  async write(device: string, channel: string, value: ChannelValue): Promise<void> {
    const p = this.plans.find((x) => x.id === device);
    const c = p?.channels.get(channel);
    if (!p || !c) throw new GatewayError('channel_not_found', `device ${device} has no channel ${channel}`);
    const { driver, zw } = this.requireDriver();
    const node = driver.controller.nodes.get(c.node);
    if (!node) throw new GatewayError('device_unavailable', `the controller does not know node ${c.node}; see GET /api/connectors/${this.id}/nodes`);
    const valueId = { commandClass: c.ccId!, endpoint: c.endpoint, property: c.writeProperty, ...(c.propertyKey !== undefined ? { propertyKey: c.propertyKey } : {}) };
    const metadata = node.getValueMetadata(valueId) as { type?: string; writeable?: boolean; min?: number; max?: number } | undefined;
    const typed = coerce(value, metadata?.type, `${device}.${channel}`);
    if (metadata?.type === 'number' && typeof typed === 'number' && ((metadata.min !== undefined && typed < metadata.min) || (metadata.max !== undefined && typed > metadata.max))) {
      throw new GatewayError('invalid_value', `${device}.${channel} takes ${metadata.min ?? '-∞'} to ${metadata.max ?? '∞'}, not ${typed}`);
    }
    let result: { status: number; message?: string };
    try {
      result = await withTimeout(node.setValue(valueId, typed), 30_000, 'set value');
    } catch (err) {
      throw new GatewayError('device_write_failed', `${device}.${channel}: ${errorMessage(err)}`);
    }
    const status = zw.SetValueStatus[result.status] ?? String(result.status);
    if (!SUCCESS.has(status)) throw new GatewayError('device_write_failed', `${device}.${channel}: ${status}${result.message ? ` (${result.message})` : ''}`);
  }

  async listNodes(): Promise<NetworkNode[]> {
    const { driver, zw } = this.requireDriver();
    return [...driver.controller.nodes.values()]
      .sort((a, b) => a.id - b.id)
      .map((node) => {
        const cfg = node.deviceConfig;
        const ccs = node.getSupportedCCInstances?.() ?? [];
        return {
          id: node.id,
          manufacturer: cfg?.manufacturer ?? (node.manufacturerId !== undefined ? `0x${node.manufacturerId.toString(16).padStart(4, '0')}` : null),
          product: cfg?.label ?? cfg?.description ?? (node.productId !== undefined ? `0x${(node.productType ?? 0).toString(16).padStart(4, '0')}:0x${node.productId.toString(16).padStart(4, '0')}` : null),
          commandClasses: [...new Set(ccs.map((cc) => zw.CommandClasses[cc.ccId] ?? `0x${cc.ccId.toString(16)}`))].sort(),
          status: node.isControllerNode ? 'controller' : (zw.NodeStatus[node.status] ?? 'unknown').toLowerCase(),
          device: this.byNode.get(node.id)?.id ?? null,
          security: node.isControllerNode ? null : this.securityOf(node),
        };
      });
  }

  /** The highest security class granted to the node (S2_AccessControl … S0_Legacy), `none`, or null while unknown. */
  private securityOf(node: ZwaveJs.ZWaveNode): string | null {
    const cls = node.getHighestSecurityClass();
    if (cls === undefined || !this.zw) return null;
    return cls === this.zw.SecurityClass.None ? 'none' : (this.zw.SecurityClass[cls] ?? null);
  }

  /** The inclusion/exclusion state (the nodes list carries it, so a UI polling it sees a PIN prompt). */
  inclusionStatus(): Record<string, unknown> {
    return this.inclusionView();
  }

  /** `POST …/include`: {} starts (S2 when supported), {"pin": "12345"} answers the DSK prompt, {"stop": true} stops. */
  async include(body: unknown): Promise<Record<string, unknown>> {
    const b = body && typeof body === 'object' && !Array.isArray(body) ? (body as { pin?: unknown; stop?: unknown; strategy?: unknown }) : undefined;
    if (!b) throw new GatewayError('bad_request', 'send {} to start inclusion, {"pin": "12345"} to answer the S2 PIN prompt, or {"stop": true}');
    const { driver, zw } = this.requireDriver();
    if (b.pin !== undefined) {
      if (typeof b.pin !== 'string' || !/^\d{5}$/.test(b.pin)) throw new GatewayError('bad_request', 'pin must be the 5 digits printed on the device (the first block of its DSK)');
      const answer = this.inclusion.pin;
      if (!answer) throw new GatewayError('conflict', 'no device is waiting for a PIN');
      this.inclusion.pin = undefined;
      answer(b.pin);
      return this.inclusionView();
    }
    if (b.stop === true) {
      if (this.inclusion.state === 'including') await this.controllerCall(() => driver.controller.stopInclusion(), 'stop inclusion');
      this.inclusion.pin?.(false);
      this.inclusion = { state: 'idle' };
      return this.inclusionView();
    }
    if (this.inclusion.state !== 'idle') throw new GatewayError('conflict', `${this.inclusion.state === 'including' ? 'inclusion' : 'exclusion'} is already running; send {"stop": true} first`);
    if (this.inclusion.pin) throw new GatewayError('conflict', 'a device is waiting for its S2 PIN: send {"pin": "12345"} or {"stop": true}');
    if (b.strategy !== undefined && !['default', 'insecure', 's2'].includes(String(b.strategy))) throw new GatewayError('bad_request', 'strategy must be default, insecure or s2');
    const strategy = b.strategy === 'insecure' ? zw.InclusionStrategy.Insecure : b.strategy === 's2' ? zw.InclusionStrategy.Security_S2 : zw.InclusionStrategy.Default;
    const started = await this.controllerCall(
      () =>
        driver.controller.beginInclusion({
          strategy,
          userCallbacks: {
            // Grant what the device asks for: the user started the inclusion of this device.
            grantSecurityClasses: async (requested) => requested,
            // `dsk` is the device's DSK without its first block (the PIN): "-bbbbb-ccccc-…".
            validateDSKAndEnterPIN: (dsk) =>
              new Promise<string | false>((resolve) => {
                this.inclusion.dsk = dsk;
                this.inclusion.pin = resolve;
                this.ctx.logger.info({ connector: this.id }, 'zwave: an S2 device asks for its PIN (POST /api/connectors/{id}/include {"pin": …})');
              }),
            abort: () => {
              this.inclusion.pin = undefined;
            },
          },
        } as ZwaveJs.InclusionOptions),
      'begin inclusion',
    );
    if (!started) throw new GatewayError('conflict', 'the controller is busy (inclusion or exclusion already active)');
    this.inclusion = { state: 'including' };
    return this.inclusionView();
  }

  async exclude(body: unknown): Promise<Record<string, unknown>> {
    const b = body && typeof body === 'object' && !Array.isArray(body) ? (body as { stop?: unknown }) : undefined;
    if (!b) throw new GatewayError('bad_request', 'send {} to start exclusion or {"stop": true}');
    const { driver } = this.requireDriver();
    if (b.stop === true) {
      if (this.inclusion.state === 'excluding') await this.controllerCall(() => driver.controller.stopExclusion(), 'stop exclusion');
      this.inclusion = { state: 'idle' };
      return this.inclusionView();
    }
    if (this.inclusion.state !== 'idle') throw new GatewayError('conflict', `${this.inclusion.state === 'including' ? 'inclusion' : 'exclusion'} is already running; send {"stop": true} first`);
    if (this.inclusion.pin) throw new GatewayError('conflict', 'a device being included is waiting for its S2 PIN: send it or {"stop": true} to include first');
    const started = await this.controllerCall(() => driver.controller.beginExclusion(), 'begin exclusion');
    if (!started) throw new GatewayError('conflict', 'the controller is busy (inclusion or exclusion already active)');
    this.inclusion = { state: 'excluding' };
    return this.inclusionView();
  }

  private inclusionView(): Record<string, unknown> {
    return {
      state: this.inclusion.state,
      pendingPin: this.inclusion.pin !== undefined,
      ...(this.inclusion.pin && this.inclusion.dsk ? { dsk: this.inclusion.dsk } : {}),
      ...(this.inclusion.lastResult ? { lastResult: this.inclusion.lastResult } : {}),
    };
  }

  private async controllerCall<T>(op: () => Promise<T>, what: string): Promise<T> {
    try {
      return await withTimeout(op(), 30_000, what);
    } catch (err) {
      throw new GatewayError('connector_request_failed', `${what}: ${errorMessage(err)}`);
    }
  }

  private readyDriver(): ZwaveJs.Driver | undefined {
    return this.status.state === 'connected' ? this.driver : undefined;
  }

  private requireDriver(): { driver: ZwaveJs.Driver; zw: Zw } {
    const driver = this.readyDriver();
    if (!driver || !this.zw) {
      throw new GatewayError('device_unavailable', `connector ${this.id} has no Z-Wave controller ready on ${this.config.port}${this.status.stats.lastError ? ` (${this.status.stats.lastError})` : ''}`);
    }
    return { driver, zw: this.zw };
  }

  protected async run(): Promise<void> {
    let zw: Zw;
    try {
      zw = await loadLibrary();
    } catch (err) {
      this.status.error(`the zwave connector needs the zwave-js package (npm install): ${errorMessage(err)}`, true);
      return;
    }
    this.zw = zw;
    for (const p of this.plans) {
      for (const c of p.channels.values()) {
        if (c.ccId !== undefined) continue;
        const id = (zw.CommandClasses as unknown as Record<string, number>)[c.commandClass as string];
        if (typeof id === 'number') c.ccId = id;
      }
    }
    const unknown = this.plans.flatMap((p) => [...p.channels.values()].filter((c) => c.ccId === undefined).map((c) => `${p.id}.${c.name}: "${c.commandClass}"`));
    if (unknown.length > 0) {
      this.status.error(`unknown command class ${unknown.join(', ')} (use the zwave-js name, e.g. "Binary Switch", or the number)`, true);
      return;
    }
    await this.sessionLoop({
      open: async () => ({ lost: (await this.startDriver(zw)).failed }),
      close: () => {
        this.stopPolls();
        return this.destroyDriver();
      },
      failed: (err) => {
        this.status.error(`${this.config.port}: ${errorMessage(err)}`, true);
        this.ctx.logger.warn({ connector: this.id, error: errorMessage(err) }, 'zwave: driver did not start; retrying with backoff');
      },
      up: () => {
        this.ctx.logger.info({ connector: this.id, port: this.config.port, reconnects: this.status.stats.reconnects }, 'zwave: driver ready');
        this.startPolls();
      },
      lost: () => this.ctx.logger.warn({ connector: this.id, error: this.status.stats.lastError }, 'zwave: driver failed; building a new one'),
    });
  }

  private async startDriver(zw: Zw): Promise<{ failed: Promise<void> }> {
    const cacheDir = join(this.ctx.dataDir, 'zwave', this.id);
    await mkdir(cacheDir, { recursive: true });
    const keys: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(this.config.securityKeys)) if (v) keys[k] = Buffer.from(v, 'hex');
    let resolveFailed!: () => void;
    const failed = new Promise<void>((resolve) => (resolveFailed = resolve));
    let isFailed = false;
    const fail = (why: string) => {
      if (isFailed) return;
      isFailed = true;
      if (!this.stopped) this.status.error(`${this.config.port}: ${why}`, true);
      resolveFailed();
    };
    this.failed = () => fail('stopped');
    const driver = new zw.Driver(this.config.port, {
      // zwave-js logs to the console by default; the connector reports through our log instead.
      logConfig: { enabled: false, level: 'error' },
      storage: { cacheDir, lockDir: join(cacheDir, 'locks') },
      securityKeys: keys,
      emitValueUpdateAfterSetValue: true,
    });
    this.driver = driver;
    driver.on('error', (err: Error) => {
      this.ctx.logger.debug({ connector: this.id, err: errorMessage(err) }, 'zwave: driver error');
      // The driver is unusable after these (port gone, controller not answering): start over.
      const code = (err as { code?: number }).code;
      if (code === zw.ZWaveErrorCodes.Driver_Failed || /failed|closed|ECONNRESET|ECONNREFUSED/i.test(err.message)) fail(errorMessage(err));
    });
    const ready = new Promise<void>((resolve, reject) => {
      driver.once('driver ready', () => resolve());
      driver.once('error', (err: Error) => reject(err));
    });
    // zwave-js rejects start() when the port cannot be opened (refused, no such device).
    await withTimeout(driver.start(), this.config.startTimeoutMs, 'open the port');
    await withTimeout(ready, this.config.startTimeoutMs, 'the controller to be ready');
    const attach = (node: ZwaveJs.ZWaveNode) => this.attachNode(node);
    for (const node of driver.controller.nodes.values()) attach(node);
    // 'node added' comes after the security bootstrapping (S2 key exchange), before the interview.
    driver.controller.on('node added', (node: ZwaveJs.ZWaveNode, result: ZwaveJs.InclusionResult) => {
      const security = this.securityOf(node);
      const low = result?.lowSecurity ? ` with lower security than requested (${zw.SecurityBootstrapFailure[result.lowSecurityReason!] ?? 'security bootstrapping failed'})` : '';
      this.inclusion.pin = undefined;
      this.inclusion.lastResult = `node ${node.id} added${security ? ` (${security})` : ''}${low}`;
      this.ctx.logger.info({ connector: this.id, node: node.id, security, lowSecurity: result?.lowSecurity ?? false }, 'zwave: node added');
      attach(node);
    });
    driver.controller.on('inclusion failed', () => (this.inclusion.lastResult = 'inclusion failed'));
    driver.controller.on('exclusion failed', () => (this.inclusion.lastResult = 'exclusion failed'));
    driver.controller.on('node removed', (node: ZwaveJs.ZWaveNode) => {
      this.inclusion.lastResult = `node ${node.id} removed`;
      this.ctx.logger.info({ connector: this.id, node: node.id }, 'zwave: node removed');
    });
    driver.controller.on('inclusion stopped', () => this.inclusion.state === 'including' && (this.inclusion = { ...this.inclusion, state: 'idle' }));
    driver.controller.on('exclusion stopped', () => this.inclusion.state === 'excluding' && (this.inclusion = { ...this.inclusion, state: 'idle' }));
    return { failed };
  }

  private attachNode(node: ZwaveJs.ZWaveNode): void {
    const plan = this.byNode.get(node.id);
    if (!plan) return;
    const onValue = (_n: unknown, args: { commandClass: number; endpoint?: number; property: string | number; propertyKey?: string | number; newValue?: unknown; value?: unknown }) => {
      const v = 'newValue' in args ? args.newValue : args.value;
      for (const c of plan.channels.values()) {
        if (c.ccId !== args.commandClass || c.endpoint !== (args.endpoint ?? 0) || c.property !== args.property || c.propertyKey !== args.propertyKey) continue;
        const value = toChannelValue(v);
        this.status.stats.polls++;
        if (value !== undefined) this.submit({ device: plan.id, values: { [c.name]: value }, ts: Date.now() });
      }
    };
    node.on('value added', onValue as never);
    node.on('value updated', onValue as never);
    node.on('value notification', onValue as never);
    // The values zwave-js already has (from its cache or the interview) are the first readings.
    node.on('ready', () => this.readCached(node, plan));
    if (node.ready) this.readCached(node, plan);
  }

  private readCached(node: ZwaveJs.ZWaveNode, plan: DevicePlan): void {
    const values: Record<string, ChannelValue> = {};
    for (const c of plan.channels.values()) {
      const v = toChannelValue(node.getValue({ commandClass: c.ccId!, endpoint: c.endpoint, property: c.property, ...(c.propertyKey !== undefined ? { propertyKey: c.propertyKey } : {}) }));
      if (v !== undefined) values[c.name] = v;
    }
    if (Object.keys(values).length > 0) this.submit({ device: plan.id, values, ts: Date.now() });
  }

  private startPolls(): void {
    for (const plan of this.plans) {
      if (plan.pollMs <= 0) continue;
      const timer = setInterval(() => void this.poll(plan), plan.pollMs);
      timer.unref();
      this.pollTimers.push(timer);
    }
  }

  private stopPolls(): void {
    for (const t of this.pollTimers) clearInterval(t);
    this.pollTimers = [];
  }

  /** Refreshes the device's values; the answers arrive as value events (and become records there). */
  private async poll(plan: DevicePlan): Promise<void> {
    const node = this.readyDriver()?.controller.nodes.get(plan.node);
    if (!node || !this.zw || node.status === this.zw.NodeStatus.Dead) return;
    for (const c of plan.channels.values()) {
      try {
        await withTimeout(node.pollValue({ commandClass: c.ccId!, endpoint: c.endpoint, property: c.property, ...(c.propertyKey !== undefined ? { propertyKey: c.propertyKey } : {}) }), 30_000, 'poll');
      } catch (err) {
        this.status.error(`${plan.id}.${c.name}: poll: ${errorMessage(err)}`, false);
      }
    }
  }

  private submit(reading: Reading): void {
    this.ctx.submit([reading]).catch((err: unknown) => this.status.error(`could not store readings: ${errorMessage(err)}`, false));
  }

  private async destroyDriver(): Promise<void> {
    const driver = this.driver;
    this.driver = undefined;
    this.failed = undefined;
    this.inclusion.pin?.(false);
    this.inclusion = { state: 'idle' };
    if (!driver) return;
    await withTimeout(driver.destroy(), 5000, 'destroy the driver').catch((err: unknown) => this.ctx.logger.debug({ err: errorMessage(err) }, 'zwave: destroy failed'));
  }
}

function toChannelValue(v: unknown): ChannelValue | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  return undefined;
}

/** A channel value in the type the value's metadata names (boolean, number, string). */
function coerce(value: ChannelValue, type: string | undefined, what: string): ChannelValue {
  if (type === 'boolean') {
    if (value === true || value === 1 || value === 'true' || value === '1' || value === 'on') return true;
    if (value === false || value === 0 || value === 'false' || value === '0' || value === 'off') return false;
    throw new GatewayError('invalid_value', `${what} is a boolean: it takes true/false or 1/0, not ${JSON.stringify(value)}`);
  }
  if (type === 'number' || type === 'duration') {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : typeof value === 'boolean' ? Number(value) : NaN;
    if (!Number.isFinite(n)) throw new GatewayError('invalid_value', `${what} is a number, not ${JSON.stringify(value)}`);
    return n;
  }
  return value;
}

export const zwaveConnector: ConnectorDefinition<ZwaveConfig> = {
  type: 'zwave',
  schema: zwaveConnectorSchema,
  create: (config, ctx) => new ZwaveConnector(config, ctx),
};
