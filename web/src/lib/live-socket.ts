import type { WsMessage as TopicMessage, WsPayloads } from '../../../src/contract/ws-messages';
import { backoffDelay } from './backoff';
import { Store } from './store';

/** Every message on /ws has a string topic and an RFC3339 timestamp (CONTRACT §5). */
export interface WsMessage {
  topic: string;
  timestamp: string;
  [field: string]: unknown;
}

export type ConnectionPhase = 'connecting' | 'open' | 'reconnecting';

export interface ConnectionState {
  phase: ConnectionPhase;
  /** Failed attempts since the last successful connection. */
  attempt: number;
  /** When the next attempt starts, ms since the epoch (while reconnecting). */
  retryAt: number | null;
  /** When the connection last opened, ms since the epoch. */
  openedAt: number | null;
  /** How many times the socket opened (the first open is 1). */
  opens: number;
  /** Raw messages dropped because the page could not keep up (hidden tab, stalls). */
  dropped: number;
  lastError: string | null;
}

export type BatchHandler = (messages: WsMessage[]) => void;

/** The gateway's own topics with a fixed name, and their messages as the contract shapes them. */
export type GatewayTopic = Exclude<keyof WsPayloads, 'telemetry'>;
export type TopicHandler<T extends keyof WsPayloads> = (messages: Array<TopicMessage<T>>) => void;

/** Unprocessed raw frames kept at most; beyond, the oldest are dropped and counted. */
const MAX_QUEUED_FRAMES = 20_000;
/** While the tab is hidden, rAF does not run: flush on a timer instead, ms. */
const HIDDEN_FLUSH_MS = 250;

/**
 * The UI's one WebSocket to the gateway. Frames are queued as they arrive and
 * handled once per animation frame: each subscriber gets all of that frame's
 * messages for its topics in one call, so 1,000 messages/s become ~60 store
 * updates/s, and nothing re-renders per message. Reconnects by itself with
 * exponential backoff; `state` tells the UI where it stands.
 */
export class LiveSocket {
  readonly state = new Store<ConnectionState>({
    phase: 'connecting',
    attempt: 0,
    retryAt: null,
    openedAt: null,
    opens: 0,
    dropped: 0,
    lastError: null,
  });
  /** Messages handled, for the rate shown in the UI. */
  received = 0;
  private ws: WebSocket | null = null;
  private queue: string[] = [];
  private queueHead = 0;
  private flushScheduled = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly exact = new Map<string, Set<BatchHandler>>();
  private readonly prefixes: Array<{ prefix: string; handler: BatchHandler; mqtt: boolean }> = [];
  private readonly openHandlers = new Set<() => void>();
  private stopped = false;

  /** `url` is read at every attempt (it may carry a changing API key). */
  constructor(private readonly url: () => string) {}

  start(): void {
    this.stopped = false;
    this.connect();
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && this.state.get().phase === 'reconnecting') this.reconnectNow();
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.ws?.close(1000, 'bye');
  }

  /** Handles the gateway's own messages whose topic is exactly `topic` (never forwarded MQTT ones). */
  on<T extends GatewayTopic>(topic: T, handler: TopicHandler<T>): () => void {
    let set = this.exact.get(topic);
    if (!set) this.exact.set(topic, (set = new Set()));
    // The gateway writes these topics from the contract's types (src/contract/ws-messages.ts).
    const h = handler as unknown as BatchHandler;
    set.add(h);
    return () => set!.delete(h);
  }

  /** Handles `telemetry/<device>` messages: one pipeline record each (the contract's PipelineRecord). */
  onTelemetry(handler: TopicHandler<'telemetry'>): () => void {
    return this.onPrefix('telemetry/', handler as unknown as BatchHandler);
  }

  /**
   * Handles messages whose topic starts with `prefix` ('' = every message).
   * Forwarded MQTT messages (`"source":"mqtt"`) only reach handlers that ask
   * for them: an MQTT topic named like a gateway topic (`cluster/update`,
   * `telemetry/x`) must never be mistaken for the gateway's own message.
   */
  onPrefix(prefix: string, handler: BatchHandler, options: { includeMqtt?: boolean } = {}): () => void {
    const entry = { prefix, handler, mqtt: options.includeMqtt === true };
    this.prefixes.push(entry);
    return () => {
      const i = this.prefixes.indexOf(entry);
      if (i >= 0) this.prefixes.splice(i, 1);
    };
  }

  /** Runs every time the socket opens (first time and after each reconnection). */
  onOpen(handler: () => void): () => void {
    this.openHandlers.add(handler);
    return () => this.openHandlers.delete(handler);
  }

  /** Skips the backoff wait (the "retry now" button). */
  reconnectNow(): void {
    if (this.state.get().phase === 'open') return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  /** Closes and opens again at once (e.g. with a new API key). */
  restart(): void {
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'reconnecting');
    clearTimeout(this.retryTimer);
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    const s = this.state.get();
    this.state.set({ ...s, phase: s.opens === 0 && s.attempt === 0 ? 'connecting' : 'reconnecting', retryAt: null });
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url());
    } catch (err) {
      this.scheduleRetry(String(err));
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      const st = this.state.get();
      this.state.set({ ...st, phase: 'open', attempt: 0, retryAt: null, openedAt: Date.now(), opens: st.opens + 1, lastError: null });
      for (const h of [...this.openHandlers]) {
        try {
          h();
        } catch (err) {
          console.error('open handler failed', err);
        }
      }
    };
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string') return;
      this.queue.push(e.data);
      if (this.queue.length - this.queueHead > MAX_QUEUED_FRAMES) {
        this.queueHead++;
        this.state.get().dropped++;
      }
      this.scheduleFlush();
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const reason = e.code === 1013 ? 'the gateway dropped this page for falling behind' : e.reason || `connection closed (code ${e.code})`;
      this.scheduleRetry(reason);
    };
    ws.onerror = () => {
      // onclose follows with the details
    };
  }

  private scheduleRetry(reason: string): void {
    if (this.stopped) return;
    const s = this.state.get();
    const attempt = s.attempt + 1;
    const delay = backoffDelay(attempt);
    this.state.set({ ...s, phase: 'reconnecting', attempt, retryAt: Date.now() + delay, lastError: reason });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    if (document.visibilityState === 'hidden') setTimeout(() => this.flush(), HIDDEN_FLUSH_MS);
    else requestAnimationFrame(() => this.flush());
  }

  /** Parses this frame's messages and hands each subscriber its share in one call. */
  private flush(): void {
    this.flushScheduled = false;
    const frames = this.queue;
    const head = this.queueHead;
    this.queue = [];
    this.queueHead = 0;
    const batches = new Map<BatchHandler, WsMessage[]>();
    const add = (h: BatchHandler, m: WsMessage) => {
      let list = batches.get(h);
      if (!list) batches.set(h, (list = []));
      list.push(m);
    };
    for (let i = head; i < frames.length; i++) {
      let msg: WsMessage;
      try {
        msg = JSON.parse(frames[i]!) as WsMessage;
      } catch {
        continue;
      }
      if (!msg || typeof msg.topic !== 'string') continue;
      this.received++;
      const fromMqtt = msg.source === 'mqtt';
      if (!fromMqtt) {
        const set = this.exact.get(msg.topic);
        if (set) for (const h of set) add(h, msg);
      }
      for (const { prefix, handler, mqtt } of this.prefixes) if ((mqtt || !fromMqtt) && msg.topic.startsWith(prefix)) add(handler, msg);
    }
    for (const [handler, messages] of batches) {
      try {
        handler(messages);
      } catch (err) {
        console.error('WebSocket handler failed', err);
      }
    }
  }
}

/** ws://host/ws for the page's own origin. */
export function defaultSocketUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ws`;
}
