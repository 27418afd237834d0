import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from '../../errors.js';
import { firmwareRouteDocs } from '../openapi/route-docs.js';
import type { RouteDeps } from '../route-deps.js';
import { spoolToDisk, type SpooledFile } from '../../store/upload-spool.js';

/** Multipart framing and form fields around the file, bytes; a Content-Length beyond limit + this is refused unread. */
const MULTIPART_OVERHEAD_ALLOWANCE = 64 * 1024; // bytes
const TEXT_FIELDS = ['name', 'version', 'labels', 'force', 'signature', 'dryRun'] as const;
/** A signature sent as a file part (a `.sig` file) is at most this big, bytes (64 raw, ~90 as base64). */
const MAX_SIGNATURE_FILE = 1024; // bytes

/** Issue 4 §1: the firmware store, `/api/firmware`. */
export function registerFirmwareRoutes(app: FastifyInstance, { config, firmware: store }: Pick<RouteDeps, 'config' | 'firmware'>): void {
  const docs = firmwareRouteDocs();
  app.post('/api/firmware', docs.upload, async (req, reply) => {
    const limit = config.http.uploadLimitBytes;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit + MULTIPART_OVERHEAD_ALLOWANCE) {
      throw new GatewayError('payload_too_large', `the upload (${declared} bytes) exceeds the limit of ${limit} bytes`);
    }
    const { file, fields } = await readFirmwareForm(req, store.tmpDir, limit);
    const input = {
      file,
      name: fields.name,
      version: fields.version,
      labels: fields.labels,
      force: fields.force === 'true' || fields.force === '1',
      signature: fields.signature,
    };
    // dryRun (issue 12 §17): every check, nothing stored — `spore ota all … -dry-run` changes nothing.
    if (fields.dryRun === 'true' || fields.dryRun === '1') return reply.status(200).send(await store.check(input));
    return reply.status(201).send(await store.add(input));
  });

  app.get('/api/firmware', docs.list, async () => store.list());

  app.get<{ Params: { id: string } }>('/api/firmware/:id', docs.get, async (req) => store.get(req.params.id));

  app.get<{ Params: { id: string } }>('/api/firmware/:id/download', docs.download, async (req, reply) => {
    const fw = store.getStored(req.params.id);
    const ext = fw.compressed ? 'bin.gz' : 'bin';
    // name and version are validated (no quotes, slashes or control characters).
    return reply
      .type('application/octet-stream')
      .header('content-length', fw.size)
      .header('content-disposition', `attachment; filename="${fw.name}-${fw.version}.${ext}"`)
      .header('etag', `"${fw.sha256}"`)
      .header('x-firmware-sha256', fw.sha256)
      .send(createReadStream(fw.path));
  });

  app.delete<{ Params: { id: string } }>('/api/firmware/:id', docs.remove, async (req) => {
    const deleted = await store.remove(req.params.id);
    return { success: true, deleted };
  });
}

/**
 * Reads the form: text fields `name`, `version`, `labels`, `force`, `signature` (in any
 * order, before or after the file) and the file field `file`, spooled to disk
 * with the size limit. Any failure deletes the spooled file.
 */
async function readFirmwareForm(
  req: FastifyRequest,
  dir: string,
  limit: number,
): Promise<{ file: SpooledFile; fields: Omit<Partial<Record<(typeof TEXT_FIELDS)[number], string>>, 'signature'> & { signature?: string | Buffer } }> {
  if (!req.isMultipart()) {
    throw new GatewayError('missing_file', 'Send multipart/form-data with the image in the field "file" and the fields "name" and "version".');
  }
  const fields: Partial<Record<(typeof TEXT_FIELDS)[number], string>> = {};
  let file: SpooledFile | undefined;
  let signatureFile: Buffer | undefined;
  try {
    for await (const part of req.parts({ limits: { fileSize: limit, files: 2, parts: 20, fieldSize: 64 * 1024 } })) {
      if (part.type === 'file' && part.fieldname === 'signature') {
        // A detached signature sent as a file (`fw.bin.sig`): small, read whole.
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of part.file) {
          size += (chunk as Buffer).length;
          if (size > MAX_SIGNATURE_FILE) throw new GatewayError('invalid_signature', `the signature file exceeds ${MAX_SIGNATURE_FILE} bytes; send the 64-byte ed25519 signature, raw or base64`);
          chunks.push(chunk as Buffer);
        }
        signatureFile = Buffer.concat(chunks);
      } else if (part.type === 'file') {
        if (part.fieldname !== 'file' || file) {
          part.file.resume(); // an unexpected file field: drain it
          continue;
        }
        const spooled = await spoolToDisk(part.file, dir, limit);
        if (part.file.truncated) {
          await spooled.discard();
          throw new GatewayError('payload_too_large', `the upload exceeds the limit of ${limit} bytes`);
        }
        file = spooled;
      } else if ((TEXT_FIELDS as readonly string[]).includes(part.fieldname)) {
        fields[part.fieldname as (typeof TEXT_FIELDS)[number]] = String(part.value);
      }
    }
  } catch (err) {
    await file?.discard();
    throw err;
  }
  if (!file) throw new GatewayError('missing_file', 'Send the image in the multipart field "file".');
  return { file, fields: signatureFile ? { ...fields, signature: signatureFile } : fields };
}
