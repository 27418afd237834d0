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

/** bytes: the frame buffer of one turn's broadcasts to begin with; it doubles as needed and shrinks back after a burst. */
const FRAMES_INITIAL_BYTES = 64 * 1024;

/** ms: broadcasts of a flood are written at most this often (see scheduleFlush). */
const BUSY_COALESCE_MS = 1;

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
  /** Each client's TCP socket: this turn's broadcasts are written to it as one buffer (see broadcastRaw). */
  private readonly sockets = new WeakMap<WebSocket, Duplex>();
  /**
   * This turn's broadcasts as complete WebSocket frames, not yet written (flushPending): bytes
   * 0..pendingBytes of `frames`, `pendingCount` messages. Each message is framed as it is
   * broadcast, so a caller's buffer may be reused at once (the MQTT encoder's is).
   */
  private frames = Buffer.allocUnsafeSlow(FRAMES_INITIAL_BYTES);
  private pendingBytes = 0;
  private pendingCount = 0;
  /** performance.now() of the last write of broadcasts, ms. */
  private lastFlushAt = -Infinity;
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
   * Sends an already serialised message (JSON text, or its UTF-8 bytes — copied before this
   * returns) to every client. Messages broadcast in one event-loop turn (an MQTT flood arrives
   * many per TCP read) are framed one after the other into one buffer — each message's bytes
   * copied once — and at the end of the turn that one buffer is written to every client's
   * socket: one write per client per turn instead of two (header, payload) per message per
   * client (issue 16 §5, the profile in docs/benchmarks.md). Returns the number of clients it
   * goes to.
   */
  broadcastRaw(message: string | Buffer): number {
    const clients = this.server.clients;
    if (clients.size === 0) return 0;
    const size = typeof message === 'string' ? Buffer.byteLength(message) : message.length;
    // A message larger than the whole backlog limit is never queued: 25 clients that
    // read nothing must not hold 25 copies of a 60 MB greeting (docs/security.md).
    if (size > this.options.maxBacklogBytes) {
      for (const ws of clients) if (ws.readyState === WebSocket.OPEN) this.refuseOversize(ws, size);
      return 0;
    }
    if (this.pendingCount === 0) this.scheduleFlush();
    const end = this.pendingBytes + frameHeaderLength(size) + size;
    if (end > this.frames.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(end, 2 * this.frames.length));
      this.frames.copy(grown, 0, 0, this.pendingBytes);
      this.frames = grown;
    }
    const at = writeFrameHeader(this.frames, this.pendingBytes, size);
    if (typeof message === 'string') this.frames.write(message, at);
    else message.copy(this.frames, at);
    this.pendingBytes = end;
    this.pendingCount++;
    let n = 0;
    for (const ws of clients) if (ws.readyState === WebSocket.OPEN) n++;
    return n;
  }

  /**
   * At the end of this turn; but when the last write was less than BUSY_COALESCE_MS ago (a
   * flood), at that interval after it: a stream of small messages then leaves in one write per
   * client per millisecond instead of one per TCP read, for at most 1 ms of added latency, and
   * a quiet stream still leaves at once.
   */
  private scheduleFlush(): void {
    const sinceLast = performance.now() - this.lastFlushAt;
    if (sinceLast >= BUSY_COALESCE_MS) setImmediate(this.flushPending);
    else setTimeout(this.flushPending, BUSY_COALESCE_MS - sinceLast);
  }

  /**
   * Writes this turn's broadcasts: one buffer of complete WebSocket text frames (RFC 6455 §5.2,
   * server frames are not masked) to every open client, in order. A client whose unsent bytes
   * from before this turn exceed the limit is closed with 1013 instead (this turn's own burst is
   * bounded by one turn's input and is not its fault). Runs before any other send to a client
   * (sendTo) and before a new client joins (accept), so every client sees one order.
   */
  private readonly flushPending = (): void => {
    const count = this.pendingCount;
    if (count === 0) return;
    this.lastFlushAt = performance.now();
    // The sockets keep what they are given until it is sent: a copy of exactly this turn's
    // bytes (a slow client's backlog then holds what it counts), the frame buffer reused.
    const frames = Buffer.allocUnsafe(this.pendingBytes);
    this.frames.copy(frames, 0, 0, this.pendingBytes);
    if (this.frames.length > FRAMES_INITIAL_BYTES && this.pendingBytes < this.frames.length / 8) this.frames = Buffer.allocUnsafeSlow(FRAMES_INITIAL_BYTES);
    this.pendingBytes = 0;
    this.pendingCount = 0;
    for (const ws of this.server.clients) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const socket = this.sockets.get(ws);
      if (!socket || socket.destroyed) continue;
      if (ws.bufferedAmount > this.options.maxBacklogBytes) {
        this.dropSlow(ws);
        continue;
      }
      // Straight to the socket: ws's Sender holds nothing back without compression (off here),
      // so this stays in order with its own frames, and ws.bufferedAmount counts these bytes.
      socket.write(frames);
      this.counters.messagesSent += count;
    }
  };

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
    // Broadcasts of the turn before this client joined are not for it.
    this.flushPending();
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

  private sendTo(ws: WebSocket, message: string | Buffer): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    // This turn's broadcasts go first: a client sees every message in the order it was sent.
    this.flushPending();
    const backlog = ws.bufferedAmount;
    if (backlog > this.options.maxBacklogBytes) {
      this.dropSlow(ws);
      return false;
    }
    const size = typeof message === 'string' ? Buffer.byteLength(message) : message.length;
    if (size > this.options.maxBacklogBytes) {
      this.refuseOversize(ws, size);
      return false;
    }
    if (backlog + size > this.options.maxBacklogBytes) {
      this.dropSlow(ws);
      return false;
    }
    ws.send(message, TEXT_FRAME);
    this.counters.messagesSent++;
    return true;
  }

  /** A message larger than the whole backlog limit: the client is closed with 1009, the message never queued. */
  private refuseOversize(ws: WebSocket, size: number): void {
    this.counters.oversizeMessagesRefused++;
    this.logger.warn({ bytes: size, maxBacklogBytes: this.options.maxBacklogBytes }, 'WebSocket message larger than the backlog limit; closing the client with 1009');
    ws.close(CLOSE_MESSAGE_TOO_BIG, `message of ${size} bytes exceeds the backlog limit`);
    setTimeout(() => ws.terminate(), 1000).unref();
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

/** Bytes of an unmasked frame header for a payload of `size` bytes (RFC 6455 §5.2). */
function frameHeaderLength(size: number): number {
  return size < 126 ? 2 : size < 65_536 ? 4 : 10;
}

/** Writes the header of a final, unmasked text frame of `size` bytes at `at`; returns the offset after it. */
function writeFrameHeader(buf: Buffer, at: number, size: number): number {
  buf[at] = 0x81; // FIN + opcode 1 (text)
  if (size < 126) {
    buf[at + 1] = size;
    return at + 2;
  }
  if (size < 65_536) {
    buf[at + 1] = 126;
    buf.writeUInt16BE(size, at + 2);
    return at + 4;
  }
  buf[at + 1] = 127;
  buf.writeUInt32BE(Math.floor(size / 2 ** 32), at + 2);
  buf.writeUInt32BE(size >>> 0, at + 6);
  return at + 10;
}

/** Every message has a string `topic` and an RFC3339 `timestamp` (CONTRACT §5). */
export function serialise(topic: string, fields: Record<string, unknown>): string {
  return JSON.stringify({ topic, ...fields, timestamp: new Date().toISOString() });
}
