/**
 * The rules of a SPORE firmware image that need no I/O, shared by the gateway
 * (src/firmware/firmware-image.ts streams files with them), the emulator and the
 * web UI's upload form (which reads the version from the chosen file, as the CLI does).
 *
 * An ESP8266 application image starts with the magic byte 0xE9 (esptool's
 * ESP_IMAGE_MAGIC). Images may carry the ASCII marker
 *
 *     SPORE-VERSION:<version>\0        version = 1–32 of [A-Za-z0-9._+-]
 *
 * which the emulator (and any firmware built to) reports after its reboot.
 */
export const ESP8266_IMAGE_MAGIC = 0xe9;
export const VERSION_MARKER = 'SPORE-VERSION:';
export const MAX_VERSION_LENGTH = 32; // characters
const VERSION_CHAR = /^[A-Za-z0-9._+-]$/;
const MARKER = Array.from(VERSION_MARKER, (c) => c.charCodeAt(0));

export function isVersionChar(c: string): boolean {
  return VERSION_CHAR.test(c);
}

export function isValidMarkerVersion(version: string): boolean {
  return version.length >= 1 && version.length <= MAX_VERSION_LENGTH && [...version].every(isVersionChar);
}

export function isEsp8266Image(firstByte: number | undefined | null): boolean {
  return firstByte === ESP8266_IMAGE_MAGIC;
}

/** gzip's magic bytes (RFC 1952): a `.bin.gz` image, which the ESP8266 Arduino core's updater inflates itself. */
export const GZIP_MAGIC = [0x1f, 0x8b] as const;

export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

/**
 * The version of the first well-formed marker in a whole image (an uncompressed
 * one), or null. A marker cut off by the end of the bytes counts if its version is valid.
 */
export function readMarkerVersion(bytes: Uint8Array): string | null {
  outer: for (let at = 0; at + MARKER.length <= bytes.length; at++) {
    for (let i = 0; i < MARKER.length; i++) if (bytes[at + i] !== MARKER[i]) continue outer;
    const start = at + MARKER.length;
    let end = start;
    while (end < bytes.length && end - start <= MAX_VERSION_LENGTH && isVersionChar(String.fromCharCode(bytes[end]!))) end++;
    let version = '';
    for (let i = start; i < end; i++) version += String.fromCharCode(bytes[i]!);
    if (isValidMarkerVersion(version)) return version;
  }
  return null;
}
