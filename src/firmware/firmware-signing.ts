import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { GatewayError } from '../errors.js';

/**
 * Detached ed25519 signatures of firmware images (issue 17 §1). A signature is
 * the 64-byte ed25519 signature of the image file's exact bytes (a `.bin.gz`
 * is signed compressed, as stored and sent), so `openssl pkeyutl -sign -rawin`
 * produces the same thing as `spore firmware sign`. It travels raw (64 bytes)
 * or base64.
 */
export const SIGNATURE_BYTES = 64;
/** DER prefix of an ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow (RFC 8410). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface TrustedKeyConfig {
  id: string;
  /** PEM (SPKI), or base64 of the 32 raw key bytes or of the DER SPKI. */
  publicKey: string;
}

export interface SigningConfig {
  required: boolean;
  trustedKeys: TrustedKeyConfig[];
  /** Key ids whose images may no longer start rollouts (a leaked or retired key). */
  revokedKeys: string[];
}

/** Parses an ed25519 public key given as PEM or base64 (raw 32 bytes or DER SPKI); throws with why. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith('-----BEGIN')) {
      key = createPublicKey(trimmed);
    } else {
      if (!/^[A-Za-z0-9+/=_-]+$/.test(trimmed)) throw new Error('not PEM and not base64');
      const der = Buffer.from(trimmed, 'base64');
      if (der.length === 32) key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, der]), format: 'der', type: 'spki' });
      else key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    }
  } catch {
    throw new Error('not a public key (PEM "BEGIN PUBLIC KEY", or base64 of its 32 raw bytes or of its DER SubjectPublicKeyInfo)');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType ?? 'unknown'} key, not ed25519`);
  return key;
}

/** Parses an ed25519 private key given as PEM (PKCS#8) or base64 (raw 32-byte seed or DER PKCS#8). */
export function parsePrivateKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith('-----BEGIN')) {
      key = createPrivateKey(trimmed);
    } else {
      if (!/^[A-Za-z0-9+/=_-]+$/.test(trimmed)) throw new Error('not PEM and not base64');
      const der = Buffer.from(trimmed, 'base64');
      if (der.length === 32) key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, der]), format: 'der', type: 'pkcs8' });
      else key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    }
  } catch {
    throw new Error('not a private key (PEM "BEGIN PRIVATE KEY", or base64 of its 32-byte seed or of its DER PKCS#8)');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType ?? 'unknown'} key, not ed25519`);
  return key;
}

/** A detached signature as uploaded: 64 raw bytes, or their base64 (whitespace ignored). Null when it is neither. */
export function decodeSignature(raw: Buffer | string): Buffer | null {
  if (typeof raw !== 'string' && raw.length === SIGNATURE_BYTES) return Buffer.from(raw);
  const text = (typeof raw === 'string' ? raw : raw.toString('latin1')).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === SIGNATURE_BYTES ? bytes : null;
}

export function signImage(image: Buffer, privateKey: KeyObject): Buffer {
  return sign(null, image, privateKey);
}

/** A new ed25519 key pair as PEM, plus the public key as base64 of its raw 32 bytes (for the configuration). */
export function generateKeyPair(): { privateKeyPem: string; publicKeyPem: string; publicKeyBase64: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    publicKeyBase64: spki.subarray(ED25519_SPKI_PREFIX.length).toString('base64'),
  };
}

/** What the store records about an image's signature. */
export interface SignatureVerdict {
  /** `verified` (by `keyId`) or `unsigned`. */
  signature: 'verified' | 'unsigned';
  keyId: string | null;
}

/**
 * The trusted keys and the policy: verifies uploads, and tells whether an
 * image may start a rollout (its key still trusted and not revoked).
 */
export class FirmwareSigning {
  private keys: Array<{ id: string; key: KeyObject }> = [];
  private policy: SigningConfig = { required: false, trustedKeys: [], revokedKeys: [] };

  constructor(config?: SigningConfig) {
    if (config) this.update(config);
  }

  /** Takes a new policy (start-up, configuration reload). Keys were validated with the configuration. */
  update(config: SigningConfig): void {
    this.policy = config;
    this.keys = config.trustedKeys.map((k) => ({ id: k.id, key: parsePublicKey(k.publicKey) }));
  }

  get required(): boolean {
    return this.policy.required;
  }

  /**
   * Checks an upload's detached signature over `image`. No signature: unsigned
   * (refused when signing is required). A signature must verify with a trusted,
   * unrevoked key, whatever the policy: a bad signature is never stored.
   */
  verifyUpload(image: Buffer | null, signature: Buffer | string | undefined): SignatureVerdict {
    if (signature === undefined || (typeof signature === 'string' && signature.trim() === '')) {
      if (this.policy.required) {
        throw new GatewayError('invalid_signature', 'this gateway requires signed images (firmware.signing.required): send the detached ed25519 signature in the form field "signature" (spore firmware sign <file> -key <private key>)');
      }
      return { signature: 'unsigned', keyId: null };
    }
    const sig = decodeSignature(signature);
    if (!sig) throw new GatewayError('invalid_signature', `the signature must be a 64-byte ed25519 signature, raw or base64`);
    if (!image) throw new GatewayError('internal', 'the image to verify is missing');
    const usable = this.keys.filter((k) => !this.policy.revokedKeys.includes(k.id));
    if (usable.length === 0) throw new GatewayError('invalid_signature', 'the image is signed but this gateway trusts no key (firmware.signing.trustedKeys is empty)');
    const match = usable.find((k) => verify(null, image, k.key, sig));
    if (!match) {
      throw new GatewayError('invalid_signature', `the signature does not verify with any trusted key (${usable.map((k) => k.id).join(', ')}): wrong key, or the image changed after signing`);
    }
    return { signature: 'verified', keyId: match.id };
  }

  /** Refuses to start a rollout of an image whose key was revoked or is no longer trusted, or an unsigned one when signing is required. */
  assertMayRoll(firmware: { id: string; name: string; version: string; signedBy: string | null }): void {
    const what = `firmware ${firmware.name} ${firmware.version} (${firmware.id})`;
    if (firmware.signedBy === null) {
      if (this.policy.required) throw new GatewayError('invalid_signature', `${what} is unsigned and this gateway requires signed images (firmware.signing.required)`);
      return;
    }
    if (this.policy.revokedKeys.includes(firmware.signedBy)) {
      throw new GatewayError('invalid_signature', `${what} was signed with key "${firmware.signedBy}", which is revoked (firmware.signing.revokedKeys): it cannot start new rollouts; sign it again with a trusted key and upload it`);
    }
    if (this.policy.required && !this.keys.some((k) => k.id === firmware.signedBy)) {
      throw new GatewayError('invalid_signature', `${what} was signed with key "${firmware.signedBy}", which is no longer trusted (firmware.signing.trustedKeys): it cannot start new rollouts`);
    }
  }
}
