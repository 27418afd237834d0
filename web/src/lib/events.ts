import { socket } from './app-state';
import { base64ToBytes, bytesToHex } from './format';
import type { WsMessage } from './live-socket';
import { compileTopicFilter } from './mqtt-topic';
import { RingBuffer } from './ring-buffer';
import { Store } from './store';

/** Events kept in memory, newest last; older ones are evicted (and counted). */
export const EVENT_BUFFER_SIZE = 5000;

export type EventSource = 'mqtt' | 'gateway';

export interface EventEntry {
  seq: number;
  /** arrival time, ms since the epoch */
  at: number;
  topic: string;
  source: EventSource;
  message: WsMessage;
  /** one-line preview, computed on first display */
  preview?: string;
  /** the payload was base64 (non-UTF-8 bytes, CONTRACT §5) */
  binary: boolean;
}

export interface EventsView {
  filterText: string;
  filterError: string | null;
  source: 'all' | EventSource;
  includeSnapshots: boolean;
  paused: boolean;
  /** Arrived while paused (not in the frozen view yet). */
  pendingWhilePaused: number;
  /** Matching events shown, oldest first. */
  shown: RingBuffer<EventEntry>;
  total: number;
  evicted: number;
}

const all = new RingBuffer<EventEntry>(EVENT_BUFFER_SIZE);
let seq = 0;
let test = compileTopicFilter('').test;

export const events = new Store<EventsView>({
  filterText: '',
  filterError: null,
  source: 'all',
  includeSnapshots: false,
  paused: false,
  pendingWhilePaused: 0,
  shown: new RingBuffer<EventEntry>(EVENT_BUFFER_SIZE),
  total: 0,
  evicted: 0,
});

function matches(v: EventsView, e: EventEntry): boolean {
  if (v.source !== 'all' && e.source !== v.source) return false;
  if (!v.includeSnapshots && e.topic === 'cluster/update') return false;
  // Plain words also match the hostname and the payload text (the placeholder's promise).
  if (!v.filterText.trim()) return true;
  return test(e.topic) || test(e.topic, `${String(e.message.hostname ?? '')} ${previewOf(e)}`);
}

/** The last event that arrived before the pause (the frozen view ends there). */
let pausedAfterSeq = Infinity;

/** Re-applies the filters to the buffer; while paused, only to what arrived before the pause. */
function rebuild(): void {
  const v = events.get();
  const shown = new RingBuffer<EventEntry>(EVENT_BUFFER_SIZE);
  let pending = 0;
  for (let i = 0; i < all.length; i++) {
    const e = all.at(i)!;
    if (!matches(v, e)) continue;
    if (e.seq <= pausedAfterSeq) shown.push(e);
    else pending++;
  }
  v.shown = shown;
  v.pendingWhilePaused = pending;
  events.changed();
}

export function setFilter(text: string): void {
  const v = events.get();
  const compiled = compileTopicFilter(text);
  v.filterText = text;
  v.filterError = compiled.error;
  test = compiled.error ? () => true : compiled.test;
  rebuild();
}

export function setSource(source: EventsView['source']): void {
  events.get().source = source;
  rebuild();
}

export function setIncludeSnapshots(on: boolean): void {
  events.get().includeSnapshots = on;
  rebuild();
}

export function setPaused(paused: boolean): void {
  const v = events.get();
  v.paused = paused;
  pausedAfterSeq = paused ? seq : Infinity;
  if (!paused) rebuild();
  else events.changed();
}

export function clearEvents(): void {
  all.clear();
  const v = events.get();
  v.shown = new RingBuffer<EventEntry>(EVENT_BUFFER_SIZE);
  v.pendingWhilePaused = 0;
  events.changed();
}

/** The payload of an entry as display text: MQTT data (hex when binary) or the message's own fields. */
export function previewOf(e: EventEntry): string {
  if (e.preview !== undefined) return e.preview;
  let text: string;
  if (e.source === 'mqtt') {
    const data = e.message.data;
    if (e.binary && typeof data === 'string') {
      const bytes = base64ToBytes(data);
      text = bytes ? `0x ${bytesToHex(bytes, 48)}` : data;
    } else text = typeof data === 'string' ? data : JSON.stringify(data);
  } else {
    const { topic: _t, timestamp: _ts, ...rest } = e.message;
    if (e.topic === 'cluster/update') {
      const members = Array.isArray(rest.members) ? rest.members.length : 0;
      text = `${members} member(s), primary ${String(rest.primaryNode ?? 'none')}`;
    } else text = JSON.stringify(rest);
  }
  e.preview = text.length > 300 ? `${text.slice(0, 300)}…` : text;
  return e.preview;
}

/** Batches of the last RATE_WINDOW_MS, for the messages/s figure. */
const rateWindow: Array<{ at: number; n: number }> = [];
const RATE_WINDOW_MS = 3000;

/** Messages per second over the last few seconds (0 when nothing arrived lately). */
export function currentRate(now = Date.now()): number {
  while (rateWindow.length && rateWindow[0]!.at <= now - RATE_WINDOW_MS) rateWindow.shift();
  const n = rateWindow.reduce((s, r) => s + r.n, 0);
  return Math.round((n * 1000) / RATE_WINDOW_MS);
}

function ingest(messages: WsMessage[]): void {
  const v = events.get();
  const now = Date.now();
  for (const m of messages) {
    const entry: EventEntry = {
      seq: ++seq,
      at: now,
      topic: m.topic,
      source: m.source === 'mqtt' ? 'mqtt' : 'gateway',
      message: m,
      binary: m.encoding === 'base64',
    };
    all.push(entry);
    v.total++;
    if (matches(v, entry)) {
      if (v.paused) v.pendingWhilePaused++;
      else v.shown.push(entry);
    }
  }
  v.evicted = all.evicted;
  rateWindow.push({ at: now, n: messages.length });
  events.changed();
}

let started = false;
export function startEvents(): void {
  if (started) return;
  started = true;
  socket.onPrefix('', ingest, { includeMqtt: true });
}
