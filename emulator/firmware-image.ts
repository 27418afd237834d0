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

import { ESP8266_IMAGE_MAGIC, isValidMarkerVersion, VERSION_MARKER } from '../src/firmware/firmware-image.js';

// The marker rules are the gateway's (src/firmware/firmware-image.ts): one reader for both sides.
export {
  ESP8266_IMAGE_MAGIC as ESP_IMAGE_MAGIC,
  isValidMarkerVersion as isValidVersion,
  readFirmwareVersion,
  VERSION_MARKER,
  VersionScanner,
} from '../src/firmware/firmware-image.js';

const MAX_VERSION_LENGTH = 32; // characters, as the marker allows

export interface FirmwareImageOptions {
  version: string;
  /** Total image size in bytes (default 64 KiB); at least large enough for the header and marker. */
  size?: number;
  /** Fill byte pattern seed, so two images of the same version can still differ. */
  seed?: number;
}

/** Builds a fake application image: 0xE9 header, the version marker, deterministic filler. */
export function makeFirmwareImage(options: FirmwareImageOptions): Buffer {
  if (!isValidMarkerVersion(options.version)) {
    throw new Error(`firmware version must be 1-${MAX_VERSION_LENGTH} of [A-Za-z0-9._+-], got ${JSON.stringify(options.version)}`);
  }
  const marker = Buffer.from(`${VERSION_MARKER}${options.version}\0`, 'ascii');
  const header = Buffer.from([ESP8266_IMAGE_MAGIC, 0x03, 0x02, 0x20, 0x00, 0x10, 0x20, 0x40]); // magic, segments, flash mode/size
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
