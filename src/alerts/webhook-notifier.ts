import { createHmac } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { NotifyConfig } from './config-schema.js';

export type WebhookConfig = NonNullable<NotifyConfig['webhook']>;

/** Deliveries waiting at most; beyond, the oldest is dropped (a dead receiver must not grow memory). */
const MAX_QUEUE = 500;

export interface WebhookStats {
  delivered: number;
  failed: number;
  dropped: number;
  queued: number;
  lastError: string | null;
}

/** `sha256=<hex>` of the body with the secret (the header a receiver checks). */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/**
 * Delivers alert events to a webhook (issue 15 §2): a JSON POST per event,
 * in order, each with a timeout and retries with a doubling delay; signed
 * with HMAC-SHA256 in `X-Spore-Signature` when a secret is configured.
 */
export class WebhookNotifier {
  private readonly queue: string[] = [];
  private running = false;
  private stopped = false;
  private readonly counters: WebhookStats = { delivered: 0, failed: 0, dropped: 0, queued: 0, lastError: null };
  private wake: (() => void) | undefined;

  constructor(
    private readonly config: WebhookConfig,
    private readonly logger: Logger,
  ) {}

  send(event: unknown): void {
    if (this.stopped) return;
    if (this.queue.length >= MAX_QUEUE) {
      this.queue.shift();
      this.counters.dropped++;
    }
    this.queue.push(JSON.stringify(event));
    void this.drain();
  }

  stats(): WebhookStats {
    return { ...this.counters, queued: this.queue.length };
  }

  /** Stops after the delivery in progress; what is queued is dropped. */
  stop(): void {
    this.stopped = true;
    this.counters.dropped += this.queue.splice(0).length;
    this.wake?.();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.stopped && this.queue.length > 0) {
        const body = this.queue[0]!;
        const ok = await this.deliver(body);
        if (this.queue[0] === body) this.queue.shift();
        if (ok) this.counters.delivered++;
        else this.counters.failed++;
      }
    } finally {
      this.running = false;
    }
  }

  private async deliver(body: string): Promise<boolean> {
    const { url, secret, timeoutMs, retries, retryDelayMs, headers } = this.config;
    let delay = retryDelayMs;
    for (let attempt = 0; attempt <= retries && !this.stopped; attempt++) {
      if (attempt > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          t.unref();
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        delay *= 2;
        if (this.stopped) break;
      }
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'spore-gateway', ...headers, ...(secret ? { 'x-spore-signature': signBody(secret, body) } : {}) },
          body,
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'error',
        });
        await res.body?.cancel();
        if (res.ok) {
          this.counters.lastError = null;
          return true;
        }
        this.counters.lastError = `HTTP ${res.status}`;
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        this.counters.lastError = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
      }
    }
    // The URL may carry credentials: log its origin only.
    this.logger.warn({ webhook: new URL(url).origin, error: this.counters.lastError, attempts: retries + 1 }, 'alerts: webhook delivery failed');
    return false;
  }
}
