import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import { z } from 'zod';

/**
 * Broker TLS options, one schema for the MQTT bridge (`mqtt.tls`), the
 * pipeline's `mqtt` connectors and sinks: CA, client certificate and key as
 * PEM file paths, and an explicit opt-in for self-signed brokers.
 */
export const tlsOptionsSchema = z
  .object({
    /** PEM file of the certificate authority that signed the broker's certificate. */
    caFile: z.string().min(1).optional(),
    /** PEM client certificate and its key, for brokers that ask for one (mutual TLS). */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** Explicit opt-in: accept any broker certificate (self-signed, wrong name). Insecure. */
    allowSelfSigned: z.boolean().default(false),
    /** Server name for SNI and certificate checks when it differs from the URL's host. */
    servername: z.string().min(1).optional(),
  })
  .strict()
  .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), { message: 'certFile and keyFile go together', path: ['keyFile'] });

export type TlsOptions = z.infer<typeof tlsOptionsSchema>;

/** Thrown when a TLS file cannot be read; names the setting and the path. */
export class TlsFileError extends Error {}

/**
 * mqtt.js TLS options, with the files read now. Over `wss://` the same options
 * go to the WebSocket too (mqtt.js does not pass them on by itself).
 * `setting` prefixes the option names in errors, e.g. `mqtt.tls`.
 */
export function tlsClientOptions(tls: TlsOptions, setting: string, websocket: boolean): Partial<IClientOptions> {
  const read = (name: 'caFile' | 'certFile' | 'keyFile'): Buffer | undefined => {
    const path = tls[name];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new TlsFileError(`${setting}.${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  };
  const ca = read('caFile');
  const cert = read('certFile');
  const key = read('keyFile');
  const secure = {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    rejectUnauthorized: !tls.allowSelfSigned,
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
  return websocket ? { ...secure, wsOptions: { ...secure } } : secure;
}
