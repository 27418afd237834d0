import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { Identity } from '../auth/api-keys.js';
import type { Logger } from '../logger.js';

export interface WsHubOptions {
  /** Unsent bytes a client may accumulate before it is dropped with 1013 (CONTRACT §5). */
  maxBacklogBytes: number;
  pingIntervalMs: number;
}

export interface WsHubStats {
  clients: number;
  messagesSent: number;
  /** Clients closed with 1013 because they could not keep up. */
  slowClientsDropped: number;
}

/** A connected client, as connect hooks see it. */
export interface WsClient {
  send(message: string): void;
  readonly url: URL;
  /** The API key the client connected with, when keys are configured. */
  readonly identity: Identity | null;
}

export type ConnectHook = (client: WsClient) => void;
export type MessageHook = (client: WsClient, data: string) => void;

/** Close code for "try again later" (RFC 6455 §7.4.1): the client's backlog overflowed. */
export const CLOSE_TRY_AGAIN_LATER = 1013;

/**
 * The WebSocket hub at `/ws` (CONTRACT §5). Every message is serialised once
 * and written to every client. Backlog policy (docs/websocket.md): a client
 * whose unsent bytes exceed `maxBacklogBytes` is closed with code 1013, so a
 * slow client never slows the others or grows the gateway's memory.
 */
export class WsHub {
  private readonly server = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false });
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly connectHooks: ConnectHook[] = [];
  private readonly messageHooks: MessageHook[] = [];
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly counters = { messagesSent: 0, slowClientsDropped: 0 };

  constructor(
    private readonly options: WsHubOptions,
    private readonly logger: Logger,
  ) {}

  get clientCount(): number {
    return this.server.clients.size;
  }

  stats(): WsHubStats {
    return { clients: this.clientCount, ...this.counters };
  }

  /** Runs for every new client (e.g. to send `cluster/update`, or MQTT replay). */
  onConnect(hook: ConnectHook): void {
    this.connectHooks.push(hook);
  }

  /** Runs for every text message a client sends (JSON-RPC over WebSocket). */
  onMessage(hook: MessageHook): void {
    this.messageHooks.push(hook);
  }

  start(): void {
    this.pingTimer = setInterval(() => this.pingAll(), this.options.pingIntervalMs);
    this.pingTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.pingTimer);
    for (const ws of this.server.clients) ws.close(1001, 'gateway shutting down');
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(() => {
        for (const ws of this.server.clients) ws.terminate();
        resolve();
      }, 500);
      deadline.unref();
      if (this.server.clients.size === 0) {
        clearTimeout(deadline);
        resolve();
      } else {
        let open = this.server.clients.size;
        for (const ws of this.server.clients) {
          ws.once('close', () => {
            if (--open === 0) {
              clearTimeout(deadline);
              resolve();
            }
          });
        }
      }
    });
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Hands an HTTP upgrade request to the hub. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, identity: Identity | null = null): void {
    this.server.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, identity));
  }

  /** Sends `{topic, ...fields, timestamp}` to every client. Returns the number of clients. */
  broadcast(topic: string, fields: Record<string, unknown>): number {
    return this.broadcastRaw(serialise(topic, fields));
  }

  /** Sends an already serialised message to every client. */
  broadcastRaw(message: string): number {
    let n = 0;
    for (const ws of this.server.clients) {
      if (this.sendTo(ws, message)) n++;
    }
    return n;
  }

  private accept(ws: WebSocket, req: IncomingMessage, identity: Identity | null): void {
    this.alive.set(ws, true);
    ws.on('pong', () => this.alive.set(ws, true));
    ws.on('error', (err) => this.logger.debug({ err }, 'WebSocket client error'));
    const client: WsClient = {
      send: (message) => void this.sendTo(ws, message),
      url: new URL(req.url ?? '/ws', 'http://gateway'),
      identity,
    };
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      for (const hook of this.messageHooks) {
        try {
          hook(client, text);
        } catch (err) {
          this.logger.error({ err }, 'WebSocket message hook failed');
        }
      }
    });
    this.logger.debug({ clients: this.clientCount, from: req.socket.remoteAddress }, 'WebSocket client connected');
    for (const hook of this.connectHooks) {
      try {
        hook(client);
      } catch (err) {
        this.logger.error({ err }, 'WebSocket connect hook failed');
      }
    }
  }

  private sendTo(ws: WebSocket, message: string): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    if (ws.bufferedAmount > this.options.maxBacklogBytes) {
      this.dropSlow(ws);
      return false;
    }
    ws.send(message);
    this.counters.messagesSent++;
    return true;
  }

  private dropSlow(ws: WebSocket): void {
    this.counters.slowClientsDropped++;
    this.logger.warn({ backlogBytes: ws.bufferedAmount }, 'WebSocket client too slow; closing it with 1013');
    ws.close(CLOSE_TRY_AGAIN_LATER, 'backlog exceeded; reconnect');
    // The close frame sits behind the backlog; do not wait for a client that reads nothing.
    setTimeout(() => ws.terminate(), 1000).unref();
  }

  private pingAll(): void {
    for (const ws of this.server.clients) {
      if (this.alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      this.alive.set(ws, false);
      ws.ping();
    }
  }
}

/** Every message has a string `topic` and an RFC3339 `timestamp` (CONTRACT §5). */
export function serialise(topic: string, fields: Record<string, unknown>): string {
  return JSON.stringify({ topic, ...fields, timestamp: new Date().toISOString() });
}
