import type { LiveSink, PipelineRecord, SinkContext, SinkDefinition } from '../types.js';
import { websocketSinkSchema, type WebsocketSinkConfig } from './websocket-schema.js';

/**
 * The `websocket` sink: every record goes to /ws clients as topic `telemetry/<device>`
 * (CONTRACT §5), the record's fields plus `topic` and `timestamp`, through the bus
 * (`pipeline/telemetry`, forwarded by api/ws-bridge.ts). Live only: a client that
 * is not connected does not get past records (use the mqtt sink for that).
 */
class WebsocketSink implements LiveSink {
  readonly durable = false;
  readonly type = 'websocket';
  readonly up = true;
  private sent = 0;

  constructor(
    readonly id: string,
    private readonly ctx: SinkContext,
  ) {}

  start(): void {}

  async stop(): Promise<void> {}

  write(records: readonly PipelineRecord[]): void {
    for (const record of records) {
      this.ctx.bus.emit('pipeline/telemetry', record);
      this.sent++;
    }
  }

  counters(): { sent: number; dropped: number } {
    return { sent: this.sent, dropped: 0 };
  }

  healthDetails(): Record<string, unknown> {
    return {};
  }
}

export const websocketSink: SinkDefinition<WebsocketSinkConfig> = {
  type: 'websocket',
  schema: websocketSinkSchema,
  create: (config, ctx) => new WebsocketSink(config.id, ctx),
};
