import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { GatewayError } from '../errors.js';

export interface SpooledFile {
  path: string;
  size: number;
  sha256: string;
  /** Deletes the spooled file. */
  discard(): Promise<void>;
}

/**
 * Writes an upload stream to a temporary file in `dir`, hashing as it goes
 * and refusing anything over `limitBytes` (413) — so an oversize image never
 * reaches a node, and memory stays flat whatever the image size.
 */
export async function spoolToDisk(source: Readable, dir: string, limitBytes: number): Promise<SpooledFile> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `upload-${randomUUID()}.bin`);
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > limitBytes) {
        done(new GatewayError('payload_too_large', `the upload exceeds the limit of ${limitBytes} bytes`));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const discard = (): Promise<void> => rm(path, { force: true });
  const sink = createWriteStream(path);
  // @fastify/multipart destroys the part's stream *without an error* when the body
  // ends before the closing boundary ("Unexpected end of multipart data"), and
  // pipeline() then never settles: the request hung and the descriptor and the
  // temporary file leaked. A source that closes before its end is a truncated upload.
  const truncated = (): GatewayError =>
    new GatewayError('bad_request', 'the multipart body ended before the file was complete (truncated upload); send the whole form again');
  const closedEarly = new Promise<never>((_, reject) => {
    const check = (): void => {
      if (!source.readableEnded) reject(truncated());
    };
    if (source.destroyed) check();
    else source.once('close', check);
  });
  closedEarly.catch(() => undefined); // settled by the race below; never an unhandled rejection
  try {
    await Promise.race([pipeline(source, meter, sink), closedEarly]);
  } catch (err) {
    meter.destroy();
    sink.destroy();
    await new Promise<void>((resolve) => (sink.closed ? resolve() : sink.once('close', () => resolve())));
    await discard();
    // The multipart parser reports its own size limit with a 413 status code.
    if ((err as { statusCode?: number }).statusCode === 413 || (err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
      throw new GatewayError('payload_too_large', `the upload exceeds the limit of ${limitBytes} bytes`);
    }
    throw err;
  }
  return { path, size, sha256: hash.digest('hex'), discard };
}
