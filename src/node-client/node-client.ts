import { createReadStream } from 'node:fs';
import http from 'node:http';
import { Readable } from 'node:stream';
import { limitMembers, MemberLimiter } from '../cluster/node-limits.js';
import { forEachArrayItem } from '../protocol/json-array-items.js';
import { GatewayError } from '../errors.js';
import type {
  ClusterMembersResponse,
  NodeStatusResponse,
  ProxyMethod,
  TaskAction,
  TasksStatusResponse,
} from '../protocol/types.js';

export interface NodeClientOptions {
  /** The nodes' HTTP port (CONTRACT §1 `-node-port`). */
  port: number;
  /** Deadline of one call, ms (CONTRACT §4: default 5 s). */
  timeoutMs: number;
  /** Sockets kept across all nodes; bounds the gateway's fan-out. */
  maxSockets?: number;
  /** Largest node answer accepted, bytes; protects the gateway's memory. */
  maxResponseBytes?: number;
  /** Largest member list accepted, bytes (default MEMBERS_MAX_RESPONSE_BYTES). */
  maxMembersResponseBytes?: number;
}

export interface NodeResponse {
  status: number;
  contentType: string | undefined;
  body: Buffer;
  /** Round trip, ms. */
  latencyMs: number;
}

export interface CallParam {
  name: string;
  value: string;
  location: 'query' | 'body';
}

export interface FirmwareUploadOptions {
  /** Bytes of the image on disk. */
  size: number;
  filename?: string;
  /** Called as bytes leave for the node. */
  onProgress?: (sent: number, total: number) => void;
  /** No byte may stall longer than this, ms; the whole upload may take longer. */
  idleTimeoutMs?: number;
  /**
   * Aborts the upload (a cancelled rollout, a whole-upload deadline). The call
   * rejects with the signal's reason when it is a GatewayError.
   */
  signal?: AbortSignal;
}

const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024; // bytes
/**
 * bytes: the member list's own bound. It is the one answer that grows with the cluster: ~700 B
 * a member from the emulator, ~7 MB at the 10,000 members kept (MAX_MEMBERS), and a firmware
 * listing a larger API or more resources passes the general 8 MiB at a few thousand nodes —
 * and then the whole list fails, for every node. 32 MiB is 10,000 members of ~3.3 kB; it is read
 * one member at a time (protocol/json-array-items.ts), so only the raw bytes are held whole.
 */
export const MEMBERS_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/**
 * Typed client for the SPORE node HTTP API (CONTRACT §3). Every call has a
 * deadline; failures become GatewayErrors (node_unreachable, node_timeout,
 * node_bad_response) that every adapter maps the same way.
 */
export class NodeClient {
  private readonly agent: http.Agent;

  constructor(private readonly options: NodeClientOptions) {
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: 4, // per node: ESP8266 web servers handle only a few connections
      maxTotalSockets: options.maxSockets ?? 64,
      maxFreeSockets: 2,
      timeout: options.timeoutMs,
    });
  }

  baseUrl(ip: string): string {
    return this.options.port === 80 ? `http://${ip}` : `http://${ip}:${this.options.port}`;
  }

  async getStatus(ip: string): Promise<{ status: NodeStatusResponse; latencyMs: number }> {
    const res = await this.request(ip, 'GET', '/api/node/status');
    return { status: this.expectJsonObject<NodeStatusResponse>(ip, res), latencyMs: res.latencyMs };
  }

  async getMembers(ip: string): Promise<ClusterMembersResponse> {
    const res = await this.request(ip, 'GET', '/api/cluster/members', { maxBytes: this.options.maxMembersResponseBytes ?? MEMBERS_MAX_RESPONSE_BYTES });
    // Never pass null members or raw HTML hostnames on to the UI (issue 12 §13).
    const limiter = new MemberLimiter({ count: 0 });
    let scanned: ReturnType<typeof forEachArrayItem> = null;
    if (res.status >= 200 && res.status < 300) {
      try {
        // One member at a time (protocol/json-array-items.ts): at 10,000 members the answer is ~7 MB.
        scanned = forEachArrayItem(res.body, 'members', (m) => limiter.add(m));
      } catch {
        throw new GatewayError('node_bad_response', `node ${ip} answered something that is not a JSON object`);
      }
    }
    if (scanned) return { ...(scanned.rest as object), members: limiter.members };
    // Not the usual shape: parsed whole, with the same checks and answers.
    const body = this.expectJsonObject<ClusterMembersResponse>(ip, res);
    if (!Array.isArray(body.members)) throw new GatewayError('node_bad_response', `node ${ip} answered members without a "members" array`);
    return { ...body, members: limitMembers(body.members, { count: 0 }) };
  }

  async getTasks(ip: string): Promise<TasksStatusResponse> {
    return this.expectJsonObject(ip, await this.request(ip, 'GET', '/api/tasks/status'));
  }

  async controlTask(ip: string, task: string, action: TaskAction): Promise<NodeResponse> {
    return this.request(ip, 'POST', '/api/tasks/control', {
      body: new URLSearchParams({ task, action }).toString(),
      contentType: 'application/x-www-form-urlencoded',
    });
  }

  async restart(ip: string): Promise<NodeResponse> {
    return this.request(ip, 'POST', '/api/node/restart');
  }

  /** A generic call (the proxy); `body` params go form-urlencoded (CONTRACT §4). */
  async call(ip: string, method: ProxyMethod, uri: string, params: CallParam[] = []): Promise<NodeResponse> {
    const query = new URLSearchParams();
    const form = new URLSearchParams();
    for (const p of params) (p.location === 'body' ? form : query).append(p.name, p.value);
    const qs = query.toString();
    const path = qs ? `${uri}${uri.includes('?') ? '&' : '?'}${qs}` : uri;
    const hasBody = [...form.keys()].length > 0;
    return this.request(ip, method, path, hasBody ? { body: form.toString(), contentType: 'application/x-www-form-urlencoded' } : {});
  }

  /**
   * Streams a firmware image from disk to the node's /api/node/update as
   * multipart/form-data, field `file` (CONTRACT §3). A Content-Length is sent
   * because ESP8266 web servers do not accept chunked uploads.
   */
  async uploadFirmware(ip: string, imagePath: string, opts: FirmwareUploadOptions): Promise<NodeResponse> {
    const boundary = `----spore-gateway-${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
    const filename = (opts.filename ?? 'firmware.bin').replace(/["\r\n\\]/g, '_');
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const total = opts.size;
    let sent = 0;
    const file = createReadStream(imagePath, { highWaterMark: 16 * 1024 });
    async function* body(): AsyncGenerator<Buffer> {
      yield head;
      for await (const chunk of file) {
        sent += (chunk as Buffer).length;
        opts.onProgress?.(sent, total);
        yield chunk as Buffer;
      }
      yield tail;
    }
    return this.request(ip, 'POST', '/api/node/update', {
      body: Readable.from(body()),
      contentType: `multipart/form-data; boundary=${boundary}`,
      contentLength: head.length + total + tail.length,
      idleTimeoutMs: opts.idleTimeoutMs ?? this.options.timeoutMs,
      signal: opts.signal,
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private expectJsonObject<T>(ip: string, res: NodeResponse): T {
    if (res.status < 200 || res.status >= 300) {
      throw new GatewayError('node_bad_response', `node ${ip} answered HTTP ${res.status}`);
    }
    try {
      const value: unknown = JSON.parse(res.body.toString('utf8'));
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
      return value as T;
    } catch {
      throw new GatewayError('node_bad_response', `node ${ip} answered something that is not a JSON object`);
    }
  }

  /** One HTTP exchange with a node, bounded in time and in answer size. */
  request(
    ip: string,
    method: string,
    path: string,
    opts: { body?: string | Readable; contentType?: string; contentLength?: number; idleTimeoutMs?: number; signal?: AbortSignal; maxBytes?: number } = {},
  ): Promise<NodeResponse> {
    const started = performance.now();
    const maxBytes = opts.maxBytes ?? this.options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    return new Promise<NodeResponse>((resolve, reject) => {
      const headers: Record<string, string | number> = { accept: 'application/json, */*' };
      if (opts.contentType) headers['content-type'] = opts.contentType;
      if (typeof opts.body === 'string') headers['content-length'] = Buffer.byteLength(opts.body);
      else if (opts.contentLength !== undefined) headers['content-length'] = opts.contentLength;
      let settled = false;
      const onAbort = (): void => {
        const reason: unknown = opts.signal?.reason;
        fail(reason instanceof GatewayError ? reason : new GatewayError('node_timeout', `call to node ${ip} was aborted`));
      };
      const fail = (err: GatewayError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        opts.signal?.removeEventListener('abort', onAbort);
        req.destroy();
        // A streamed body (a firmware file) must not keep its file open after a failure.
        if (opts.body instanceof Readable) opts.body.destroy();
        reject(err);
      };
      const req = http.request(
        { host: ip, port: this.options.port, method, path, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              fail(new GatewayError('node_bad_response', `node ${ip} answered more than ${maxBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(deadline);
            opts.signal?.removeEventListener('abort', onAbort);
            resolve({
              status: res.statusCode ?? 0,
              contentType: res.headers['content-type'],
              body: Buffer.concat(chunks),
              latencyMs: Math.round((performance.now() - started) * 100) / 100,
            });
          });
          res.on('error', () => fail(new GatewayError('node_unreachable', `connection to node ${ip} broke while reading its answer`)));
        },
      );
      // Streaming uploads are bounded by idleness (no progress), plain calls by a whole-call deadline.
      const armDeadline = (): NodeJS.Timeout =>
        setTimeout(
          () => fail(new GatewayError('node_timeout', `node ${ip} did not answer ${method} ${path.split('?')[0]} within ${opts.idleTimeoutMs ?? this.options.timeoutMs} ms`)),
          opts.idleTimeoutMs ?? this.options.timeoutMs,
        );
      let deadline = armDeadline();
      req.on('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? 'error';
        fail(new GatewayError('node_unreachable', `node ${ip} is unreachable (${code})`));
      });
      if (opts.signal?.aborted) {
        onAbort();
        return;
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.body instanceof Readable) {
        const body = opts.body;
        body.on('data', () => {
          clearTimeout(deadline);
          deadline = armDeadline();
        });
        body.on('error', () => fail(new GatewayError('internal', 'could not read the firmware image')));
        body.pipe(req);
      } else {
        req.end(opts.body);
      }
    });
  }
}
