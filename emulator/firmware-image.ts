/**
 * Fake ESP8266 application images for the emulator and for tests.
 *
 * A real ESP8266 bootloader refuses an application image whose first byte is
 * not 0xE9 ("magic byte"); the emulator does the same. To let a test or a demo
 * see a node come back "on the new version" after an OTA, images may carry an
 * ASCII version marker anywhere in their bytes:
 *
 *     SPORE-VERSION:<version>\0        version = 1–32 of [A-Za-z0-9._+-]
 *
 * The emulator reads it while the image streams in and reports that version
 * after its simulated reboot; an image without a marker leaves the version as
 * it was (the node cannot know what it runs).
 */

/** First byte of every ESP8266 application image (esptool "ESP_IMAGE_MAGIC"). */
export const ESP_IMAGE_MAGIC = 0xe9;

export const VERSION_MARKER = 'SPORE-VERSION:';
const MARKER_BYTES = Buffer.from(VERSION_MARKER, 'ascii');
const VERSION_CHAR = /^[A-Za-z0-9._+-]$/;
const MAX_VERSION_LENGTH = 32; // characters

export interface FirmwareImageOptions {
  version: string;
  /** Total image size in bytes (default 64 KiB); at least large enough for the header and marker. */
  size?: number;
  /** Fill byte pattern seed, so two images of the same version can still differ. */
  seed?: number;
}

/** Builds a fake application image: 0xE9 header, the version marker, deterministic filler. */
export function makeFirmwareImage(options: FirmwareImageOptions): Buffer {
  if (!isValidVersion(options.version)) {
    throw new Error(`firmware version must be 1-${MAX_VERSION_LENGTH} of [A-Za-z0-9._+-], got ${JSON.stringify(options.version)}`);
  }
  const marker = Buffer.from(`${VERSION_MARKER}${options.version}\0`, 'ascii');
  const header = Buffer.from([ESP_IMAGE_MAGIC, 0x03, 0x02, 0x20, 0x00, 0x10, 0x20, 0x40]); // magic, segments, flash mode/size
  const size = Math.max(options.size ?? 64 * 1024, header.length + marker.length);
  const image = Buffer.alloc(size);
  let x = (options.seed ?? 0x5eed) >>> 0;
  for (let i = 0; i < size; i++) {
    // xorshift filler: incompressible-looking, but never forms the marker by accident
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    image[i] = (x >>> 0) & 0x7f;
  }
  header.copy(image, 0);
  marker.copy(image, header.length);
  return image;
}

export function isValidVersion(version: string): boolean {
  return version.length >= 1 && version.length <= MAX_VERSION_LENGTH && [...version].every((c) => VERSION_CHAR.test(c));
}

/** Reads the version marker of a whole image; null when there is none. */
export function readFirmwareVersion(image: Uint8Array): string | null {
  const scanner = new VersionScanner();
  scanner.push(image);
  return scanner.finish();
}

/**
 * Finds the version marker in an image that arrives in chunks, keeping only a
 * short tail between chunks — so an OTA upload is never held whole in memory.
 */
export class VersionScanner {
  private tail = Buffer.alloc(0);
  private found: string | null = null;

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
    return isValidVersion(rest) ? rest : null;
  }
}

/**
 * The version that starts at `start`: a string when terminated (by NUL or any
 * non-version byte), null when malformed, undefined when the data ends first.
 */
function readVersionAt(data: Buffer, start: number): string | null | undefined {
  let end = start;
  while (end < data.length && end - start <= MAX_VERSION_LENGTH && VERSION_CHAR.test(String.fromCharCode(data[end]!))) end++;
  if (end === data.length) return undefined;
  const version = data.subarray(start, end).toString('latin1');
  return isValidVersion(version) ? version : null;
}
