import { z } from 'zod';
import { Backoff, Sleeper } from '../backoff.js';
import { channelPathsSchema, compileChannels, extractChannels, jsonPathSchema, parseTimestamp } from '../channel-paths.js';
import { BaseConnector, errorMessage } from '../connector-base.js';
import { compileJsonPath } from '../json-path.js';
import { nameSchema } from '../names.js';
import type { ChannelSpec, ConnectorContext, ConnectorDefinition, DeviceSpec } from '../types.js';

export const httpConnectorSchema = z
  .object({
    id: nameSchema('connector id'),
    type: z.literal('http'),
    url: z.string({ error: 'url is required (http:// or https://)' }).regex(/^https?:\/\/[^\s/]+/, 'url must be http:// or https:// with a host'),
    method: z.enum(['GET', 'POST']).default('GET'),
    headers: z.record(z.string(), z.string()).default({}),
    /** Request body for POST. */
    body: z.string().optional(),
    /** ms between the starts of two polls. */
    pollMs: z.number().int().min(100).default(60_000),
    /** ms to wait for the answer. */
    timeoutMs: z.number().int().min(100).default(5000),
    device: nameSchema('device id'),
    channels: channelPathsSchema,
    /** Optional JSON path of the reading's timestamp (RFC3339, or epoch s/ms). */
    ts: jsonPathSchema.optional(),
  })
  .strict();

export type HttpConnectorConfig = z.infer<typeof httpConnectorSchema>;

/**
 * The `http` connector: polls a JSON endpoint and extracts channels with JSON paths. After a
 * failure it retries with backoff (never slower than pollMs) until the endpoint answers again.
 */
class HttpConnector extends BaseConnector<HttpConnectorConfig> {
  readonly type = 'http';
  private readonly channels;
  private readonly ts;
  private readonly sleeper = new Sleeper();
  private readonly backoff: Backoff;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;

  constructor(config: HttpConnectorConfig, ctx: ConnectorContext) {
    super(config, ctx);
    this.channels = compileChannels(config.channels);
    this.ts = config.ts ? compileJsonPath(config.ts) : undefined;
    this.backoff = new Backoff(Math.min(500, config.pollMs), config.pollMs);
  }

  staticDevices(): DeviceSpec[] {
    return [{ id: this.config.device, channels: this.channelsOf(this.config.device)! }];
  }

  channelsOf(device: string): ChannelSpec[] | undefined {
    if (device !== this.config.device) return undefined;
    return this.channels.map((c) => ({ name: c.name, transform: c.transform, writable: false, unit: c.unit }));
  }

  start(): void {
    this.stopped = false;
    this.status.state = 'connecting';
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.sleeper.wake();
    await this.loop;
    this.status.state = 'stopped';
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const startedAt = Date.now();
      let document: unknown;
      try {
        document = await this.fetchOnce();
      } catch (err) {
        if (this.stopped) break;
        this.status.error(`${this.config.method} ${this.config.url}: ${errorMessage(err)}`, true);
        await this.sleeper.sleep(this.backoff.next());
        continue;
      }
      this.backoff.reset();
      this.status.connected();
      this.status.stats.polls++;
      const { values, problems } = extractChannels(document, this.channels);
      for (const p of problems) this.status.error(p, false);
      if (Object.keys(values).length > 0) {
        try {
          await this.ctx.submit([{ device: this.config.device, values, ts: (this.ts && parseTimestamp(this.ts(document))) || Date.now() }]);
        } catch (err) {
          this.status.error(`could not store readings: ${errorMessage(err)}`, false);
        }
      }
      await this.sleeper.sleep(startedAt + this.config.pollMs - Date.now());
    }
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
