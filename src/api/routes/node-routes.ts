import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from '../../errors.js';
import { spoolToDisk } from '../../store/upload-spool.js';
import { join } from 'node:path';
import { nodeRouteDocs } from '../openapi/route-docs.js';
import type { RouteDeps } from '../route-deps.js';

/** Multipart framing around the file, bytes; a Content-Length beyond limit + this is refused unread. */
const MULTIPART_OVERHEAD_ALLOWANCE = 64 * 1024; // bytes

/** CONTRACT §4: /api/node/*, /api/proxy-call. */
export function registerNodeRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'cluster' | 'client' | 'access' | 'ota' | 'config'>): void {
  const { cluster, client, access, ota, config } = deps;
  const docs = nodeRouteDocs();

  app.get('/api/node/status', docs.status, async () => (await cluster.withPrimary((ip) => client.getStatus(ip))).result.status);

  app.get<{ Params: { ip: string } }>('/api/node/status/:ip', docs.statusOf, async (req) => {
    const node = access.requireNode(req.params.ip);
    // The UI's node page: a wanted read of the node's own status (issue 19, gentle polling).
    return (await cluster.readStatusNow(node)).status;
  });

  app.get<{ Querystring: { ip?: string } }>('/api/node/endpoints', docs.endpoints, async (req) => {
    const target = req.query.ip !== undefined ? access.requireNode(req.query.ip).ip : undefined;
    const { ip, result } = target
      ? { ip: target, result: await client.getStatus(target) }
      : await cluster.withPrimary((ip) => client.getStatus(ip));
    const api = Array.isArray(result.status.api) ? result.status.api : [];
    return { ip, endpoints: api.map((e) => ({ uri: e.uri, method: e.method })) };
  });

  app.post<{ Body: unknown }>('/api/proxy-call', docs.proxyCall, async (req, reply) => {
    const body = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new GatewayError('bad_request', 'Send a JSON object {"ip","method","uri","params":[{"name","value","location"}]}.');
    }
    const res = await access.proxyCall(body as Record<string, unknown>);
    // The node's status code and body, passed through (CONTRACT §4).
    return reply
      .status(res.status >= 100 && res.status <= 599 ? res.status : 502)
      .type(res.contentType ?? 'application/octet-stream')
      .send(res.body);
  });

  app.post<{ Querystring: { ip?: string; bootTimeoutSec?: string } }>('/api/node/update', docs.update, async (req) => {
    // Refuse before reading a byte: the node must be known and the size within the limit.
    const node = access.requireNode(req.query.ip);
    const bootTimeoutSec = req.query.bootTimeoutSec;
    if (bootTimeoutSec !== undefined && !(/^\d{1,4}$/.test(bootTimeoutSec) && Number(bootTimeoutSec) >= 1 && Number(bootTimeoutSec) <= 3600)) {
      throw new GatewayError('bad_request', `bootTimeoutSec ${JSON.stringify(bootTimeoutSec.slice(0, 16))} is refused: give an integer 1-3600 (seconds)`);
    }
    const limit = config.http.uploadLimitBytes;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit + MULTIPART_OVERHEAD_ALLOWANCE) {
      throw new GatewayError('payload_too_large', `the upload (${declared} bytes) exceeds the limit of ${limit} bytes`);
    }
    const file = await readFirmwareField(req, join(config.dataDir, 'tmp'), limit);
    try {
      return await ota.updateNode(node.ip, file, bootTimeoutSec !== undefined ? { bootTimeoutMs: Number(bootTimeoutSec) * 1000 } : {});
    } finally {
      await file.discard();
    }
  });
}

/** Spools the multipart field `file` to disk; other fields are ignored. */
async function readFirmwareField(req: FastifyRequest, dir: string, limit: number) {
  if (!req.isMultipart()) throw new GatewayError('missing_file', 'Send multipart/form-data with the firmware in the field "file".');
  for await (const part of req.parts({ limits: { fileSize: limit, files: 1, parts: 20 } })) {
    if (part.type === 'file' && part.fieldname === 'file') {
      const spooled = await spoolToDisk(part.file, dir, limit);
      if (part.file.truncated) {
        await spooled.discard();
        throw new GatewayError('payload_too_large', `the upload exceeds the limit of ${limit} bytes`);
      }
      return { ...spooled, filename: part.filename };
    }
    if (part.type === 'file') part.file.resume(); // an unexpected file field: drain it
  }
  throw new GatewayError('missing_file');
}
