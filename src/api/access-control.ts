import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { presentedSecret, type ApiKeyAuth, type Identity } from '../auth/api-keys.js';
import { requirementFor } from '../auth/access-policy.js';
import { originAllowed } from '../auth/origin-policy.js';
import { isGatewayError, toErrorBody } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who made the call, when a valid API key came with it. */
    identity: Identity | null;
  }
}

const CORS_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export { originAllowed };

/** CORS with the allow-list, and the API-key check on every request (docs/security.md). */
export async function installAccessControl(app: FastifyInstance, auth: ApiKeyAuth, corsOrigins: () => string[] | undefined): Promise<void> {
  await app.register(cors, {
    delegator: (req: FastifyRequest, callback: (err: Error | null, options: { origin: boolean | string; methods: string[]; allowedHeaders?: string[] }) => void) => {
      const origin = req.headers.origin;
      const allowed = typeof origin === 'string' && originAllowed(origin, req.headers.host, corsOrigins(), auth.enabled);
      const wildcard = (corsOrigins() ?? (auth.enabled ? [] : ['*'])).includes('*');
      callback(null, {
        origin: wildcard ? '*' : allowed ? (origin as string) : false,
        methods: CORS_METHODS,
        allowedHeaders: ['content-type', 'authorization', 'x-api-key'],
      });
    },
  });
  app.decorateRequest('identity', null);
  app.addHook('onRequest', async (req) => {
    if (!auth.enabled) return;
    // The matched route's pattern, not the raw URL: percent-encoding, doubled or trailing
    // slashes cannot dress an admin route up as something else.
    const path = req.routeOptions.url ?? decodedPath(req.url);
    req.identity = auth.authorize(presentedSecret(req.headers, req.url), requirementFor(req.method, path, auth.protectReads));
  });
}

/**
 * Checks a WebSocket upgrade; on refusal answers the raw socket with the JSON
 * error shape and returns null. A browser sends its key as `?token=`.
 */
export function authorizeUpgrade(auth: ApiKeyAuth, req: IncomingMessage, socket: Duplex): { identity: Identity | null } | null {
  if (!auth.enabled) return { identity: null };
  try {
    const identity = auth.authorize(presentedSecret(req.headers, req.url ?? ''), requirementFor('GET', '/ws', auth.protectReads));
    return { identity };
  } catch (err) {
    if (!isGatewayError(err)) throw err;
    const body = JSON.stringify(toErrorBody(err));
    const reason = err.status === 401 ? 'Unauthorized' : 'Forbidden';
    socket.end(`HTTP/1.1 ${err.status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    return null;
  }
}

function decodedPath(url: string): string {
  const raw = url.split('?')[0]!;
  try {
    return decodeURIComponent(raw).replace(/\/{2,}/g, '/');
  } catch {
    return raw;
  }
}
