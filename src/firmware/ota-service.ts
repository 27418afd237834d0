import type { NodeAccess } from '../cluster/node-access.js';
import type { NodeRecord, NodeRegistry } from '../cluster/node-registry.js';
import { GatewayError } from '../errors.js';
import type { GatewayEventBus } from '../events/gateway-events.js';
import type { Logger } from '../logger.js';
import type { NodeClient } from '../node-client/node-client.js';
import { inspectImageFile } from './firmware-image.js';
import { OtaVerifier, type ReturnOutcome } from './ota-verifier.js';

export interface FirmwareImage {
  path: string;
  size: number;
  sha256: string;
  filename?: string;
  /** The version a node reports after booting this image (its SPORE-VERSION marker); read from the file when undefined. */
  version?: string | null;
}

/** CONTRACT §4 `POST /api/node/update` answer. */
export interface NodeUpdateResult {
  success: boolean;
  nodeIp: string;
  size: number;
  sha256: string;
  nodeResponse: unknown;
}

export interface OtaOptions {
  /** An upload making no progress (no byte accepted, no answer) this long fails: firmware.stallTimeoutMs, ms. */
  uploadIdleTimeoutMs: number;
  /** A whole upload may not take longer than this, ms. */
  uploadTimeoutMs: number;
  /** Single-node OTA: how long to wait for the node's return, ms. */
  bootTimeoutMs: number;
  /** Status reads while waiting for a node's return, ms. */
  verifyPollIntervalMs: number;
  /** Deadline of one such status read, ms. */
  statusTimeoutMs: number;
}

export interface UploadOptions {
  /** Aborts the upload (cancelled rollout, shutdown). */
  signal?: AbortSignal;
  onProgress?: (sent: number, total: number) => void;
}

export interface VerifyOptions {
  node: Pick<NodeRecord, 'ip' | 'hostname'>;
  expectedVersion: string | null;
  previousVersion: string | null;
  previousUptime: number | null;
  timeoutMs: number;
  total: number;
  signal?: AbortSignal;
  onReturned?: (ip: string) => void;
  /** Announce the verdict as `firmware/upload` (default true; false when checking an upload the gateway cut off). */
  announce?: boolean;
}

/** Progress events at most this often per upload, so a fast LAN does not flood the WebSocket. */
const PROGRESS_EVERY_MS = 250; // ms

/**
 * Over-the-air updates of one node: streams an image from disk to the node's
 * /api/node/update and reports progress on the event bus (`firmware/upload`),
 * then watches the node come back and reports `verified` or `unverified`.
 * Rollouts use the same two steps.
 */
export class OtaService {
  private readonly verifier: OtaVerifier;
  private readonly background = new Set<AbortController>();
  /** Tells whether a rollout is updating this node (hostname) right now; a single-node OTA then waits its turn (409). */
  private busyCheck: (hostname: string) => string | null = () => null;

  constructor(
    private readonly access: NodeAccess,
    private readonly registry: NodeRegistry,
    private readonly client: NodeClient,
    private readonly bus: GatewayEventBus,
    private readonly logger: Logger,
    private readonly options: OtaOptions,
  ) {
    this.verifier = new OtaVerifier(registry, client, bus, { pollIntervalMs: options.verifyPollIntervalMs, statusTimeoutMs: options.statusTimeoutMs });
  }

  /** Rollouts register who is mid-update, so two updates never hit one node at once. */
  setBusyCheck(check: (hostname: string) => string | null): void {
    this.busyCheck = check;
  }

  /** Stops background verifications (shutdown). */
  stop(): void {
    for (const controller of this.background) controller.abort(new Error('gateway stopping'));
    this.background.clear();
  }

  /**
   * CONTRACT §4 `POST /api/node/update`: answers as soon as the node answers;
   * when the node accepted the image, its return is watched in the background
   * (`firmware/upload` `verified` / `unverified`).
   */
  async updateNode(ip: unknown, image: FirmwareImage, opts: { bootTimeoutMs?: number } = {}): Promise<NodeUpdateResult> {
    const node = this.access.requireNode(ip);
    const busyWith = this.busyCheck(node.hostname);
    if (busyWith) throw new GatewayError('conflict', `node ${node.ip} is being updated by rollout ${busyWith}; pause or cancel it first`);
    const expectedVersion = image.version !== undefined ? image.version : (await inspectImageFile(image.path)).markerVersion;
    const previousVersion = node.version;
    const previousUptime = node.uptime;
    const result = await this.upload(node, image);
    if (result.success) {
      const controller = new AbortController();
      this.background.add(controller);
      void this.verify({
        node: { ip: node.ip, hostname: node.hostname },
        expectedVersion,
        previousVersion,
        previousUptime,
        timeoutMs: opts.bootTimeoutMs ?? this.options.bootTimeoutMs,
        total: image.size,
        signal: controller.signal,
      })
        .catch(() => undefined) // aborted at shutdown: nothing to report
        .finally(() => this.background.delete(controller));
    }
    return result;
  }

  /**
   * Streams the image to the node. Resolves with the node's answer (`success`
   * false when it refused the image); rejects when the node cannot be reached,
   * stalls (idle timeout), exceeds the whole-upload deadline or the signal aborts.
   */
  async upload(node: Pick<NodeRecord, 'ip'>, image: FirmwareImage, opts: UploadOptions = {}): Promise<NodeUpdateResult> {
    const nodeIp = node.ip;
    const total = image.size;
    this.bus.emit('firmware/upload', { nodeIp, status: 'started', sent: 0, total });
    this.logger.info({ nodeIp, size: total, sha256: image.sha256 }, 'firmware upload started');
    let lastProgress = 0;
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new GatewayError('node_timeout', `the upload to node ${nodeIp} took longer than ${Math.round(this.options.uploadTimeoutMs / 1000)} s`)),
      this.options.uploadTimeoutMs,
    );
    const onOuterAbort = (): void => deadline.abort(opts.signal?.reason);
    if (opts.signal?.aborted) onOuterAbort();
    opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
    try {
      const res = await this.client.uploadFirmware(nodeIp, image.path, {
        size: total,
        filename: image.filename,
        idleTimeoutMs: this.options.uploadIdleTimeoutMs,
        signal: deadline.signal,
        onProgress: (sent) => {
          opts.onProgress?.(sent, total);
          const now = Date.now();
          if (now - lastProgress < PROGRESS_EVERY_MS && sent < total) return;
          lastProgress = now;
          this.bus.emit('firmware/upload', { nodeIp, status: 'progress', sent, total });
        },
      });
      const nodeResponse = parseBody(res.body);
      const accepted = res.status >= 200 && res.status < 300 && !isFailureBody(nodeResponse);
      this.bus.emit('firmware/upload', {
        nodeIp,
        status: accepted ? 'succeeded' : 'failed',
        sent: total,
        total,
        ...(accepted ? {} : { error: `node answered HTTP ${res.status}` }),
      });
      this.logger.info({ nodeIp, status: res.status, accepted }, 'firmware upload answered');
      return { success: accepted, nodeIp, size: total, sha256: image.sha256, nodeResponse };
    } catch (caught) {
      let err = caught;
      if (err instanceof GatewayError && err.code === 'node_timeout' && !deadline.signal.aborted) {
        // The node client's idle timer: no byte accepted and no answer for stallTimeoutMs (issue 17 §4).
        const seconds = Math.round(this.options.uploadIdleTimeoutMs / 100) / 10;
        err = new GatewayError('node_timeout', `the upload stalled: node ${nodeIp} made no progress for ${seconds} s (firmware.stallTimeoutMs)`);
      }
      const message = err instanceof GatewayError ? err.message : String(err);
      this.bus.emit('firmware/upload', { nodeIp, status: 'failed', sent: 0, total, error: message });
      this.logger.warn({ nodeIp, err: message }, 'firmware upload failed');
      throw err;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  /** Waits for the node's return and reports `verified` / `unverified` on `firmware/upload`. */
  async verify(opts: VerifyOptions): Promise<ReturnOutcome> {
    const outcome = await this.verifier.watch({
      hostname: opts.node.hostname,
      ip: opts.node.ip,
      expectedVersion: opts.expectedVersion,
      previousVersion: opts.previousVersion,
      previousUptime: opts.previousUptime,
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      onReturned: opts.onReturned,
    });
    if (opts.announce === false) return outcome;
    this.bus.emit('firmware/upload', {
      nodeIp: opts.node.ip,
      status: outcome.verified ? 'verified' : 'unverified',
      sent: opts.total,
      total: opts.total,
      ...(outcome.version !== null ? { version: outcome.version } : {}),
      ...(outcome.verified ? {} : { error: `node ${outcome.reason}` }),
    });
    this.logger.info({ nodeIp: opts.node.ip, hostname: opts.node.hostname, verified: outcome.verified, version: outcome.version, reason: outcome.reason }, 'OTA return checked');
    return outcome;
  }

  /** What a node is known to run right now (for rollouts' pre-update record). */
  nodeFacts(hostname: string): { version: string | null; uptime: number | null } {
    const node = this.registry.getByHostname(hostname);
    return { version: node?.version ?? null, uptime: node?.uptime ?? null };
  }
}

function parseBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** SPORE answers `{"status":"FAIL",...}` when it rejects an image. */
function isFailureBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const status = (body as Record<string, unknown>).status;
  return typeof status === 'string' && /^(fail|error)/i.test(status);
}
