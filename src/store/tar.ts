import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { finished } from 'node:stream/promises';

/**
 * A minimal POSIX ustar writer and reader for the backup archive (issue 15 §5):
 * regular files only, names up to 255 bytes, sizes below 8 GiB. Small enough to
 * read in full (docs/backup.md) and strict: anything else in an archive is refused.
 * (The tar packages on npm pull in a stream stack of their own; this is ~150 lines.)
 */

const BLOCK = 512;
const MAX_SIZE = 8 * 1024 ** 3 - 1; // the 11-digit octal size field

export interface TarSource {
  /** Path inside the archive, "/"-separated, relative. */
  name: string;
  /** A file on disk, or the bytes themselves. */
  path?: string;
  data?: Buffer;
  mtimeMs?: number;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number, mtimeMs: number): Buffer {
  if (size > MAX_SIZE) throw new Error(`${name}: larger than the ustar limit of 8 GiB`);
  const h = Buffer.alloc(BLOCK);
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`${name}: name too long for ustar`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  h.write(base, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(Math.floor(mtimeMs / 1000), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum placeholder: eight spaces
  h.write('0', 156, 'ascii');
  h.write('ustar\u000000', 257, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

/** The archive's bytes, entry by entry (pipe through gzip). Files are read as they are reached. */
export async function* tarEntries(sources: Iterable<TarSource> | AsyncIterable<TarSource>): AsyncGenerator<Buffer> {
  for await (const s of sources) {
    const size = s.data ? s.data.length : (await stat(s.path!)).size;
    yield header(s.name, size, s.mtimeMs ?? Date.now());
    let written = 0;
    if (s.data) {
      yield s.data;
      written = s.data.length;
    } else {
      for await (const chunk of createReadStream(s.path!, { end: size - 1 })) {
        written += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (size === 0) written = 0;
    }
    if (written !== size) throw new Error(`${s.name} changed size while being archived`);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(BLOCK * 2);
}

export interface ExtractedEntry {
  name: string;
  size: number;
}

function parseOctal(buf: Buffer): number {
  const text = buf.toString('ascii').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

/** A safe relative path inside `dir`, or an error: no absolute paths, no "..". */
function safeTarget(dir: string, name: string): string {
  if (!name || name.startsWith('/') || name.includes('\\') || name.split('/').some((p) => p === '..' || p === '')) throw new Error(`unsafe path in archive: ${JSON.stringify(name)}`);
  const target = normalize(join(dir, name));
  if (!target.startsWith(normalize(dir) + sep)) throw new Error(`unsafe path in archive: ${JSON.stringify(name)}`);
  return target;
}

/**
 * Extracts a (gunzipped) ustar stream into `dir`: regular files only, at most
 * `maxBytes` of content in all. Throws on anything malformed.
 */
export async function extractTar(input: AsyncIterable<Buffer>, dir: string, maxBytes: number): Promise<ExtractedEntry[]> {
  const entries: ExtractedEntry[] = [];
  let pending: Buffer = Buffer.alloc(0);
  let total = 0;
  let current: { out: NodeJS.WritableStream & { end(cb?: () => void): void }; left: number; pad: number; done: Promise<void> } | null = null;
  let skip = 0;
  let ended = false;
  for await (const chunk of input) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      if (ended) {
        pending = Buffer.alloc(0);
        break;
      }
      if (current) {
        if (pending.length === 0) break;
        const n = Math.min(current.left, pending.length);
        if (n > 0) {
          const slice = pending.subarray(0, n);
          if (!current.out.write(slice)) await new Promise<void>((r) => current!.out.once('drain', () => r()));
          current.left -= n;
          pending = pending.subarray(n);
        }
        if (current.left === 0) {
          current.out.end();
          await current.done;
          skip = current.pad;
          current = null;
        } else break;
      }
      if (skip) {
        const n = Math.min(skip, pending.length);
        skip -= n;
        pending = pending.subarray(n);
        if (skip) break;
      }
      if (pending.length < BLOCK) break;
      const h = pending.subarray(0, BLOCK);
      pending = pending.subarray(BLOCK);
      if (h.every((b) => b === 0)) {
        ended = true;
        continue;
      }
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
      if (sum !== parseOctal(h.subarray(148, 156))) throw new Error('not a tar archive (bad header checksum)');
      const type = String.fromCharCode(h[156]!);
      if (type !== '0' && type !== '\0') throw new Error(`archive entry of type ${JSON.stringify(type)} is not accepted (regular files only)`);
      const base = h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
      const prefix = h.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
      const name = prefix ? `${prefix}/${base}` : base;
      const size = parseOctal(h.subarray(124, 136));
      total += size;
      if (total > maxBytes) throw new Error(`archive holds more than ${maxBytes} bytes`);
      const target = safeTarget(dir, name);
      await mkdir(dirname(target), { recursive: true });
      const out = createWriteStream(target, { mode: 0o600 });
      entries.push({ name, size });
      current = { out, left: size, pad: (BLOCK - (size % BLOCK)) % BLOCK, done: finished(out) };
      if (size === 0) {
        out.end();
        await current.done;
        skip = 0;
        current = null;
      }
    }
  }
  if (current || !ended) throw new Error('the archive is truncated');
  return entries;
}
