import { isValidName } from '../names.js';
import { PollingConnector } from '../polling-connector.js';
import type { ChannelSpec, ChannelValue, ConnectorContext, ConnectorDefinition, DeviceSpec, Reading } from '../types.js';
import { SPORE_CHANNELS, sporeConnectorSchema, type SporeConnectorConfig } from './spore-schema.js';

/** Units of the raw values (before any configured transform). */
const SPORE_UNITS: Record<(typeof SPORE_CHANNELS)[number], string | undefined> = { freeHeap: 'B', latency: 'ms', status: undefined };

/**
 * The `spore` connector: every node the gateway knows (node registry, CONTRACT §2) becomes a
 * device with channels freeHeap (bytes, from its last /api/node/status), latency (ms, that
 * poll's round trip) and status (ACTIVE/INACTIVE/DEAD). It reads the registry: no extra traffic.
 */
class SporeConnector extends PollingConnector<SporeConnectorConfig> {
  readonly type = 'spore';
  private readonly specs: ChannelSpec[];
  private readonly devices = new Set<string>();

  constructor(config: SporeConnectorConfig, ctx: ConnectorContext) {
    // Reading the registry cannot fail: the backoff is never used.
    super(config, ctx, { initialMs: config.pollMs, maxMs: config.pollMs });
    this.specs = SPORE_CHANNELS.map((name) => ({ name, transform: config.channels[name] ?? [], writable: false, unit: SPORE_UNITS[name] }));
  }

  staticDevices(): DeviceSpec[] {
    return [];
  }

  channelsOf(device: string): ChannelSpec[] | undefined {
    return this.devices.has(device) ? this.specs : undefined;
  }

  override start(): void {
    super.start();
    // The registry is in-process: connected from the start.
    this.status.connected();
  }

  protected run(): Promise<void> {
    return this.pollEvery(this.config.pollMs, async () => this.snapshot());
  }

  private snapshot(): Reading[] {
    const readings: Reading[] = [];
    for (const node of this.ctx.registry.list()) {
      if (node.status === 'DEAD' && !this.config.includeDead) continue;
      const device = `${this.config.devicePrefix}${node.hostname}`;
      if (!this.devices.has(device)) {
        if (!isValidName(device) || !this.ctx.claimDevice(device)) {
          this.status.error(`node ${node.hostname}: device name "${device}" is taken or invalid`, false);
          continue;
        }
        this.devices.add(device);
      }
      const values: Record<string, ChannelValue> = { status: node.status };
      const freeHeap = node.resources?.freeHeap;
      if (typeof freeHeap === 'number') values.freeHeap = freeHeap;
      if (typeof node.latency === 'number') values.latency = node.latency;
      readings.push({ device, values });
    }
    return readings;
  }
}

export const sporeConnector: ConnectorDefinition<SporeConnectorConfig> = {
  type: 'spore',
  schema: sporeConnectorSchema,
  create: (config, ctx) => new SporeConnector(config, ctx),
};
