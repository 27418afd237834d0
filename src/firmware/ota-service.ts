import type { NodeAccess } from '../cluster/node-access.js';
import { GatewayError } from '../errors.js';
import type { GatewayEventBus } from '../events/gateway-events.js';
import type { Logger } from '../logger.js';
import type { NodeClient } from '../node-client/node-client.js';

export interface FirmwareImage {
  path: string;
  size: number;
  sha256: string;
  filename?: string;
}

/** CONTRACT §4 `POST /api/node/update` answer. */
export interface NodeUpdateResult {
  success: boolean;
  nodeIp: string;
  size: number;
  sha256: string;
  nodeResponse: unknown;
}

/** Progress events at most this often per upload, so a fast LAN does not flood the WebSocket. */
const PROGRESS_EVERY_MS = 250; // ms

/**
 * Single-node over-the-air update: streams an image from disk to one node's
 * /api/node/update and reports progress on the event bus (`firmware/upload`).
 */
export class OtaService {
  constructor(
    private readonly access: NodeAccess,
    private readonly client: NodeClient,
    private readonly bus: GatewayEventBus,
    private readonly logger: Logger,
    private readonly uploadIdleTimeoutMs: number,
  ) {}

  async updateNode(ip: unknown, image: FirmwareImage): Promise<NodeUpdateResult> {
    const node = this.access.requireNode(ip);
    const nodeIp = node.ip;
    const total = image.size;
    this.bus.emit('firmware/upload', { nodeIp, status: 'started', sent: 0, total });
    this.logger.info({ nodeIp, size: total, sha256: image.sha256 }, 'firmware upload started');
    let lastProgress = 0;
    try {
      const res = await this.client.uploadFirmware(nodeIp, image.path, {
        size: total,
        filename: image.filename,
        idleTimeoutMs: this.uploadIdleTimeoutMs,
        onProgress: (sent) => {
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
    } catch (err) {
      const message = err instanceof GatewayError ? err.message : String(err);
      this.bus.emit('firmware/upload', { nodeIp, status: 'failed', sent: 0, total, error: message });
      this.logger.warn({ nodeIp, err: message }, 'firmware upload failed');
      throw err;
    }
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
