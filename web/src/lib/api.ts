import { authHeaders, noteAuthStatus } from './auth';

/**
 * REST calls to the gateway (CONTRACT §4). Every error the gateway returns
 * is `{"error","message"}`; ApiError keeps both so pages can show the
 * gateway's own advice. A 404 whose error is `not_found` means the route
 * itself does not exist: that part of the gateway is not enabled (or not
 * built) here, which pages show as such rather than as a failure.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }

  /**
   * The feature is absent or switched off on this gateway, as opposed to a
   * failure: its route does not exist (404 `not_found`), or it answers
   * `<feature>_disabled` (e.g. 503 `mqtt_disabled` when the gateway runs
   * without `-mqtt`).
   */
  get notEnabled(): boolean {
    return (this.status === 404 && this.code === 'not_found') || /_disabled$|^not_enabled$/.test(this.code);
  }

  /** The gateway could not be reached at all. */
  get unreachable(): boolean {
    return this.status === 0;
  }
}

export interface RequestOptions {
  method?: string;
  /** JSON, or FormData / a Blob (a file) sent as it is. */
  body?: unknown;
  /** The content type of a Blob body (a backup archive: application/gzip). */
  contentType?: string;
  signal?: AbortSignal;
}

async function parseError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  const b = body as { error?: unknown; message?: unknown } | undefined;
  const code = typeof b?.error === 'string' ? b.error : `http_${res.status}`;
  const message = typeof b?.message === 'string' ? b.message : typeof b?.error === 'string' ? b.error : text.slice(0, 300) || res.statusText;
  return new ApiError(res.status, code, message, body);
}

export async function apiFetch(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...authHeaders() };
  const init: RequestInit = { method: options.method ?? (options.body === undefined ? 'GET' : 'POST'), signal: options.signal, headers };
  if (options.body instanceof FormData) init.body = options.body;
  else if (options.body instanceof Blob) {
    init.body = options.body;
    headers['content-type'] = options.contentType ?? (options.body.type || 'application/octet-stream');
  }
  else if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  try {
    const res = await fetch(path, init);
    if (res.status === 401 || res.status === 403) noteAuthStatus(res.status);
    return res;
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'unreachable', 'The gateway cannot be reached; it may be restarting.');
  }
}

/** JSON request; throws ApiError for any non-2xx answer. */
export async function api<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
  const res = await apiFetch(path, options);
  if (!res.ok) throw await parseError(res);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.status ? `${err.message} (HTTP ${err.status}${err.code && !err.code.startsWith('http_') ? `, ${err.code}` : ''})` : err.message;
  return (err as Error)?.message ?? String(err);
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * Multipart upload with browser→gateway progress (fetch has no upload
 * progress). Resolves with the parsed JSON answer; rejects with ApiError.
 */
export function uploadForm<T = unknown>(path: string, form: FormData, onProgress?: (p: UploadProgress) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.responseType = 'text';
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    if (onProgress) xhr.upload.onprogress = (e) => onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : 0 });
    xhr.onerror = () => reject(new ApiError(0, 'unreachable', 'The upload could not reach the gateway.'));
    xhr.onload = () => {
      let body: unknown = xhr.responseText;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body as T);
      if (xhr.status === 401 || xhr.status === 403) noteAuthStatus(xhr.status);
      const b = body as { error?: unknown; message?: unknown };
      reject(
        new ApiError(
          xhr.status,
          typeof b?.error === 'string' ? b.error : `http_${xhr.status}`,
          typeof b?.message === 'string' ? b.message : String(xhr.responseText).slice(0, 300),
          body,
        ),
      );
    };
    xhr.send(form);
  });
}
