import { createHash, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../errors.js';

export type Scope = 'read' | 'admin';
/** What a call needs: nothing, any valid key, or an admin key. */
export type Requirement = 'none' | Scope;

export interface ApiKeyConfig {
  name: string;
  /** The secret itself, or `sha256:<hex>` of it. */
  key: string;
  scope: Scope;
}

export interface AuthSettings {
  apiKeys: ApiKeyConfig[];
  protectReads: boolean;
}

export interface Identity {
  name: string;
  scope: Scope;
}

interface StoredKey extends Identity {
  digest: Buffer;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * API-key authentication (docs/security.md). Keys are kept only as SHA-256
 * digests; a presented secret is hashed and compared with every key in
 * constant time, so neither a key's content nor which key matched leaks
 * through timing.
 */
export class ApiKeyAuth {
  private keys: StoredKey[] = [];
  private readsProtected = false;

  constructor(settings: AuthSettings) {
    this.update(settings);
  }

  /** Replaces the keys (configuration reload without a restart). */
  update(settings: AuthSettings): void {
    this.keys = settings.apiKeys.map((k) => ({
      name: k.name,
      scope: k.scope,
      digest: k.key.startsWith('sha256:') ? Buffer.from(k.key.slice(7), 'hex') : sha256(k.key),
    }));
    this.readsProtected = settings.protectReads;
  }

  /** Authentication is on once any key is configured. */
  get enabled(): boolean {
    return this.keys.length > 0;
  }

  get protectReads(): boolean {
    return this.readsProtected;
  }

  /** The identity a secret belongs to, or null. */
  identify(secret: string | undefined): Identity | null {
    if (!secret) return null;
    const digest = sha256(secret);
    let match: StoredKey | null = null;
    for (const key of this.keys) {
      // No early exit: every key is compared, whatever matched.
      if (timingSafeEqual(key.digest, digest) && match === null) match = key;
    }
    return match ? { name: match.name, scope: match.scope } : null;
  }

  /**
   * Checks a secret against a requirement: a missing or wrong key → 401, a
   * valid key whose scope is too small → 403. Returns the identity (null when
   * nothing was required and nothing valid was presented).
   */
  authorize(secret: string | undefined, requirement: Requirement): Identity | null {
    if (!this.enabled) return null;
    const identity = this.identify(secret);
    if (requirement === 'none') return identity;
    if (!identity) {
      throw new GatewayError('unauthorized', secret ? 'The API key is not valid.' : 'This call needs an API key: send Authorization: Bearer <key> or X-API-Key: <key>.');
    }
    if (requirement === 'admin' && identity.scope !== 'admin') {
      throw new GatewayError('forbidden', `The API key "${identity.name}" has scope "${identity.scope}"; this call needs an admin key.`);
    }
    return identity;
  }
}

/** The secret of a request: `Authorization: Bearer`, `X-API-Key`, or `?token=` (browsers' WebSocket). */
export function presentedSecret(headers: Record<string, string | string[] | undefined>, url: string): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.length > 0) return apiKey;
  const q = url.indexOf('?');
  if (q >= 0) {
    const token = new URLSearchParams(url.slice(q + 1)).get('token');
    if (token) return token;
  }
  return undefined;
}
