import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';

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
 * Pulls the configuration document (JSON or YAML) from `url`, sending the
 * last ETag so an unchanged document costs a 304 and nothing else.
 */
export async function fetchRemoteConfig(url: string, etag: string | null, timeoutMs: number): Promise<RemoteFetchResult> {
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'application/json, application/yaml;q=0.9, */*;q=0.5', ...(etag ? { 'if-none-match': etag } : {}) },
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'follow',
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    const what = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : cause ?? (err as Error).message;
    return { kind: 'failed', reason: `remote configuration ${url} unreachable: ${what}` };
  }
  if (res.status === 304) return { kind: 'unchanged' };
  if (res.status !== 200) {
    await res.body?.cancel();
    return { kind: 'failed', reason: `remote configuration ${url} answered HTTP ${res.status}` };
  }
  const text = await res.text();
  if (Buffer.byteLength(text) > MAX_DOCUMENT_BYTES) return { kind: 'failed', reason: `remote configuration ${url} is larger than ${MAX_DOCUMENT_BYTES} bytes` };
  let document: unknown;
  try {
    const type = res.headers.get('content-type') ?? '';
    document = type.includes('json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    return { kind: 'failed', reason: `remote configuration ${url} is not valid JSON or YAML: ${(err as Error).message}` };
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return { kind: 'failed', reason: `remote configuration ${url} is not an object at the top level` };
  }
  return { kind: 'updated', document: document as Record<string, unknown>, etag: res.headers.get('etag') };
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
