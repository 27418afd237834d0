/**
 * Does an OTA image fit the node's flash (issue 17 §2)? The ESP8266 Arduino
 * updater writes the new image next to the running sketch and refuses it with
 * "Not Enough Space" beyond `ESP.getFreeSketchSpace()`. SPORE's status reports
 * `flashChipSize` (seed 002) and, when the firmware adds it, `freeSketchSpace`;
 * without the latter the room is computed from the usual flash layouts:
 *
 * - up to 1 MB (ESP-01, layout 1M with 64 KB of file system): sketch area
 *   1 MB − 64 KB FS − 20 KB (EEPROM, RF calibration, SDK config) = 940 KiB,
 *   shared by the running sketch and the new one: half of it, 470 KiB;
 * - 2 MB and more: the new image may use the whole 1 MB sketch window the
 *   ESP8266 maps (1,044,464 bytes: 1 MB less the 4 KiB boot sector and its header).
 */
const KIB = 1024;
const MIB = 1024 * 1024;
const SMALL_FLASH_SKETCH_AREA = MIB - 64 * KIB - 20 * KIB; // bytes: 940 KiB
const MAX_SKETCH_BYTES = 0xfeff0; // bytes: the largest sketch the ESP8266 can map

export interface FlashRoom {
  /** Bytes available for the new image. */
  bytes: number;
  /** `reported` (freeSketchSpace) or `layout` (computed from flashChipSize). */
  source: 'reported' | 'layout';
}

/** The room for an OTA image on a node with these status resources; null when the node tells nothing about its flash. */
export function otaRoom(resources: Record<string, unknown> | null | undefined): FlashRoom | null {
  if (!resources) return null;
  const free = resources.freeSketchSpace;
  if (typeof free === 'number' && Number.isFinite(free) && free >= 0) return { bytes: free, source: 'reported' };
  const flash = resources.flashChipSize;
  if (typeof flash !== 'number' || !Number.isFinite(flash) || flash <= 0) return null;
  if (flash <= MIB) {
    const area = Math.max(0, flash - (MIB - SMALL_FLASH_SKETCH_AREA));
    return { bytes: Math.floor(area / 2), source: 'layout' };
  }
  return { bytes: MAX_SKETCH_BYTES, source: 'layout' };
}

/** Why the image does not fit this node, or null when it fits (or the node tells nothing). */
export function doesNotFit(imageBytes: number, resources: Record<string, unknown> | null | undefined): string | null {
  const room = otaRoom(resources);
  if (!room || imageBytes <= room.bytes) return null;
  const how = room.source === 'reported' ? 'free for OTA on this node' : `free for OTA on this node (computed from its ${formatFlash(resources!.flashChipSize as number)} flash)`;
  return `image ${Math.ceil(imageBytes / KIB)} KiB does not fit the ${Math.floor(room.bytes / KIB)} KiB ${how}`;
}

function formatFlash(bytes: number): string {
  return bytes >= MIB ? `${Math.round(bytes / MIB)} MB` : `${Math.round(bytes / KIB)} KB`;
}
