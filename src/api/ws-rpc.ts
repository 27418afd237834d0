import type { ApiKeyAuth } from '../auth/api-keys.js';
import type { JsonRpcServer } from './rpc/json-rpc.js';
import { serialise, type WsHub } from './ws-hub.js';

/**
 * JSON-RPC over the WebSocket, with the key the client connected with (docs/security.md).
 * Every WebSocket message has a topic and a timestamp (CONTRACT §5): answers go out one per
 * frame as topic `rpc/response`, a batch as several frames. Other client messages are ignored.
 */
export function bridgeRpcToWebSocket(hub: Pick<WsHub, 'onMessage'>, rpc: JsonRpcServer, auth: Pick<ApiKeyAuth, 'enabled'>): void {
  hub.onMessage((client, text) => {
    if (!text.includes('"jsonrpc"')) return;
    void rpc.handleText(text, { identity: client.identity, authEnabled: auth.enabled }).then((answer) => {
      for (const response of answer === null ? [] : [answer].flat()) client.send(serialise('rpc/response', { ...response }));
    });
  });
}
