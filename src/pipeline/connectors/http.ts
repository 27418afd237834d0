import { compileChannels, extractChannels, parseTimestamp } from '../channel-paths.js';
import { errorMessage } from '../connector-base.js';
import { compileJsonPath } from '../json-path.js';
import { PollingConnector } from '../polling-connector.js';
import type { ChannelSpec, ConnectorContext, ConnectorDefinition, DeviceSpec, Reading } from '../types.js';
import { httpConnectorSchema, type HttpConnectorConfig } from './http-schema.js';

/**
 * The `http` connector: polls a JSON endpoint and extracts channels with JSON paths. After a
 * failure it retries with backoff (never slower than pollMs) until the endpoint answers again.
 */
class HttpConnector extends PollingConnector<HttpConnectorConfig> {
  readonly type = 'http';
  private readonly channels;
  private readonly ts;
  private abort: AbortController | undefined;

  constructor(config: HttpConnectorConfig, ctx: ConnectorContext) {
    super(config, ctx, { initialMs: Math.min(500, config.pollMs), maxMs: config.pollMs });
    this.channels = compileChannels(config.channels);
    this.ts = config.ts ? compileJsonPath(config.ts) : undefined;
  }

  staticDevices(): DeviceSpec[] {
    return [{ id: this.config.device, channels: this.channelsOf(this.config.device)! }];
  }

  channelsOf(device: string): ChannelSpec[] | undefined {
    if (device !== this.config.device) return undefined;
    return this.channels.map((c) => ({ name: c.name, transform: c.transform, writable: false, unit: c.unit }));
  }

  protected override interrupt(): void {
    this.abort?.abort();
  }

  protected run(): Promise<void> {
    return this.pollEvery(this.config.pollMs, () => this.pollOnce(), (err) => `${this.config.method} ${this.config.url}: ${errorMessage(err)}`);
  }

  private async pollOnce(): Promise<Reading[]> {
    const document = await this.fetchOnce();
    const { values, problems } = extractChannels(document, this.channels);
    for (const p of problems) this.status.error(p, false);
    if (Object.keys(values).length === 0) return [];
    return [{ device: this.config.device, values, ts: (this.ts && parseTimestamp(this.ts(document))) || Date.now() }];
  }

  private async fetchOnce(): Promise<unknown> {
    this.abort = new AbortController();
    const timer = setTimeout(() => this.abort?.abort(new Error(`no answer within ${this.config.timeoutMs} ms`)), this.config.timeoutMs);
    try {
      const res = await fetch(this.config.url, {
        method: this.config.method,
        headers: this.config.headers,
        ...(this.config.body !== undefined && this.config.method === 'POST' ? { body: this.config.body } : {}),
        signal: this.abort.signal,
      });
      const text = await res.text();
      if (res.status < 200 || res.status > 299) throw new Error(`HTTP ${res.status}`);
      try {
        return JSON.parse(text);
      } catch {
        throw new Error('the answer is not JSON');
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

export const httpConnector: ConnectorDefinition<HttpConnectorConfig> = {
  type: 'http',
  schema: httpConnectorSchema,
  create: (config, ctx) => new HttpConnector(config, ctx),
};
