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
  /** Clients closed with 1009 because one message was larger than the backlog limit (never queued). */
  oversizeMessagesRefused: number;
}

/** A connected client, as connect hooks see it. */
export interface WsClient {
  send(message: string): void;
  readonly url: URL;
  /** The API key the client connected with, when keys are configured (updated when the keys change). */
  readonly identity: Identity | null;
}

/** What a re-check of an open client decided: keep it (with its identity now), or close it. */
export type ClientVerdict = { identity: Identity | null } | { close: number; reason: string };

export type ConnectHook = (client: WsClient) => void;
export type MessageHook = (client: WsClient, data: string) => void;

/** Pre-encoded messages still go out as text frames. */
const TEXT_FRAME = { binary: false } as const;

/** Close code for "try again later" (RFC 6455 §7.4.1): the client's backlog overflowed. */
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** Close code for "message too big" (RFC 6455 §7.4.1): one message larger than the client's whole backlog limit. */
export const CLOSE_MESSAGE_TOO_BIG = 1009;

/**
 * The WebSocket hub at `/ws` (CONTRACT §5). Every message is serialised once
 * and written to every client. Backlog policy (docs/websocket.md): a client
 * whose unsent bytes exceed `maxBacklogBytes` is closed with code 1013, so a
 * slow client never slows the others or grows the gateway's memory.
 */
export class WsHub {
  private readonly server = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false });
  private readonly alive = new WeakMap<WebSocket, boolean>();
  /** Each client's TCP socket, corked while a burst of broadcasts is written (see broadcastRaw). */
  private readonly sockets = new WeakMap<WebSocket, Duplex>();
  private corked: Duplex[] | null = null;
  /** Each client's unsent bytes when the current turn began: what it failed to read before, not this turn's burst. */
  private readonly backlogAtTurnStart = new WeakMap<WebSocket, number>();
  private readonly connectHooks: ConnectHook[] = [];
  private readonly messageHooks: MessageHook[] = [];
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly counters = { messagesSent: 0, slowClientsDropped: 0, oversizeMessagesRefused: 0 };
  /** Every open client as hooks see it, for messages only some clients get (the live log). */
  private readonly clients = new Map<WebSocket, WsClient & { identity: Identity | null }>();
  /** The secret each client presented at its upgrade, kept only to re-check it when the keys change (never logged). */
  private readonly secrets = new WeakMap<WebSocket, string | undefined>();

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
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, identity: Identity | null = null, secret?: string): void {
    this.server.handleUpgrade(req, socket, head, (ws) => {
      this.secrets.set(ws, secret);
      this.accept(ws, req, identity);
    });
  }

  /**
   * Re-checks every open client with the secret it connected with (issue 12 §5: a
   * configuration change — a key revoked, its scope lowered, `protectReads` switched on —
   * reaches sockets opened before it). A client `check` refuses is closed with the code it
   * gives (4401 / 4403, docs/security.md). Returns how many were closed.
   */
  recheck(check: (secret: string | undefined, client: WsClient) => ClientVerdict): number {
    let closed = 0;
    for (const [ws, client] of this.clients) {
      const verdict = check(this.secrets.get(ws), client);
      if ('close' in verdict) {
        closed++;
        this.clients.delete(ws);
        ws.close(verdict.close, verdict.reason);
        setTimeout(() => ws.terminate(), 1000).unref();
      } else client.identity = verdict.identity;
    }
    return closed;
  }

  /** Sends `{topic, ...fields, timestamp}` to every client. Returns the number of clients. */
  broadcast(topic: string, fields: Record<string, unknown>): number {
    return this.broadcastRaw(serialise(topic, fields));
  }

  /**
   * Sends an already serialised message to every client: encoded to bytes once
   * for all of them, and written to sockets that stay corked until the end of
   * this event-loop turn, so a burst of messages (an MQTT flood arrives many
   * per TCP read) leaves in one writev per client instead of one per message.
   */
  broadcastRaw(message: string): number {
    const clients = this.server.clients;
    if (clients.size === 0) return 0;
    const data = Buffer.from(message);
    this.corkUntilNextTurn();
    let n = 0;
    for (const ws of clients) {
      if (this.sendTo(ws, data)) n++;
    }
    return n;
  }

  /** Sends `{topic, ...fields, timestamp}` to the clients `wanted` picks. Returns how many got it. */
  broadcastWhere(wanted: (client: WsClient) => boolean, topic: string, fields: Record<string, unknown>): number {
    let message: Buffer | undefined;
    let n = 0;
    for (const [ws, client] of this.clients) {
      if (!wanted(client)) continue;
      message ??= Buffer.from(serialise(topic, fields));
      if (this.sendTo(ws, message)) n++;
    }
    return n;
  }

  private accept(ws: WebSocket, req: IncomingMessage, identity: Identity | null): void {
    this.alive.set(ws, true);
    this.sockets.set(ws, req.socket);
    ws.on('pong', () => this.alive.set(ws, true));
    ws.on('error', (err) => this.logger.debug({ err }, 'WebSocket client error'));
    const client: WsClient & { identity: Identity | null } = {
      send: (message) => void this.sendTo(ws, message),
      url: new URL(req.url ?? '/ws', 'http://gateway'),
      identity,
    };
    this.clients.set(ws, client);
    ws.once('close', () => this.clients.delete(ws));
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

  private corkUntilNextTurn(): void {
    if (this.corked) return;
    const corked: Duplex[] = [];
    for (const ws of this.server.clients) {
      const socket = this.sockets.get(ws);
      if (socket && !socket.destroyed) {
        this.backlogAtTurnStart.set(ws, ws.bufferedAmount);
        socket.cork();
        corked.push(socket);
      }
    }
    this.corked = corked;
    // setImmediate, not nextTick: it runs after every message parsed from the current read.
    setImmediate(() => {
      this.corked = null;
      for (const socket of corked) socket.uncork();
    });
  }

  private sendTo(ws: WebSocket, message: string | Buffer): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    // While corked, this turn's own burst is not the client's fault (it is bounded by one turn's input).
    const backlog = this.corked ? (this.backlogAtTurnStart.get(ws) ?? ws.bufferedAmount) : ws.bufferedAmount;
    if (backlog > this.options.maxBacklogBytes) {
      this.dropSlow(ws);
      return false;
    }
    // A message larger than the whole backlog limit is never queued: 25 clients that
    // read nothing must not hold 25 copies of a 60 MB greeting (docs/security.md).
    const size = typeof message === 'string' ? Buffer.byteLength(message) : message.length;
    if (size > this.options.maxBacklogBytes) {
      this.counters.oversizeMessagesRefused++;
      this.logger.warn({ bytes: size, maxBacklogBytes: this.options.maxBacklogBytes }, 'WebSocket message larger than the backlog limit; closing the client with 1009');
      ws.close(CLOSE_MESSAGE_TOO_BIG, `message of ${size} bytes exceeds the backlog limit`);
      setTimeout(() => ws.terminate(), 1000).unref();
      return false;
    }
    if (!this.corked && backlog + size > this.options.maxBacklogBytes) {
      this.dropSlow(ws);
      return false;
    }
    ws.send(message, TEXT_FRAME);
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
