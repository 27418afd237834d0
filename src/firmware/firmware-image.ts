import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

import { isValidMarkerVersion, isVersionChar, MAX_VERSION_LENGTH, VERSION_MARKER, isGzip } from '../protocol/firmware-marker.js';

/**
 * What the gateway can tell about a firmware image without trusting its name:
 * whether it is an ESP8266 application image, and the version a node will
 * report after booting it. The rules (magic byte, SPORE-VERSION marker) are in
 * src/protocol/firmware-marker.ts, shared with the emulator and the web UI;
 * this file reads images on disk, streaming.
 */
export { ESP8266_IMAGE_MAGIC, GZIP_MAGIC, isEsp8266Image, isGzip, isValidMarkerVersion, VERSION_MARKER } from '../protocol/firmware-marker.js';
const MARKER_BYTES = Buffer.from(VERSION_MARKER, 'ascii');

/** Reads the version marker of a whole image; null when there is none. */
export function readFirmwareVersion(image: Uint8Array): string | null {
  const scanner = new VersionScanner();
  scanner.push(image);
  return scanner.finish();
}

/**
 * Finds the version marker in an image that arrives in chunks, keeping only a
 * short tail between chunks — so an image is never held whole in memory.
 */
export class VersionScanner {
  private tail = Buffer.alloc(0);
  private found: string | null = null;

  get done(): boolean {
    return this.found !== null;
  }

  push(chunk: Uint8Array): void {
    if (this.found !== null) return;
    const data = this.tail.length ? Buffer.concat([this.tail, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let from = 0;
    for (;;) {
      const at = data.indexOf(MARKER_BYTES, from);
      if (at < 0) break;
      const version = readVersionAt(data, at + MARKER_BYTES.length);
      if (version === undefined) {
        // The marker is complete but its version may continue in the next chunk.
        this.tail = Buffer.from(data.subarray(at));
        return;
      }
      if (version !== null) {
        this.found = version;
        return;
      }
      from = at + 1;
    }
    // Keep enough bytes to catch a marker split across chunks.
    const keep = MARKER_BYTES.length + MAX_VERSION_LENGTH + 1;
    this.tail = Buffer.from(data.subarray(Math.max(0, data.length - keep)));
  }

  /** The version found, or null; a marker cut off by the end of the image counts if its version is valid. */
  finish(): string | null {
    if (this.found !== null) return this.found;
    const at = this.tail.indexOf(MARKER_BYTES);
    if (at < 0) return null;
    const rest = this.tail.subarray(at + MARKER_BYTES.length).toString('latin1');
    return isValidMarkerVersion(rest) ? rest : null;
  }
}

/**
 * The version that starts at `start`: a string when terminated (by NUL or any
 * non-version byte), null when malformed, undefined when the data ends first.
 */
function readVersionAt(data: Buffer, start: number): string | null | undefined {
  let end = start;
  while (end < data.length && end - start <= MAX_VERSION_LENGTH && isVersionChar(String.fromCharCode(data[end]!))) end++;
  if (end === data.length) return undefined;
  const version = data.subarray(start, end).toString('latin1');
  return isValidMarkerVersion(version) ? version : null;
}

/** A compressed image never inflates beyond this, bytes (an ESP8266 maps at most 1 MB of sketch; a zip bomb stops here). */
export const MAX_INFLATED_BYTES = 16 * 1024 * 1024;


export interface ImageFacts {
  /** First byte of the application image (inside the gzip stream for a `.bin.gz`). */
  firstByte: number | undefined;
  /** From the version marker (inside the gzip stream for a `.bin.gz`), or null. */
  markerVersion: string | null;
  /** A gzip-compressed image (issue 17 §3). */
  compressed: boolean;
  /** Size of the application image once inflated, bytes (the file's size when not compressed). */
  imageBytes: number;
  /** Why a compressed image could not be inflated, when it could not. */
  inflateError?: string;
}

/**
 * Reads the first byte and the version marker of an image on disk, streaming
 * (memory stays flat). A gzip image is inflated on the fly to look inside and
 * to count its uncompressed size; the file itself stays as it is.
 */
export async function inspectImageFile(path: string): Promise<ImageFacts> {
  const head = await readHead(path, 2);
  if (isGzip(head)) return inspectGzip(path);
  const scanner = new VersionScanner();
  let firstByte: number | undefined;
  const size = (await stat(path)).size;
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      if (firstByte === undefined && buf.length > 0) firstByte = buf[0];
      scanner.push(buf);
      if (scanner.done) break;
    }
  } finally {
    stream.destroy();
  }
  return { firstByte, markerVersion: scanner.finish(), compressed: false, imageBytes: size };
}

async function inspectGzip(path: string): Promise<ImageFacts> {
  const scanner = new VersionScanner();
  let firstByte: number | undefined;
  let inflated = 0;
  const gunzip = createGunzip();
  const source = createReadStream(path, { highWaterMark: 64 * 1024 });
  source.on('error', (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  try {
    for await (const chunk of gunzip) {
      const buf = chunk as Buffer;
      if (firstByte === undefined && buf.length > 0) firstByte = buf[0];
      inflated += buf.length;
      scanner.push(buf);
      if (inflated > MAX_INFLATED_BYTES) {
        return { firstByte, markerVersion: scanner.finish(), compressed: true, imageBytes: inflated, inflateError: `it inflates to more than ${MAX_INFLATED_BYTES} bytes` };
      }
    }
  } catch (err) {
    return { firstByte, markerVersion: null, compressed: true, imageBytes: inflated, inflateError: `it is not a valid gzip stream (${(err as Error).message})` };
  } finally {
    source.destroy();
    gunzip.destroy();
  }
  return { firstByte, markerVersion: scanner.finish(), compressed: true, imageBytes: inflated };
}

async function readHead(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
