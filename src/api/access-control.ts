import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { presentedSecret, type ApiKeyAuth, type Identity } from '../auth/api-keys.js';
import { requirementFor } from '../auth/access-policy.js';
import { originAllowed } from '../auth/origin-policy.js';
import { isGatewayError, toErrorBody } from '../errors.js';
import type { ClientVerdict, WsClient } from './ws-hub.js';

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
export function authorizeUpgrade(auth: ApiKeyAuth, req: IncomingMessage, socket: Duplex): { identity: Identity | null; secret: string | undefined } | null {
  const secret = presentedSecret(req.headers, req.url ?? '');
  if (!auth.enabled) return { identity: null, secret };
  try {
    const identity = auth.authorize(secret, requirementFor('GET', '/ws', auth.protectReads));
    return { identity, secret };
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

/** Close codes for an open `/ws` client the current keys no longer allow (docs/security.md, docs/websocket.md). */
export const WS_CLOSE_UNAUTHORIZED = 4401;
export const WS_CLOSE_FORBIDDEN = 4403;

/**
 * The verdict on an open `/ws` client after the keys or `protectReads` changed: the same rule
 * as its upgrade (`requirementFor('GET', '/ws')`), applied to the secret it connected with.
 * A key gone (or none, now that one is needed) → 4401; a scope that no longer suffices → 4403.
 */
export function recheckWsClient(auth: ApiKeyAuth, secret: string | undefined, client: WsClient): ClientVerdict {
  if (!auth.enabled) return { identity: null };
  try {
    const identity = auth.authorize(secret, requirementFor('GET', '/ws', auth.protectReads));
    // A key that is gone ends the socket it opened, even where reads are open: what it
    // allowed (JSON-RPC over /ws, the live log) must not linger as an anonymous socket.
    if (secret && identity === null) return { close: WS_CLOSE_UNAUTHORIZED, reason: 'API key no longer valid' };
    // The live log (`/ws?logs=1`) is for admin keys: a client that had one and lost it is told so, not silently starved.
    if (client.url.searchParams.get('logs') === '1' && client.identity?.scope === 'admin' && identity?.scope !== 'admin') {
      return { close: WS_CLOSE_FORBIDDEN, reason: 'the live log needs an admin key' };
    }
    return { identity };
  } catch (err) {
    if (!isGatewayError(err)) throw err;
    return { close: err.status === 401 ? WS_CLOSE_UNAUTHORIZED : WS_CLOSE_FORBIDDEN, reason: err.status === 401 ? 'API key no longer valid' : 'API key scope no longer allows this' };
  }
}
