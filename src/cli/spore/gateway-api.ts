import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { WebSocket } from 'ws';
import type { FirmwareRecord } from '../../firmware/firmware-store.js';
import type { RolloutPlanView, RolloutView } from '../../firmware/rollout-types.js';
import { CliFailure } from './cli-options.js';

/** Deadline of one plain call to the gateway, ms (uploads and node calls may take longer). */
const CALL_TIMEOUT_MS = 30_000;
const UPLOAD_TIMEOUT_MS = 15 * 60_000;

/**
 * The gateway's REST API as the `spore` CLI uses it. Every failure becomes a
 * CliFailure carrying the gateway's own `{error, message}`.
 */
export class GatewayApi {
  constructor(
    readonly baseUrl: string,
    /** Sent as `Authorization: Bearer` when the gateway has API keys configured. */
    private readonly apiKey?: string,
  ) {}

  private authHeaders(): Record<string, string> {
    return this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path);
  }

  listFirmware(): Promise<FirmwareRecord[]> {
    return this.get('/api/firmware');
  }

  getRollout(id: string): Promise<RolloutView> {
    return this.get(`/api/rollouts/${encodeURIComponent(id)}`);
  }

  createRollout(body: Record<string, unknown>): Promise<RolloutPlanView> {
    return this.post('/api/rollouts', body);
  }

  /** Streams a file from disk as multipart (never read whole into memory). */
  async uploadFile<T>(path: string, file: string, fields: Record<string, string> = {}): Promise<T> {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', await openAsBlob(file), basename(file));
    return this.request<T>('POST', path, form, UPLOAD_TIMEOUT_MS);
  }

  /** A WebSocket on /ws that hands every JSON message to `onMessage`; resolves once open. */
  openEvents(onMessage: (message: Record<string, any>) => void): Promise<{ close(): void }> {
    const ws = new WebSocket(`${this.baseUrl.replace(/^http/, 'ws')}/ws`, { headers: this.authHeaders() });
    ws.on('message', (data) => {
      try {
        onMessage(JSON.parse(data.toString()) as Record<string, any>);
      } catch {
        // not ours
      }
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ close: () => ws.terminate() }));
      ws.once('error', (err) => reject(this.unreachable(err)));
    });
  }

  /** A call whose answer is streamed (a backup) or whose body is a file (a restore); fails like the others on non-2xx. */
  async raw(method: string, path: string, body?: Blob, contentType?: string): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        body,
        headers: { ...this.authHeaders(), ...(contentType ? { 'content-type': contentType } : {}) },
        signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    if (!res.ok) await this.fail(res, method, path);
    return res;
  }

  private async fail(res: Response, method: string, path: string): Promise<never> {
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    const detail = errorDetail(parsed, text);
    const hint = res.status === 401 ? ' — give the key with -api-key or SPORE_API_KEY' : res.status === 403 ? ' — this needs an admin key' : '';
    throw new CliFailure(`the gateway answered ${res.status} to ${method} ${path.split('?')[0]}: ${detail}${hint}`, { status: res.status, ...(typeof parsed === 'object' ? (parsed as object) : { body: text }) });
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.request<T>(method, path, body === undefined ? undefined : JSON.stringify(body), CALL_TIMEOUT_MS);
  }

  private async request<T>(method: string, path: string, body: string | FormData | undefined, timeoutMs: number): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        body,
        headers: { ...this.authHeaders(), ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}) },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    if (!res.ok) {
      const detail = errorDetail(parsed, text);
      const hint = res.status === 401 ? ' — give the key with -api-key or SPORE_API_KEY' : res.status === 403 ? ' — this needs an admin key' : '';
      throw new CliFailure(`the gateway answered ${res.status} to ${method} ${path.split('?')[0]}: ${detail}${hint}`, { status: res.status, ...(typeof parsed === 'object' ? (parsed as object) : { body: text }) });
    }
    return parsed as T;
  }

  private unreachable(err: unknown): CliFailure {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code ?? (err as Error).name ?? String(err);
    return new CliFailure(`cannot reach the gateway at ${this.baseUrl} (${cause}); start it, or point --gateway / SPORE_GATEWAY at it`);
  }
}

/** What to do about an option the CLI has for an overridable refusal (`override` in the answer, issue 12 §18). */
const CLI_OVERRIDE: Record<string, string> = { force: 'pass -force to store it anyway' };

/** The gateway's `{error, message}` as one line; an overridable refusal names the CLI's option, not the API field. */
function errorDetail(parsed: unknown, text: string): string {
  const e = parsed as { error?: string; message?: string; override?: string; reason?: string };
  if (typeof e !== 'object' || !e || !e.message) return text.slice(0, 200);
  const how = e.override ? CLI_OVERRIDE[e.override] : undefined;
  const message = how && e.reason ? `${e.reason}; ${how}` : e.message;
  return `${message}${e.error ? ` (${e.error})` : ''}`;
}
