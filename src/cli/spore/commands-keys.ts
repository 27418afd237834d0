import { readFile, stat, writeFile } from 'node:fs/promises';
import { decodeSignature, generateKeyPair, parsePrivateKey, signImage } from '../../firmware/firmware-signing.js';
import { CliFailure, UsageError } from './cli-options.js';
import { type Command, requireFile } from './command-context.js';

/** Images are at most the gateway's upload limit; signing reads the whole file (ed25519 has no streaming form). */
const MAX_SIGNED_BYTES = 64 * 1024 * 1024; // bytes

/**
 * `spore keys generate [-out prefix]`: a new ed25519 key pair with node's
 * crypto (no other tool): `<prefix>.key` (PKCS#8 PEM, mode 600) and
 * `<prefix>.pub` (SPKI PEM), and the public key as base64 for firmware.signing.trustedKeys.
 */
export const keysGenerate: Command = async (ctx) => {
  const prefix = (ctx.flags.get('out') as string | undefined) ?? 'spore-signing';
  const keyFile = `${prefix}.key`;
  const pubFile = `${prefix}.pub`;
  for (const f of [keyFile, pubFile]) {
    if (await stat(f).catch(() => null)) throw new UsageError(`-out ${JSON.stringify(prefix)}: ${f} already exists; choose another prefix (keys are never overwritten)`);
  }
  const pair = generateKeyPair();
  await writeFile(keyFile, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
  await writeFile(pubFile, pair.publicKeyPem, { flag: 'wx' });
  const result = { privateKey: keyFile, publicKey: pubFile, publicKeyBase64: pair.publicKeyBase64 };
  if (ctx.out.mode === 'json') ctx.out.json(result);
  else {
    ctx.out.line(`Wrote ${keyFile} (private: keep it off the gateway) and ${pubFile}.`);
    ctx.out.line(`Trust it in the gateway configuration: "firmware": {"signing": {"trustedKeys": [{"id": "<name>", "publicKey": "${pair.publicKeyBase64}"}]}}`);
  }
  return 0;
};

/** `spore firmware sign <file> -key <private key>`: writes `<file>.sig`, the detached ed25519 signature as base64. */
export const firmwareSign: Command = async (ctx) => {
  const file = ctx.args[0]!;
  await requireFile(file);
  const keyPath = ctx.flags.get('key') as string | undefined;
  if (!keyPath) throw new UsageError('"spore firmware sign" needs -key <private key file> (PEM, from spore keys generate)');
  const keyText = await readFile(keyPath, 'utf8').catch(() => {
    throw new UsageError(`-key ${JSON.stringify(keyPath)}: no such file`);
  });
  let key;
  try {
    key = parsePrivateKey(keyText);
  } catch (err) {
    throw new UsageError(`-key ${JSON.stringify(keyPath)}: ${(err as Error).message}; give an ed25519 private key (spore keys generate)`);
  }
  const info = await stat(file);
  if (info.size > MAX_SIGNED_BYTES) throw new CliFailure(`<file> ${JSON.stringify(file)} is larger than ${MAX_SIGNED_BYTES} bytes`);
  const signature = signImage(await readFile(file), key);
  const sigFile = `${file}.sig`;
  await writeFile(sigFile, `${signature.toString('base64')}\n`);
  if (ctx.out.mode === 'json') ctx.out.json({ file, signature: sigFile, base64: signature.toString('base64') });
  else ctx.out.line(`Signed ${file}: ${sigFile} (spore firmware upload sends it along)`);
  return 0;
};

/** The detached signature next to an image (`<file>.sig`), base64, or undefined when there is none. */
export async function readSignatureFile(file: string): Promise<string | undefined> {
  const raw = await readFile(`${file}.sig`).catch(() => null);
  if (raw === null) return undefined;
  const sig = decodeSignature(raw);
  if (!sig) throw new UsageError(`${file}.sig is not a 64-byte ed25519 signature (raw or base64); sign again with spore firmware sign`);
  return sig.toString('base64');
}
