import { open } from 'node:fs/promises';

/**
 * What the gateway can tell about a firmware image without trusting its name:
 * whether it is an ESP8266 application image, and the version it will report.
 *
 * An ESP8266 application image starts with the magic byte 0xE9 (esptool's
 * ESP_IMAGE_MAGIC). SPORE images built for the emulator, and any firmware that
 * wants the gateway to verify OTA by version, carry the marker
 * `SPORE-VERSION:<version>\0` somewhere in the image; the node reports that
 * version after it boots.
 */
export const ESP8266_IMAGE_MAGIC = 0xe9;
export const VERSION_MARKER = 'SPORE-VERSION:';
/** Longest version a marker may carry, characters. */
const MAX_MARKER_VERSION = 64;
const MARKER_BYTES = Buffer.from(VERSION_MARKER, 'latin1');
const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.+_-]*$/;

export function isEsp8266Image(firstByte: number | undefined): boolean {
  return firstByte === ESP8266_IMAGE_MAGIC;
}

/** The version in the image's `SPORE-VERSION:<version>\0` marker, or null. */
export function readFirmwareVersion(image: Buffer): string | null {
  let from = 0;
  for (;;) {
    const at = image.indexOf(MARKER_BYTES, from);
    if (at < 0) return null;
    const version = versionAfterMarker(image, at + MARKER_BYTES.length);
    if (version !== null) return version;
    from = at + 1;
  }
}

function versionAfterMarker(buf: Buffer, start: number): string | null {
  const end = buf.indexOf(0, start);
  if (end < 0 || end === start || end - start > MAX_MARKER_VERSION) return null;
  const text = buf.toString('latin1', start, end);
  return VERSION_PATTERN.test(text) ? text : null;
}

export interface ImageFacts {
  firstByte: number | undefined;
  /** From the version marker, or null. */
  markerVersion: string | null;
}

/**
 * Reads the first byte and the version marker of an image on disk, chunk by
 * chunk (64 KiB, overlapping by a marker's length) so memory stays flat
 * whatever the image size.
 */
export async function inspectImageFile(path: string): Promise<ImageFacts> {
  const handle = await open(path, 'r');
  try {
    const chunkSize = 64 * 1024; // bytes
    const overlap = MARKER_BYTES.length + MAX_MARKER_VERSION + 1;
    const buf = Buffer.alloc(chunkSize + overlap);
    let carried = 0;
    let position = 0;
    let firstByte: number | undefined;
    for (;;) {
      const { bytesRead } = await handle.read(buf, carried, chunkSize, position);
      if (position === 0 && bytesRead > 0) firstByte = buf[0];
      position += bytesRead;
      const filled = carried + bytesRead;
      const version = readFirmwareVersion(buf.subarray(0, filled));
      if (version !== null) return { firstByte, markerVersion: version };
      if (bytesRead === 0) return { firstByte, markerVersion: null };
      carried = Math.min(overlap, filled);
      buf.copy(buf, 0, filled - carried, filled);
    }
  } finally {
    await handle.close();
  }
}
