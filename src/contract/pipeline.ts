/** A channel's value (issue 6 §1). */
export type ChannelValue = number | string | boolean;

/**
 * One record, exactly as every sink exports it (issue 6 §1) and as the WebSocket's
 * `telemetry/<device>` carries it (CONTRACT §5, plus `topic` and `timestamp`). `seq` increases
 * by one per device for every record sent, with no gap across restarts: a gap a consumer sees
 * always means loss.
 */
export interface PipelineRecord {
  gateway: string;
  device: string;
  connector: string;
  /** RFC3339, e.g. 2024-01-15T10:30:00.123Z */
  ts: string;
  seq: number;
  values: Record<string, ChannelValue>;
}
