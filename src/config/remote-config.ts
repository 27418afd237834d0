import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadYaml } from './yaml-lib.js';
import { redactUrl } from './mask-secrets.js';

/** What one pull of the remote configuration brought. */
export type RemoteFetchResult =
  | { kind: 'updated'; document: Record<string, unknown>; etag: string | null }
  | { kind: 'unchanged' }
  | { kind: 'failed'; reason: string };

/** The cached copy of the last valid remote configuration (docs/configuration.md). */
export interface CachedConfig {
  url: string;
  etag: string | null;
  fetchedAt: string;
  document: Record<string, unknown>;
}

/** Largest configuration document accepted, bytes. */
const MAX_DOCUMENT_BYTES = 1024 * 1024;

export function configCachePath(dataDir: string): string {
  return join(dataDir, 'config', 'remote-config.json');
}

/**
 * Reads a response body up to `limit` bytes and stops there: a 200 MB answer
 * costs 1 MiB of memory, not 200 MB (the reading is cancelled at the limit).
 * Null when the body is larger than the limit.
 */
async function readLimited(res: Response, limit: number): Promise<string | null> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    return null;
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Why a fetch failed, in words: the timeout, the socket error code (ECONNRESET…) or the message. */
function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no complete answer within ${timeoutMs} ms`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/**
 * Pulls the configuration document (JSON or YAML) from `url`, sending the
 * last ETag so an unchanged document costs a 304 and nothing else. Never
 * throws: a stall (headers or body), a reset, garbage or an oversize answer is
 * a `failed` result, so the caller falls back (cache → file → defaults).
 * `timeoutMs` bounds the whole exchange, body included.
 */
export async function fetchRemoteConfig(
  url: string,
  etag: string | null,
  timeoutMs: number,
  extraHeaders: Record<string, string> = {},
): Promise<RemoteFetchResult> {
  const shown = redactUrl(url);
  try {
    // fetch() refuses URLs with credentials: `user:pass@` becomes a Basic Authorization header.
    const target = new URL(url);
    const basic: Record<string, string> = target.username || target.password ? { authorization: `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64')}` } : {};
    target.username = '';
    target.password = '';
    // Configured headers win over the URL's credentials, whatever their letter case.
    const headers = new Headers({ accept: 'application/json, application/yaml;q=0.9, */*;q=0.5', ...basic });
    for (const [name, value] of Object.entries(extraHeaders)) headers.set(name, value);
    if (etag) headers.set('if-none-match', etag);
    const res = await fetch(target, {
      headers,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'follow',
    });
    if (res.status === 304) {
      await res.body?.cancel().catch(() => undefined);
      return { kind: 'unchanged' };
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      return { kind: 'failed', reason: `remote configuration ${shown} answered HTTP ${res.status}` };
    }
    const text = await readLimited(res, MAX_DOCUMENT_BYTES);
    if (text === null) return { kind: 'failed', reason: `remote configuration ${shown} is larger than ${MAX_DOCUMENT_BYTES} bytes` };
    let document: unknown;
    const type = res.headers.get('content-type') ?? '';
    const parseYaml = type.includes('json') ? undefined : (await loadYaml()).parse;
    try {
      document = type.includes('json') ? JSON.parse(text) : parseYaml!(text);
    } catch (err) {
      return { kind: 'failed', reason: `remote configuration ${shown} is not valid JSON or YAML: ${(err as Error).message.split('\n')[0]}` };
    }
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      return { kind: 'failed', reason: `remote configuration ${shown} is not an object at the top level` };
    }
    return { kind: 'updated', document: document as Record<string, unknown>, etag: res.headers.get('etag') };
  } catch (err) {
    return { kind: 'failed', reason: `remote configuration ${shown} unreachable: ${describeFailure(err, timeoutMs)}` };
  }
}

/** Writes the cache atomically: a crash leaves the old copy or the new one, never half of one. */
export async function writeConfigCache(dataDir: string, cached: CachedConfig): Promise<void> {
  const path = configCachePath(dataDir);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(cached, null, 2), { mode: 0o600 }); // may hold secrets
  await rename(tmp, path);
}

export async function readConfigCache(dataDir: string): Promise<CachedConfig | null> {
  try {
    const parsed = JSON.parse(await readFile(configCachePath(dataDir), 'utf8')) as CachedConfig;
    if (typeof parsed.url !== 'string' || typeof parsed.document !== 'object' || parsed.document === null) return null;
    return parsed;
  } catch {
    return null;
  }
}
