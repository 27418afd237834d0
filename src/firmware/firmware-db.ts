import { join } from 'node:path';
import { openDatabase, type Migration, type SqliteDatabase } from '../store/sqlite.js';

/**
 * The firmware database (`<dataDir>/firmware/firmware.db`): image metadata and
 * rollouts with their nodes. One file, so "may this image be deleted?" and
 * "which rollouts use it?" are answered in one transaction.
 */
export const FIRMWARE_MIGRATIONS: readonly Migration[] = [
  {
    up: (db) => {
      db.exec(`
        CREATE TABLE firmware (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          version TEXT NOT NULL,
          size INTEGER NOT NULL,
          sha256 TEXT NOT NULL,
          labels TEXT NOT NULL,            -- JSON object string → string
          image_version TEXT,              -- from the image's SPORE-VERSION marker
          created_at TEXT NOT NULL,        -- RFC3339
          UNIQUE (name, version)
        );
        CREATE INDEX firmware_by_sha256 ON firmware (sha256);

        CREATE TABLE rollouts (
          id TEXT PRIMARY KEY,
          firmware_id TEXT NOT NULL,       -- no foreign key: a finished rollout outlives its image
          firmware TEXT NOT NULL,          -- JSON snapshot {id, name, version, size, sha256}
          expected_version TEXT,           -- what a node must report afterwards, if known
          status TEXT NOT NULL,
          target TEXT NOT NULL,            -- JSON {labels?, ips?}
          batch_size INTEGER NOT NULL,
          max_failures INTEGER NOT NULL,
          boot_timeout_sec INTEGER NOT NULL,
          error TEXT,
          created_at TEXT NOT NULL,
          started_at TEXT,
          finished_at TEXT
        );
        CREATE INDEX rollouts_by_status ON rollouts (status);

        CREATE TABLE rollout_nodes (
          rollout_id TEXT NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
          position INTEGER NOT NULL,       -- plan order (the primary last)
          hostname TEXT NOT NULL,          -- identity (CONTRACT §2); the ip may change
          ip TEXT NOT NULL,
          state TEXT NOT NULL,
          progress INTEGER NOT NULL DEFAULT 0,
          error TEXT,
          attempts INTEGER NOT NULL DEFAULT 0,
          previous_version TEXT,
          updated_at TEXT NOT NULL,
          PRIMARY KEY (rollout_id, hostname)
        );
      `);
    },
  },
  {
    // Issue 17: signatures, compressed images, scheduled/dynamic rollouts, rollback.
    up: (db) => {
      db.exec(`
        ALTER TABLE firmware ADD COLUMN signed_by TEXT;                          -- trusted key id, null = unsigned
        ALTER TABLE firmware ADD COLUMN compressed INTEGER NOT NULL DEFAULT 0;   -- 1 = .bin.gz
        ALTER TABLE firmware ADD COLUMN image_bytes INTEGER;                     -- inflated size, bytes
        ALTER TABLE rollouts ADD COLUMN options TEXT NOT NULL DEFAULT '{}';      -- JSON RolloutOptions
        ALTER TABLE rollout_nodes ADD COLUMN firmware_id TEXT;                   -- per-node image (rollbacks), null = the rollout's
        ALTER TABLE rollout_nodes ADD COLUMN expected_version TEXT;              -- with firmware_id
        ALTER TABLE rollout_nodes ADD COLUMN previous_firmware_id TEXT;          -- the stored image it ran before, when known
      `);
    },
  },
  {
    // Issue 12 §18: whether the image is an ESP8266 application image (first byte 0xE9), so a
    // forced upload is flagged to the dry run and the wizard. NULL (older rows) is filled at start.
    up: (db) => {
      db.exec(`ALTER TABLE firmware ADD COLUMN esp_image INTEGER;                           -- 1 = first byte 0xE9, 0 = not`);
    },
  },
];

export function firmwareDir(dataDir: string): string {
  return join(dataDir, 'firmware');
}

export function openFirmwareDatabase(dataDir: string): SqliteDatabase {
  return openDatabase(join(firmwareDir(dataDir), 'firmware.db'), { migrations: FIRMWARE_MIGRATIONS });
}
