import { randomUUID } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** The data directory cannot be used; the message names the path and the reason, in one line. */
export class DataDirError extends Error {
  constructor(readonly path: string, reason: string) {
    super(`data directory ${path} cannot be used: ${reason}`);
    this.name = 'DataDirError';
  }
}

const REASONS: Record<string, string> = {
  ENOENT: 'a parent directory does not exist and cannot be created there',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EEXIST: 'a file of that name exists and is not a directory',
  ENOSPC: 'no space left on the device',
};

const reasonOf = (err: unknown): string => {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return REASONS[code] ? `${REASONS[code]} (${code})` : (err as Error).message;
};

/**
 * Creates the data directory if needed and proves it writable, failing at once
 * with a DataDirError. Levels are created one at a time: `mkdir -p` through
 * Node's recursive mkdir loops forever on pseudo file systems such as /proc
 * (each attempt gets ENOENT for a parent it just "created"), which spun a core
 * at 90 % with `-data-dir /proc/nope`.
 */
export async function prepareDataDir(path: string): Promise<void> {
  const absolute = resolve(path);
  const missing: string[] = [];
  let probe = absolute;
  for (;;) {
    try {
      const info = await stat(probe);
      if (!info.isDirectory()) throw new DataDirError(path, `${probe} is a file, not a directory`);
      break;
    } catch (err) {
      if (err instanceof DataDirError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new DataDirError(path, reasonOf(err));
      missing.unshift(probe);
      const parent = dirname(probe);
      if (parent === probe) throw new DataDirError(path, reasonOf(err));
      probe = parent;
    }
  }
  for (const dir of missing) {
    try {
      await mkdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await stat(dir).catch(() => null))?.isDirectory()) continue;
      // ENOENT for a parent that exists: a pseudo file system (/proc, /sys) that creates nothing.
      throw new DataDirError(path, code === 'ENOENT' ? `${dirname(dir)} does not allow creating directories (ENOENT)` : reasonOf(err));
    }
  }
  // Writable? (root passes permission checks, so try it: read-only mounts and pseudo file systems refuse here.)
  const file = `${absolute}/.write-test-${process.pid}-${randomUUID()}`;
  try {
    await writeFile(file, '');
  } catch (err) {
    throw new DataDirError(path, `it is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  await rm(file, { force: true });
}
