import { z } from 'zod';
import { isValidName, nameSchema } from '../names.js';
import { PollingConnector } from '../polling-connector.js';
import { transformListSchema } from '../transforms/index.js';
import type { ChannelSpec, ChannelValue, ConnectorContext, ConnectorDefinition, DeviceSpec, Reading } from '../types.js';

/** Channels of a SPORE node device. */
const SPORE_CHANNELS = ['freeHeap', 'latency', 'status'] as const;
/** Units of the raw values (before any configured transform). */
const SPORE_UNITS: Record<(typeof SPORE_CHANNELS)[number], string | undefined> = { freeHeap: 'B', latency: 'ms', status: undefined };

export const sporeConnectorSchema = z
  .object({
    id: nameSchema('connector id'),
    type: z.literal('spore'),
    /** ms between two snapshots of the cluster. */
    pollMs: z.number().int().min(100).default(10_000),
    /** Prepended to each node's hostname to name its device (e.g. "node-"). */
    devicePrefix: z.string().regex(/^[A-Za-z0-9._-]{0,32}$/, 'devicePrefix must be up to 32 of letters, digits, ".", "_" or "-"').default(''),
    /** Also report DEAD nodes (their status channel says DEAD). */
    includeDead: z.boolean().default(true),
    /** Optional transforms per channel, e.g. { freeHeap: [ { deadband: 1024 } ] }. */
    channels: z
      .object(Object.fromEntries(SPORE_CHANNELS.map((c) => [c, transformListSchema.optional()])) as Record<(typeof SPORE_CHANNELS)[number], z.ZodOptional<typeof transformListSchema>>)
      .strict()
      .default({}),
  })
  .strict();

export type SporeConnectorConfig = z.infer<typeof sporeConnectorSchema>;

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
